"""Conv1D and Conv2D: the layer contract, a direct-loop reference, both layouts."""

import jax
import numpy as np
import pytest
from jax.test_util import check_grads

import stateless as sl
from nn.layers.convolution import Conv1D, Conv2D
from stateless.errors import ShapeError
from tests.nn.harness import check_layer
from tests.stateless.ops import window_reference as reference

_rng = np.random.default_rng(0)
_RANDOM_BIAS = {"bias_initializer": "random_normal"}

# (layer class, hyperparameters, input shape, output shape), both channels-last
CASES = {
    "1d_valid": (Conv1D, {"filters": 4, "kernel_size": 3}, (2, 9, 3), (2, 7, 4)),
    "1d_same_strided": (
        Conv1D,
        {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"},
        (2, 10, 3),
        (2, 5, 2),
    ),
    "2d_valid": (
        Conv2D,
        {"filters": 4, "kernel_size": 3},
        (2, 7, 6, 3),
        (2, 5, 4, 4),
    ),
    "2d_same_strided": (
        Conv2D,
        {"filters": 3, "kernel_size": (3, 2), "strides": (2, 3), "padding": "same"},
        (1, 7, 8, 2),
        (1, 4, 3, 3),
    ),
    "2d_dilated": (
        Conv2D,
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
        (1, 9, 9, 2),
        (1, 9, 9, 2),
    ),
    "2d_groups": (
        Conv2D,
        {"filters": 6, "kernel_size": 3, "groups": 2},
        (2, 6, 6, 4),
        (2, 4, 4, 6),
    ),
    "2d_relu": (
        Conv2D,
        {"filters": 5, "kernel_size": 2, "activation": "relu"},
        (2, 5, 5, 3),
        (2, 4, 4, 5),
    ),
}


def _to_first(x):
    return np.moveaxis(x, -1, 1)


def _to_last(x):
    return np.moveaxis(np.asarray(x), 1, -1)


def _first_shape(shape):
    return (shape[0], shape[-1], *shape[1:-1])


def _wrong_channels(x, data_format):
    shape = list(x.shape)
    shape[-1 if data_format == "channels_last" else 1] += 1
    return np.ones(shape, np.float32)


def _random_params(layer, x):
    """A kernel and bias for channels-last `x`, drawn with NumPy (init is slow)."""
    shape = (*layer.kernel_size, x.shape[-1] // layer.groups, layer.filters)
    return {
        "kernel": _rng.standard_normal(shape).astype(np.float32),
        "bias": _rng.standard_normal(layer.filters).astype(np.float32),
    }


def _reference(layer, params, x):
    """The layer's output on channels-last `x`, by direct loops in NumPy."""
    kernel, bias = np.asarray(params["kernel"]), np.asarray(params["bias"])
    strides, dilation = layer.strides, layer.dilation_rate
    want = reference.conv(x, kernel, strides, layer.padding, dilation) + bias
    return np.maximum(want, 0.0) if layer.activation == "relu" else want


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", CASES)
def test_conv_matches_direct_loop(name, data_format):
    cls, kwargs, shape, out_shape = CASES[name]
    layer = cls(**kwargs, data_format=data_format)
    x = _rng.standard_normal(shape).astype(np.float32)
    first = data_format == "channels_first"
    params = _random_params(layer, x)
    out, state = jax.jit(layer.apply)(
        {"params": params, "state": {}}, _to_first(x) if first else x
    )
    out = _to_last(out) if first else np.asarray(out)
    assert (out.shape, out.dtype, state) == (out_shape, np.float32, {})
    np.testing.assert_allclose(out, _reference(layer, params, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "name, data_format",
    [
        ("1d_same_strided", "channels_last"),
        ("2d_groups", "channels_last"),
        ("2d_same_strided", "channels_first"),
    ],
)
def test_conv_layer_contract(name, data_format):
    cls, kwargs, shape, out_shape = CASES[name]
    layer = cls(**kwargs, **_RANDOM_BIAS, data_format=data_format, name="conv")
    x = _rng.standard_normal(shape).astype(np.float32)
    first = data_format == "channels_first"
    x_in = _to_first(x) if first else x
    variables, out = check_layer(
        layer,
        x_in,
        expected_shape=_first_shape(out_shape) if first else out_shape,
        wrong_input=_wrong_channels(x_in, data_format),
    )
    np.testing.assert_allclose(
        _to_last(out) if first else out,
        _reference(layer, variables["params"], x),
        rtol=1e-4,
        atol=1e-4,
    )


def test_conv_gradients_match_finite_differences():
    layer = Conv2D(2, 3, strides=2, padding="same", data_format="channels_first")
    x = _rng.standard_normal((1, 5, 5, 2)).astype(np.float32)

    def fn(params, x):
        return layer.apply({"params": params, "state": {}}, x)[0]

    check_grads(
        jax.jit(fn),
        (_random_params(layer, x), _to_first(x)),
        order=1,
        modes=("rev",),
        atol=2e-2,
        rtol=2e-2,
        eps=1e-2,
    )


def _count(variables):
    return sum(np.prod(leaf.shape) for leaf in jax.tree.leaves(variables["params"]))


@pytest.mark.parametrize(
    "layer, shape, count",
    [
        (Conv2D(32, 3), (1, 28, 28, 1), 320),  # 3 * 3 * 1 * 32 + 32
        (Conv2D(8, 3, groups=2), (1, 6, 6, 4), 152),  # 3 * 3 * 2 * 8 + 8
        (Conv2D(8, 3, use_bias=False), (1, 6, 6, 4), 288),
        (Conv1D(16, 5), (1, 20, 4), 336),  # 5 * 4 * 16 + 16
    ],
)
def test_parameter_counts(layer, shape, count):
    spec = jax.ShapeDtypeStruct(shape, "float32")
    variables = jax.eval_shape(layer.init, sl.random.key(0), spec)
    assert _count(variables) == count
    assert ("bias" in variables["params"]) == layer.use_bias


def test_int_arguments_become_tuples_and_padding_lower_case():
    layer = Conv2D(4, 3, strides=2, dilation_rate=1, padding="SAME")
    assert layer.kernel_size == (3, 3)
    assert layer.strides == (2, 2)
    assert layer.dilation_rate == (1, 1)
    assert layer.padding == "same"
    assert Conv1D(4, 3).kernel_size == (3,)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"filters": 0, "kernel_size": 3}, "filters must be a positive int"),
        ({"filters": 4, "kernel_size": 3, "groups": 3}, r"multiple of groups \(3\)"),
        ({"filters": 4, "kernel_size": (3, 3, 3)}, "kernel_size must be"),
        ({"filters": 4, "kernel_size": 3, "strides": 0}, "strides must be"),
        ({"filters": 4, "kernel_size": 3, "padding": "full"}, "padding must be"),
        ({"filters": 4, "kernel_size": 3, "data_format": "NHWC"}, "data_format"),
        ({"filters": 4, "kernel_size": 3, "activation": "nope"}, "activation"),
    ],
)
def test_bad_hyperparameters_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Conv2D(**kwargs)


def test_init_rejects_channels_not_divisible_by_groups():
    with pytest.raises(ShapeError, match="Conv2D.*5 input channels.*groups=2"):
        Conv2D(4, 3, groups=2).init(sl.random.key(0), np.ones((1, 6, 6, 5)))


def test_wrong_rank_names_the_layer_and_both_shapes():
    layer = Conv2D(4, 3, name="conv")
    with pytest.raises(ShapeError) as info:
        layer.init(sl.random.key(0), np.ones((6, 6, 3)))
    message = str(info.value)
    assert "Conv2D 'conv'" in message
    assert "(None, None, None, None)" in message
    assert "(6, 6, 3)" in message


def test_kernel_regularizer_penalizes_the_kernel_only():
    layer = Conv2D(2, 3, kernel_regularizer="l2")
    params = _random_params(layer, np.ones((1, 5, 5, 3)))
    want = 0.01 * np.sum(np.square(np.asarray(params["kernel"])))
    np.testing.assert_allclose(float(layer.penalty(params)), want, rtol=1e-6)
