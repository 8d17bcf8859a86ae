"""Max and average pooling against a direct loop, both data formats."""

import jax
import numpy as np
import pytest
from jax.test_util import check_grads

from stateless import ops
from tests.stateless.ops import window_reference as reference

_rng = np.random.default_rng(2)

# (input shape channels-last, pool size, strides, padding)
POOL_CASES = {
    "1d_valid": ((2, 9, 3), (2,), None, "valid"),
    "1d_same": ((2, 9, 3), (3,), (2,), "same"),
    "2d_valid": ((2, 6, 7, 3), (2, 2), None, "valid"),
    "2d_same_odd": ((2, 5, 7, 2), (2, 3), (2, 2), "same"),
    "2d_overlapping": ((1, 7, 7, 2), (3, 3), (1, 2), "same"),
    "3d_same": ((1, 5, 4, 3, 2), (2, 2, 2), None, "same"),
}
POOLS = {"max": ops.max_pool, "average": ops.average_pool}


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("name", POOL_CASES)
def test_pool_matches_direct_loop(name, kind, jit, data_format):
    shape, window, strides, padding = POOL_CASES[name]
    x = _rng.standard_normal(shape).astype(np.float32)
    want = reference.pool(x, window, strides or window, padding, kind)
    first = data_format == "channels_first"
    if first:
        x = np.moveaxis(x, -1, 1)

    def fn(x):
        return POOLS[kind](x, window, strides, padding, data_format)

    got = np.asarray((jax.jit(fn) if jit else fn)(x))
    if first:
        got = np.moveaxis(got, 1, -1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_pool_gradients_match_finite_differences(kind, jit):
    x = _rng.standard_normal((1, 5, 5, 2)).astype(np.float32)

    def fn(x):
        return POOLS[kind](x, 2, 2, "same")

    fn = jax.jit(fn) if jit else fn
    check_grads(fn, (x,), order=1, modes=("fwd", "rev"), atol=2e-2, rtol=2e-2, eps=1e-3)


def test_max_pool_keeps_integer_dtype():
    x = np.arange(16, dtype=np.int32).reshape(1, 4, 4, 1)
    assert ops.max_pool(x, 2).tolist() == [[[[5], [7]], [[13], [15]]]]


def test_pool_names_bad_pool_size():
    with pytest.raises(ValueError, match="max_pool: pool_size"):
        ops.max_pool(np.ones((1, 4, 4, 1)), (2, 2, 2))
