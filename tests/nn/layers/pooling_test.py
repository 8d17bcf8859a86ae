"""Pooling layers: the layer contract and a direct-loop reference, both layouts."""

import jax
import numpy as np
import pytest
from jax.test_util import check_grads

from nn.layers.global_pooling import GlobalAveragePooling2D
from nn.layers.pooling import AveragePooling2D, MaxPooling2D
from tests.nn.harness import check_layer
from tests.stateless.ops import window_reference as reference

_rng = np.random.default_rng(0)
_NONE = {"params": {}, "state": {}}
_KINDS = {"max": MaxPooling2D, "average": AveragePooling2D}

# (hyperparameters, input shape, output shape), both channels-last
CASES = {
    "default": ({}, (2, 6, 7, 3), (2, 3, 3, 3)),
    "same_odd": (
        {"pool_size": (2, 3), "strides": 2, "padding": "same"},
        (2, 5, 7, 2),
        (2, 3, 4, 2),
    ),
    "overlapping": (
        {"pool_size": 3, "strides": (1, 2), "padding": "same"},
        (1, 7, 7, 2),
        (1, 7, 4, 2),
    ),
    "valid_strided": ({"pool_size": 3, "strides": 2}, (1, 7, 8, 2), (1, 3, 3, 2)),
}


def _to_first(x):
    return np.moveaxis(x, -1, 1)


def _to_last(x):
    return np.moveaxis(np.asarray(x), 1, -1)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("name", CASES)
def test_pooling_matches_direct_loop(name, kind, data_format):
    kwargs, shape, out_shape = CASES[name]
    layer = _KINDS[kind](**kwargs, data_format=data_format)
    x = _rng.standard_normal(shape).astype(np.float32)
    first = data_format == "channels_first"
    out, state = jax.jit(layer.apply)(_NONE, _to_first(x) if first else x)
    out = _to_last(out) if first else np.asarray(out)
    assert (out.shape, out.dtype, state) == (out_shape, np.float32, {})
    want = reference.pool(x, layer.pool_size, layer.strides, layer.padding, kind)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "layer, x_shape, out_shape",
    [
        (MaxPooling2D(name="pool"), (2, 6, 7, 3), (2, 3, 3, 3)),
        (
            AveragePooling2D(3, 2, "same", "channels_first"),
            (2, 3, 5, 7),
            (2, 3, 3, 4),
        ),
    ],
)
def test_pooling_layer_contract(layer, x_shape, out_shape):
    x = _rng.standard_normal(x_shape).astype(np.float32)
    variables, _ = check_layer(
        layer, x, expected_shape=out_shape, wrong_input=np.ones(x_shape[1:])
    )
    assert variables == _NONE


@pytest.mark.parametrize("kind", _KINDS)
def test_pooling_gradients_match_finite_differences(kind):
    layer = _KINDS[kind](2, padding="same", data_format="channels_first")
    # Distinct values 0.1 apart, so a finite step never changes which is largest.
    x = (_rng.permutation(50) * 0.1).reshape(1, 2, 5, 5).astype(np.float32)
    check_grads(
        jax.jit(lambda x: layer.apply(_NONE, x)[0]),
        (x,),
        order=1,
        modes=("rev",),
        atol=2e-2,
        rtol=2e-2,
        eps=1e-2,
    )


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_average_pooling_is_the_spatial_mean(data_format, keepdims):
    layer = GlobalAveragePooling2D(data_format, keepdims)
    x = _rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    first = data_format == "channels_first"
    out, _ = jax.jit(layer.apply)(_NONE, _to_first(x) if first else x)
    want = x.astype(np.float64).mean(axis=(1, 2), keepdims=keepdims)
    if first and keepdims:
        want = _to_first(want)
    assert out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_global_average_pooling_layer_contract():
    layer = GlobalAveragePooling2D("channels_first", keepdims=True)
    x = _rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    check_layer(layer, x, expected_shape=(2, 3, 1, 1), wrong_input=np.ones((2, 3, 4)))


def test_global_average_pooling_gradient_is_one_over_the_area():
    layer = GlobalAveragePooling2D()
    x = np.ones((1, 4, 5, 3), np.float32)
    grad = jax.grad(lambda x: layer.apply(_NONE, x)[0].sum())(x)
    np.testing.assert_allclose(grad, np.full(x.shape, 1 / 20), rtol=1e-6)


def test_sizes_become_pairs_and_strides_default_to_pool_size():
    layer = MaxPooling2D(3, padding="SAME")
    assert (layer.pool_size, layer.strides, layer.padding) == ((3, 3), (3, 3), "same")
    assert AveragePooling2D((2, 3), 1).strides == (1, 1)
    assert MaxPooling2D().get_config()["strides"] == [2, 2]


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: MaxPooling2D((2, 2, 2)), "MaxPooling2D: pool_size must be"),
        (lambda: AveragePooling2D(2, 0), "AveragePooling2D: strides must be"),
        (lambda: MaxPooling2D(padding="full"), "padding must be one of valid, same"),
        (lambda: MaxPooling2D(data_format="NHWC"), "data_format must be one of"),
        (lambda: GlobalAveragePooling2D("NCHW"), "GlobalAveragePooling2D: data_"),
    ],
)
def test_bad_hyperparameters_are_named(make, words):
    with pytest.raises(ValueError, match=words):
        make()
