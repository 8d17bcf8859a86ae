"""BatchNormalization and LayerNormalization against NumPy, in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import stateless as sl
from nn.layers.normalization import BatchNormalization, LayerNormalization
from stateless.errors import ShapeError
from tests.nn.harness import check_layer

_rng = np.random.default_rng(0)


def _normal(*shape, mean=0.0, std=1.0):
    return (mean + std * _rng.standard_normal(shape)).astype(np.float32)


def _bn_variables(channels):
    """Random parameters and moving statistics, so that each one matters."""
    return {
        "params": {"gamma": _normal(channels, mean=1.0), "beta": _normal(channels)},
        "state": {
            "moving_mean": _normal(channels),
            "moving_variance": _rng.uniform(0.5, 2.0, channels).astype(np.float32),
        },
    }


def _normalize(x, mean, var, gamma, beta, epsilon):
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


@pytest.mark.parametrize(
    "axis, training, shape",
    [(-1, True, (4, 3, 3, 2)), (1, False, (4, 2, 3, 3))],
)
def test_batch_norm_layer_contract(axis, training, shape):
    layer = BatchNormalization(axis=axis, name="bn")
    wrong = list(shape)
    wrong[axis] += 1
    variables, out = check_layer(
        layer,
        _normal(*shape, mean=2.0, std=3.0),
        expected_shape=shape,
        wrong_input=np.ones(wrong, np.float32),
        training=training,
    )
    assert jax.tree.map(jnp.shape, variables) == {
        "params": {"beta": (2,), "gamma": (2,)},
        "state": {"moving_mean": (2,), "moving_variance": (2,)},
    }
    assert out.dtype == np.float32


@pytest.mark.parametrize("axis", [-1, 1])
def test_batch_norm_training_uses_batch_statistics(axis):
    x = _normal(8, 3, 4, 5, mean=4.0, std=3.0)
    channels = x.shape[axis]
    others = tuple(a for a in range(4) if a != axis % 4)
    layer = BatchNormalization(axis=axis)
    variables = jax.jit(layer.init)(sl.random.key(0), x)
    y, _ = jax.jit(layer.apply, static_argnames="training")(variables, x, training=True)
    batch_var = x.astype(np.float64).var(others)
    assert y.shape == x.shape
    np.testing.assert_allclose(y.mean(others), np.zeros(channels), atol=1e-5)
    # The variance is var / (var + epsilon) rather than 1: epsilon is in the root.
    np.testing.assert_allclose(y.var(others), batch_var / (batch_var + 1e-3), rtol=1e-4)


def test_batch_norm_training_matches_numpy_and_updates_moving_statistics():
    layer = BatchNormalization(momentum=0.9, epsilon=1e-2)
    x = _normal(6, 5, 3, mean=-2.0, std=2.0)
    variables = _bn_variables(3)
    y, state = layer.apply(variables, x, training=True)
    x64 = x.astype(np.float64)
    mean, var = x64.mean((0, 1)), x64.var((0, 1))  # biased, as Keras
    p, s = variables["params"], variables["state"]
    want = _normalize(x64, mean, var, p["gamma"], p["beta"], 1e-2)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        state["moving_mean"], 0.9 * s["moving_mean"] + 0.1 * mean, rtol=1e-6
    )
    np.testing.assert_allclose(
        state["moving_variance"], 0.9 * s["moving_variance"] + 0.1 * var, rtol=1e-6
    )
    assert {k: v.dtype for k, v in state.items()} == {
        "moving_mean": np.float32,
        "moving_variance": np.float32,
    }


def test_batch_norm_inference_uses_moving_statistics_and_keeps_state():
    layer = BatchNormalization(axis=1)
    x = _normal(4, 3, 2, 2, mean=1.0, std=2.0)
    variables = _bn_variables(3)
    y, state = layer.apply(variables, x)
    p, s = variables["params"], variables["state"]
    stats = (s["moving_mean"], s["moving_variance"], p["gamma"], p["beta"])
    on_axis = [np.reshape(v, (3, 1, 1)) for v in stats]
    want = _normalize(x.astype(np.float64), *on_axis, 1e-3)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert state is variables["state"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_batch_norm_computes_in_float32_and_returns_the_input_dtype(dtype):
    layer = BatchNormalization()
    x = _normal(16, 4, mean=300.0, std=20.0)
    variables = _bn_variables(4)
    y, state = layer.apply(variables, jnp.asarray(x, dtype), training=True)
    want, want_state = layer.apply(
        variables, jnp.asarray(x, dtype).astype("float32"), training=True
    )
    assert y.dtype == jnp.dtype(dtype)
    assert state["moving_variance"].dtype == np.float32
    np.testing.assert_allclose(np.asarray(y, np.float32), want, rtol=2e-2, atol=3e-2)
    np.testing.assert_allclose(
        state["moving_variance"], want_state["moving_variance"], rtol=1e-5
    )


def test_batch_norm_gradients_match_finite_differences():
    layer = BatchNormalization()
    x = _normal(5, 2, 3, mean=1.0, std=2.0)
    variables = _bn_variables(3)

    def fn(params, x):
        v = {"params": params, "state": variables["state"]}
        return layer.apply(v, x, training=True)[0]

    check_grads(
        jax.jit(fn),
        (variables["params"], x),
        order=1,
        modes=("rev",),
        atol=2e-2,
        rtol=2e-2,
        eps=1e-2,
    )


def test_batch_norm_without_center_and_scale_has_no_params():
    layer = BatchNormalization(center=False, scale=False)
    spec = jax.ShapeDtypeStruct((2, 5), "float32")
    variables = jax.eval_shape(layer.init, sl.random.key(0), spec)
    assert variables["params"] == {}
    assert set(variables["state"]) == {"moving_mean", "moving_variance"}


def test_batch_norm_axis_out_of_range_names_the_layer():
    layer = BatchNormalization(axis=3, name="bn")
    with pytest.raises(ShapeError, match=r"BatchNormalization 'bn'.*axis 3.*\(2, 5\)"):
        layer.init(sl.random.key(0), np.ones((2, 5)))
    with pytest.raises(ValueError, match="axis must be an int"):
        BatchNormalization(axis=(1, 2))


def test_layer_norm_layer_contract():
    layer = LayerNormalization(axis=(-2, -1), name="ln")
    variables, out = check_layer(
        layer,
        _normal(2, 3, 4, mean=1.0, std=2.0),
        expected_shape=(2, 3, 4),
        wrong_input=np.ones((2, 3, 5), np.float32),
    )
    assert jax.tree.map(jnp.shape, variables) == {
        "params": {"beta": (3, 4), "gamma": (3, 4)},
        "state": {},
    }
    np.testing.assert_allclose(out.mean((1, 2)), np.zeros(2), atol=1e-5)


@pytest.mark.parametrize("axis, axes", [(-1, (2,)), (1, (1,)), ((2, 1), (1, 2))])
def test_layer_norm_matches_numpy(axis, axes):
    layer = LayerNormalization(axis=axis, epsilon=1e-2)
    x = _normal(2, 3, 4, mean=-1.0, std=3.0)
    sizes = tuple(x.shape[a] for a in axes)
    params = {"gamma": _normal(*sizes, mean=1.0), "beta": _normal(*sizes)}
    y, state = jax.jit(layer.apply)({"params": params, "state": {}}, x)
    shape = [1, 1, 1]
    for a in axes:
        shape[a] = x.shape[a]
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axes, keepdims=True), x64.var(axes, keepdims=True)
    gamma, beta = (np.reshape(params[k], shape) for k in ("gamma", "beta"))
    want = _normalize(x64, mean, var, gamma, beta, 1e-2)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert state == {}


def test_layer_norm_without_center_and_scale_only_normalizes():
    layer = LayerNormalization(center=False, scale=False)
    x = _normal(3, 6, mean=5.0, std=4.0)
    variables = layer.init(sl.random.key(0), x)
    y, _ = layer.apply(variables, jnp.asarray(x, "bfloat16"))
    x64 = x.astype(np.float64)
    want = _normalize(
        x64, x64.mean(1, keepdims=True), x64.var(1, keepdims=True), 1, 0, 1e-3
    )
    assert variables["params"] == {}
    assert y.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(y, np.float32), want, rtol=2e-2, atol=2e-2)


def test_layer_norm_gradients_match_finite_differences():
    layer = LayerNormalization()
    x = _normal(3, 4, mean=1.0, std=2.0)
    params = {"gamma": _normal(4, mean=1.0), "beta": _normal(4)}

    def fn(params, x):
        return layer.apply({"params": params, "state": {}}, x)[0]

    check_grads(
        jax.jit(fn),
        (params, x),
        order=1,
        modes=("rev",),
        atol=2e-2,
        rtol=2e-2,
        eps=1e-2,
    )


@pytest.mark.parametrize(
    "axis, error, words",
    [
        ((), ValueError, "axis must be an int or a tuple of ints"),
        ((1, -1), ValueError, "names an axis of the rank-2 input twice"),
        (2, ShapeError, "LayerNormalization.*axis 2 is out of range"),
    ],
)
def test_layer_norm_bad_axes_are_named(axis, error, words):
    with pytest.raises(error, match=words):
        LayerNormalization(axis=axis).init(sl.random.key(0), np.ones((2, 4)))
