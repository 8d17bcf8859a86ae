"""Lowered programs against JAX, on each backend: every op case (values and
gradients), every built-in layer (outputs, new state, gradients with respect
to the parameters and float inputs), the losses, the optimizers, whole train
steps, random streams, and the error for a primitive without a rule.

Gradients are checked twice: by the backend's own autograd through the
lowered forward program, and by lowering JAX's gradient program itself (its
transposed convolutions, scatters, `select_and_scatter_add`...).

The JAX references of each table come from one jitted function (one
compilation per table).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import interop
import nn
import stateless as sl
from nn import layers
from stateless import dtypes, ops
from tests.interop import lax_cases
from tests.interop.layer_cases import CASES as LAYER_CASES
from tests.stateless.ops import cases
from train import losses, optimizers, steps

BACKENDS = ["torch", "tensorflow"]

OP_CASES = cases.ALL + lax_cases.ALL

RNG = np.asarray(sl.random.key(1))


class _Torch:
    """Tensors in and out, and gradients by torch autograd."""

    def __init__(self):
        import torch

        self.torch = torch

    def tensor(self, array, grad=False):
        return self.torch.tensor(np.asarray(array), requires_grad=grad)

    def numpy(self, tensor):
        return tensor.detach().cpu().numpy()

    def value_and_grad(self, fn, wrt, *rest):
        wrt = jax.tree.map(lambda a: self.tensor(a, grad=True), wrt)
        out = fn(wrt, *jax.tree.map(self.tensor, rest))
        floats = [o for o in jax.tree.leaves(out) if o.dtype.is_floating_point]
        leaves = jax.tree.leaves(wrt)
        if not leaves:
            return out, wrt
        grads = self.torch.autograd.grad(
            sum(o.sum() for o in floats), leaves, allow_unused=True
        )
        grads = [
            self.torch.zeros_like(w) if g is None else g for g, w in zip(grads, leaves)
        ]
        return out, jax.tree.unflatten(jax.tree.structure(wrt), grads)


class _TensorFlow:
    """Tensors in and out, and gradients by `tf.GradientTape`."""

    def __init__(self):
        import tensorflow as tf

        self.tf = tf

    def tensor(self, array, grad=False):
        return self.tf.constant(np.asarray(array))

    def numpy(self, tensor):
        return self.tf.convert_to_tensor(tensor).numpy()  # densifies IndexedSlices

    def value_and_grad(self, fn, wrt, *rest):
        wrt = jax.tree.map(self.tensor, wrt)
        if not jax.tree.leaves(wrt):
            return fn(wrt, *jax.tree.map(self.tensor, rest)), wrt
        with self.tf.GradientTape() as tape:
            tape.watch(jax.tree.leaves(wrt))
            out = fn(wrt, *jax.tree.map(self.tensor, rest))
            floats = [o for o in jax.tree.leaves(out) if o.dtype.is_floating]
            total = sum(self.tf.reduce_sum(o) for o in floats)
        grads = tape.gradient(
            total, wrt, unconnected_gradients=self.tf.UnconnectedGradients.ZERO
        )
        return out, grads


_ADAPTERS = {"torch": _Torch, "tensorflow": _TensorFlow}


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param, _ADAPTERS[request.param]()


_FEW_OPTIMIZATIONS = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}


def _reference(fn, *args):
    """`jax.jit(fn)(*args)`, compiled with few optimizations: for these small
    tables compiling costs far more than running."""
    compiled = jax.jit(fn).lower(*args).compile(compiler_options=_FEW_OPTIMIZATIONS)
    return compiled(*args)


def _total(out):
    floats = [o for o in jax.tree.leaves(out) if jnp.issubdtype(o.dtype, jnp.floating)]
    return sum((jnp.sum(o) for o in floats), start=jnp.float32(0))


def _value_and_grad(fn):
    """`(wrt, *rest) -> (fn(wrt, *rest), grad of the float outputs' sum)`."""

    def both(wrt, *rest):
        out = fn(wrt, *rest)
        return out, jax.grad(lambda w: _total(fn(w, *rest)))(wrt)

    return both


def _close(got, want, adapter, rtol, atol, what):
    got_leaves, want_leaves = jax.tree.leaves(got), jax.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves), what
    for g, w in zip(got_leaves, want_leaves):
        g, w = adapter.numpy(g), np.asarray(w)
        assert g.shape == w.shape, (what, g.shape, w.shape)
        assert dtypes.canonical(g.dtype) == dtypes.canonical(w.dtype), what
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=what)


# ---- (a) every op case, and lax-level forms ------------------------------------


def _op_parts(case):
    """`(fn(floats, others), floats, others)` splitting the case's arguments."""
    grads = [case.grad and np.issubdtype(a.dtype, np.floating) for a in case.args]

    def fn(floats, others):
        floats, others = iter(floats), iter(others)
        args = [next(floats) if g else next(others) for g in grads]
        return case.call(ops, *args)

    floats = tuple(a for a, g in zip(case.args, grads) if g)
    others = tuple(a for a, g in zip(case.args, grads) if not g)
    return fn, floats, others


