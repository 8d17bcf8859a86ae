"""Every op against its NumPy reference: values and result dtype, eager and jitted,
and gradients against finite differences where the op is differentiable."""

import jax
import numpy as np
import pytest
from jax.test_util import check_grads

from stateless import dtypes, ops
from tests.stateless.ops.cases import ALL


def _leaves(tree):
    return jax.tree.leaves(tree)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_op_matches_numpy(case, jit):
    def fn(*args):
        return case.call(ops, *args)

    got = (jax.jit(fn) if jit else fn)(*case.args)
    want = case.reference()
    got_leaves, want_leaves = _leaves(got), _leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        w = np.asarray(w)
        assert g.shape == w.shape
        assert dtypes.standardize_dtype(g.dtype) == dtypes.canonical(w.dtype)
        np.testing.assert_allclose(np.asarray(g, w.dtype), w, rtol=1e-5, atol=1e-6)


GRAD_CASES = [c for c in ALL if c.grad]


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_op_gradients_match_finite_differences(case, jit):
    floats = [i for i, a in enumerate(case.args) if np.issubdtype(a.dtype, np.floating)]

    def on_floats(*xs):
        args = list(case.args)
        for i, x in zip(floats, xs):
            args[i] = x
        return case.call(ops, *args)

    fn = jax.jit(on_floats) if jit else on_floats
    check_grads(
        fn,
        [case.args[i] for i in floats],
        order=1,
        modes=("fwd", "rev"),
        atol=2e-2,
        rtol=2e-2,
        eps=1e-3,
    )


class _Recorder:
    """Stands in for `ops` and records which op names a case calls."""

    def __init__(self):
        self.names = set()

    def __getattr__(self, name):
        self.names.add(name)
        return getattr(ops, name)


# Ops with tests of their own: windows against direct loops (conv_transpose
# against Keras and conv's gradient), tensors by properties.
_OWN_TESTS = {
    "conv",
    "conv_transpose",
    "depthwise_conv",
    "max_pool",
    "average_pool",
    "shape",
    "ndim",
    "dtype",
    "device",
    "convert_to_numpy",
}
DESIGN_OPS = """array arange zeros ones full zeros_like ones_like reshape expand_dims
squeeze broadcast_to transpose concatenate stack split take where clip cast shape ndim
matmul einsum dot sum mean max min prod var std argmax argmin maximum minimum abs exp
log sqrt square tanh sign relu gelu sigmoid softmax log_softmax one_hot conv
depthwise_conv max_pool average_pool convert_to_tensor convert_to_numpy""".split()


def test_every_op_has_a_parity_case():
    recorder = _Recorder()
    for case in ALL:
        case.call(recorder, *case.args)
    public = {n for n, v in vars(ops).items() if callable(v) and not n.startswith("_")}
    assert set(DESIGN_OPS) <= public
    assert public - recorder.names == _OWN_TESTS
