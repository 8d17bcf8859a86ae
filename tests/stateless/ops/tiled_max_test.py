"""The tiled gradient of non-overlapping max pooling equals `reduce_window`'s."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import stateless as sl
from stateless import ops
from stateless.ops._window import window_dims

_rng = np.random.default_rng(5)

# (input shape channels-last, window, padding): odd sizes crop (valid) or pad (same)
CASES = {
    "1d_valid_odd": ((2, 9, 3), (2,), "valid"),
    "2d_valid": ((2, 6, 8, 3), (2, 2), "valid"),
    "2d_valid_odd": ((2, 7, 5, 2), (2, 3), "valid"),
    "2d_same_odd": ((2, 5, 7, 2), (2, 3), "same"),
    "3d_same": ((1, 5, 4, 3, 2), (2, 2, 2), "same"),
}


def _reduce_window_max(x, window, padding, data_format):
    dims = window_dims(window, data_format)
    return lax.reduce_window(x, -jnp.inf, lax.max, dims, dims, padding.upper())


def _with_ties(shape):
    """Few distinct values, so most windows hold several equal maxima."""
    return _rng.integers(-2, 3, shape).astype(np.float32)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_equal_reduce_window_even_with_ties(name, data_format):
    shape, window, padding = CASES[name]
    x = _with_ties(shape)
    if data_format == "channels_first":
        x = np.moveaxis(x, -1, 1)
    cotangent = _rng.standard_normal(
        ops.max_pool(x, window, None, padding, data_format).shape
    ).astype(np.float32)

    def pooled_and_gradient(pool):
        def fn(x):
            y, vjp = jax.vjp(lambda x: pool(x, window, padding, data_format), x)
            return y, vjp(cotangent)[0]

        return jax.jit(fn)(x)

    def ours(x, window, padding, data_format):
        return ops.max_pool(x, window, None, padding, data_format)

    chex.assert_trees_all_equal(
        pooled_and_gradient(ours), pooled_and_gradient(_reduce_window_max)
    )


def test_forward_mode_vmap_and_half_precision_agree_with_reduce_window():
    x = _with_ties((3, 2, 6, 6, 4)).astype(jnp.bfloat16)
    tangent = jnp.asarray(_rng.standard_normal(x.shape), jnp.bfloat16)

    def ours(x):
        return ops.max_pool(x, 2)

    def reference(x):
        return _reduce_window_max(x, (2, 2), "valid", "channels_last")

    want = jax.jvp(jax.vmap(reference), (x,), (tangent,))
    got = jax.jvp(jax.vmap(ours), (x,), (tangent,))
    chex.assert_trees_all_equal(got, want)
    assert got[0].dtype == jnp.bfloat16


def test_inference_keeps_one_reduce_window_and_training_drops_select_and_scatter():
    x = jnp.zeros((2, 8, 8, 3))
    forward = jax.make_jaxpr(lambda x: ops.max_pool(x, 2))(x)
    assert "reduce_window_max" in str(forward)
    backward = jax.jit(jax.grad(lambda x: ops.max_pool(x, 2).sum())).lower(x)
    assert "select_and_scatter" not in backward.as_text()
    overlapping = jax.jit(jax.grad(lambda x: ops.max_pool(x, 3, 2).sum())).lower(x)
    assert "select_and_scatter" in overlapping.as_text()


def test_the_torch_backend_keeps_the_one_scatter():
    """Lowered to eager torch ops, one native pooling gradient beats the tiles."""
    x = jnp.zeros((2, 8, 8, 3))

    def gradient_ops():
        grad = jax.grad(lambda x: ops.max_pool(x, 2).sum())
        return str(jax.make_jaxpr(grad)(x))

    try:
        sl.set_backend("torch")
        assert "select_and_scatter_add" in gradient_ops()
        sl.set_backend("tensorflow")
        assert "select_and_scatter_add" not in gradient_ops()
    finally:
        sl.set_backend("jax")
    assert "select_and_scatter_add" not in gradient_ops()