@pytest.fixture(scope="module")
def op_references():
    parts = [_op_parts(case) for case in OP_CASES]

    def all_cases(args):
        return [_value_and_grad(fn)(*a) for (fn, _, _), a in zip(parts, args)]

    return _reference(all_cases, [(f, o) for _, f, o in parts])


@pytest.mark.parametrize("index", range(len(OP_CASES)), ids=[c.id for c in OP_CASES])
def test_op_matches_jax(backend, op_references, index):
    name, adapter = backend
    fn, floats, others = _op_parts(OP_CASES[index])
    lowered = interop.lower(fn, floats, others, backend=name)
    out, grads = adapter.value_and_grad(lowered, floats, others)
    want_out, want_grads = op_references[index]
    _close(out, want_out, adapter, 1e-5, 1e-6, "value")
    _close(grads, want_grads, adapter, 1e-4, 1e-5, "gradient")
    both = interop.lower(_value_and_grad(fn), floats, others, backend=name)
    got = both(*jax.tree.map(adapter.tensor, (floats, others)))
    _close(got, op_references[index], adapter, 1e-4, 1e-5, "lowered jax.grad")


# ---- (b) every built-in layer --------------------------------------------------


def _differentiable(inputs):
    leaves = jax.tree.leaves(inputs)
    return all(np.issubdtype(np.asarray(x).dtype, np.floating) for x in leaves)


def _layer_fn(case):
    """`fn((params, float inputs), state, rng, other inputs) -> (y, new state)`."""

    def fn(wrt, state, rng, others):
        params, inputs = wrt if _differentiable(case.inputs) else (wrt[0], others)
        variables = {"params": params, "state": state}
        return case.layer.apply(variables, *inputs, training=case.training, rng=rng)

    return fn


def _layer_args(case, variables):
    params, state = variables["params"], variables["state"]
    if _differentiable(case.inputs):
        return (params, case.inputs), state, RNG, ()
    return (params, ()), state, RNG, case.inputs


@pytest.fixture(scope="module")
def layer_references():
    variables = [case.variables() for case in LAYER_CASES]

    def all_layers(variables):
        return [
            _value_and_grad(_layer_fn(case))(*_layer_args(case, v))
            for case, v in zip(LAYER_CASES, variables)
        ]

    return variables, _reference(all_layers, variables)


@pytest.mark.parametrize(
    "index", range(len(LAYER_CASES)), ids=[c.id for c in LAYER_CASES]
)
def test_layer_matches_jax(backend, layer_references, index):
    name, adapter = backend
    case, variables = LAYER_CASES[index], layer_references[0][index]
    args = _layer_args(case, variables)
    lowered = interop.lower(_layer_fn(case), *args, backend=name)
    (out, state), grads = adapter.value_and_grad(lowered, *args)
    (want_out, want_state), want_grads = layer_references[1][index]
    _close(out, want_out, adapter, 1e-5, 1e-5, "output")
    _close(state, want_state, adapter, 1e-5, 1e-5, "new state")
    _close(grads, want_grads, adapter, 1e-4, 1e-4, "parameter and input gradients")
    both = interop.lower(_value_and_grad(_layer_fn(case)), *args, backend=name)
    got = both(*jax.tree.map(adapter.tensor, args))
    _close(got, layer_references[1][index], adapter, 1e-4, 1e-4, "lowered jax.grad")


# ---- losses and optimizers -----------------------------------------------------

_r = np.random.default_rng(1)
_LABELS = np.array([0, 2, 1, 2], np.int32)
LOSSES = {
    "mse": (losses.MeanSquaredError(), _r.normal(size=(4, 3))),
    "mae": (losses.MeanAbsoluteError(), _r.normal(size=(4, 3))),
    "huber": (losses.Huber(), _r.normal(size=(4, 3)) * 2),
    "binary": (losses.BinaryCrossentropy(from_logits=True), _r.random((4, 3)) > 0.5),
    "categorical": (losses.CategoricalCrossentropy(), np.eye(3)[_LABELS]),
    "sparse": (losses.SparseCategoricalCrossentropy(from_logits=True), _LABELS),
}
_PRED = _r.normal(size=(4, 3)).astype(np.float32)


def _loss_fn(name):
    loss, _ = LOSSES[name]

    def fn(y_pred, y_true):
        if name == "categorical":
            y_pred = jax.nn.softmax(y_pred)
        return loss(y_true, y_pred)

    return fn


