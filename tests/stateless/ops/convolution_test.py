"""Convolution against a direct loop, both data formats, with gradients and traces."""

import jax
import numpy as np
import pytest
from jax import lax
from jax.test_util import check_grads

from stateless import ops
from stateless.errors import ShapeError
from tests.stateless.ops import window_reference as reference

_rng = np.random.default_rng(1)

# (input shape channels-last, kernel shape, strides, padding, dilation)
CONV_CASES = {
    "1d_valid": ((2, 9, 3), (3, 3, 4), (1,), "valid", (1,)),
    "1d_same_stride2": ((2, 10, 3), (4, 3, 2), (2,), "same", (1,)),
    "2d_valid": ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), "valid", (1, 1)),
    "2d_same_strides": ((1, 7, 8, 2), (3, 2, 2, 3), (2, 3), "same", (1, 1)),
    "2d_dilated": ((1, 9, 9, 2), (3, 3, 2, 2), (1, 1), "same", (2, 2)),
    "2d_groups": ((2, 6, 6, 4), (3, 3, 2, 6), (1, 1), "valid", (1, 1)),
    "2d_groups_dilated_strided": ((1, 9, 9, 6), (2, 2, 2, 3), (2, 1), "same", (2, 3)),
    "3d_same": ((1, 4, 5, 4, 2), (2, 3, 2, 2, 3), (1, 2, 1), "same", (1, 1, 1)),
}


def _arrays(x_shape, k_shape):
    x = _rng.standard_normal(x_shape).astype(np.float32)
    k = _rng.standard_normal(k_shape).astype(np.float32)
    return x, k


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", CONV_CASES)
def test_conv_matches_direct_loop(name, jit, data_format):
    x_shape, k_shape, strides, padding, dilation = CONV_CASES[name]
    x, k = _arrays(x_shape, k_shape)
    want = reference.conv(x, k, strides, padding, dilation)
    first = data_format == "channels_first"
    if first:
        x = np.moveaxis(x, -1, 1)

    def fn(x, k):
        return ops.conv(x, k, strides, padding, data_format, dilation)

    got = np.asarray((jax.jit(fn) if jit else fn)(x, k))
    if first:
        got = np.moveaxis(got, 1, -1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "name", ["1d_same_stride2", "2d_groups_dilated_strided", "3d_same"]
)
def test_conv_gradients_match_finite_differences(name):
    x_shape, k_shape, strides, padding, dilation = CONV_CASES[name]
    x, k = _arrays(x_shape, k_shape)
    fn = lambda x, k: ops.conv(x, k, strides, padding, "channels_last", dilation)  # noqa: E731
    check_grads(fn, (x, k), order=1, modes=("rev",), atol=2e-2, rtol=2e-2, eps=1e-2)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depthwise_conv_matches_direct_loop(data_format):
    x = _rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    k = _rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    # A depthwise conv is a grouped conv with one group per input channel.
    want = reference.conv(x, k.reshape(3, 3, 1, 6), (2, 2), "same", (1, 1))
    if data_format == "channels_first":
        x = np.moveaxis(x, -1, 1)
    got = ops.depthwise_conv(x, k, 2, "same", data_format)
    if data_format == "channels_first":
        got = np.moveaxis(np.asarray(got), 1, -1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_conv_traces_to_one_lax_convolution():
    x, k = _arrays((2, 8, 8, 3), (3, 3, 3, 4))
    ours = jax.make_jaxpr(lambda x, k: ops.conv(x, k, 2, "same"))(x, k)
    direct = jax.make_jaxpr(
        lambda x, k: lax.conv_general_dilated(
            x,
            k,
            (2, 2),
            "SAME",
            rhs_dilation=(1, 1),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=1,
        )
    )(x, k)
    assert str(ours) == str(direct)


def test_conv_promotes_mixed_dtypes_as_jax_does():
    x = np.ones((1, 4, 4, 1), np.float16)
    k = np.ones((2, 2, 1, 1), np.float32)
    assert ops.conv(x, k).dtype == np.float32


@pytest.mark.parametrize(
    "x_shape, k_shape, words",
    [
        ((2, 8, 8, 3), (3, 3, 2, 4), "3 channels"),  # 3 is not a multiple of 2
        ((2, 8, 8, 4), (3, 3, 2, 5), "4 channels"),  # 5 outputs, 2 groups
        ((2, 8, 3), (3, 3, 3, 4), "rank 4"),
        ((2, 8, 8, 3), (3, 3), "expected rank 3, 4 or 5"),
    ],
)
def test_conv_shape_errors_name_the_op_and_both_shapes(x_shape, k_shape, words):
    with pytest.raises(ShapeError, match="conv") as info:
        ops.conv(np.ones(x_shape, np.float32), np.ones(k_shape, np.float32))
    assert words in str(info.value)
    assert str(k_shape) in str(info.value)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"padding": "full"}, "padding"),
        ({"data_format": "NHWC"}, "data_format"),
        ({"strides": (1, 2, 3)}, "strides"),
        ({"dilation_rate": 0}, "dilation_rate"),
    ],
)
def test_conv_rejects_bad_arguments_by_name(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ops.conv(
            np.ones((1, 5, 5, 1), np.float32),
            np.ones((2, 2, 1, 1), np.float32),
            **kwargs,
        )