def test_losses_match_jax(backend):
    name, adapter = backend
    targets = {
        k: np.asarray(y, np.float32 if k != "sparse" else np.int32)
        for k, (_, y) in LOSSES.items()
    }

    def all_losses(pred):
        return {k: _value_and_grad(_loss_fn(k))(pred, targets[k]) for k in LOSSES}

    want = _reference(all_losses, _PRED)
    for key in LOSSES:
        lowered = interop.lower(_loss_fn(key), _PRED, targets[key], backend=name)
        got = adapter.value_and_grad(lowered, _PRED, targets[key])
        _close(got, want[key], adapter, 1e-5, 1e-6, key)


OPTIMIZERS = {
    "sgd_nesterov": optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipvalue=0.5),
    "adam": optimizers.Adam(0.01, clipnorm=1.0),
    "adamw": optimizers.AdamW(0.01, global_clipnorm=1.0),
    "rmsprop": optimizers.RMSprop(0.01, momentum=0.9, centered=True),
    "adagrad": optimizers.Adagrad(0.1),
    "lion": optimizers.Lion(0.01),
}
_PARAMS = {"w": _r.normal(size=(3, 2)).astype(np.float32), "b": np.ones(2, np.float32)}
_GRADS = jax.tree.map(
    lambda p: (_r.normal(size=p.shape) * 2).astype(np.float32), _PARAMS
)


def _update_fn(tx):
    def fn(grads, state, params):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return fn


def test_optimizer_updates_match_jax(backend):
    name, adapter = backend
    txs = {k: opt.transform() for k, opt in OPTIMIZERS.items()}
    states = {k: tx.init(_PARAMS) for k, tx in txs.items()}
    want = _reference(
        lambda states: {
            k: _update_fn(tx)(_GRADS, states[k], _PARAMS) for k, tx in txs.items()
        },
        states,
    )
    for key, tx in txs.items():
        args = (_GRADS, states[key], _PARAMS)
        lowered = interop.lower(_update_fn(tx), *args, backend=name)
        got = lowered(*jax.tree.map(adapter.tensor, args))
        _close(got, want[key], adapter, 1e-5, 1e-6, key)


# ---- (c) whole train steps -------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer",
    [optimizers.Adam(0.01), optimizers.SGD(0.1, momentum=0.9)],
    ids=["adam", "sgd_momentum"],
)
def test_train_step_matches_jax(backend, optimizer):
    name, adapter = backend
    model = nn.Sequential(
        [layers.Dense(8, activation="relu"), layers.Dropout(0.3), layers.Dense(3)]
    )
    x = _r.normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2], np.int32)
    tx = optimizer.transform()
    variables = model.init(sl.random.key(0), x)
    ts = steps.init_train_state(variables, tx, {}, sl.random.key(3))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    step = steps.make_train_step(model.apply, loss, tx, {})
    want_ts, want_logs = _reference(step, ts, (x, y))
    lowered = interop.lower(step, ts, (x, y), backend=name)
    got_ts, got_logs = lowered(*jax.tree.map(adapter.tensor, (ts, (x, y))))
    _close(got_ts, want_ts, adapter, 1e-5, 1e-6, "train state")
    _close(got_logs, want_logs, adapter, 1e-5, 1e-6, "logs")


# ---- random streams, and (d) the error -------------------------------------------


def test_random_streams_match_jax(backend):
    name, adapter = backend

    def draws(key):
        a, b = jax.random.split(key)
        return {
            "bits": jax.random.bits(jax.random.fold_in(a, 7), (3, 5)),
            "many_bits": jax.random.bits(a, (40, 33)),
            "uniform": jax.random.uniform(b, (300,)),
            "normal": jax.random.normal(b, (4,)),
            "randint": jax.random.randint(a, (6,), 0, 10),
            "keys": jax.random.split(b, 3),
            "seeded": jax.random.PRNGKey(123),
            "typed": jax.random.key_data(jax.random.key(5)),
        }

    lowered = interop.lower(draws, RNG, backend=name)
    got = lowered(adapter.tensor(RNG))
    want = draws(RNG)
    for key in want:  # bits are exact; floats may differ in the last place
        got_key, want_key = adapter.numpy(got[key]), np.asarray(want[key])
        if np.issubdtype(want_key.dtype, np.floating):
            np.testing.assert_allclose(got_key, want_key, rtol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(got_key, want_key, err_msg=key)


def test_a_primitive_without_a_rule_names_itself_and_the_function(backend):
    name, _ = backend

    def spectrum(x):
        return jnp.abs(jnp.fft.fft(x))

    with pytest.raises(interop.LoweringError, match=r"spectrum.*'fft'"):
        interop.lower(spectrum, np.ones(8, np.float32), backend=name)
