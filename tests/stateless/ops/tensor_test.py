"""Tensors: static shape and rank, dtype names, conversions in and out, devices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stateless import ops


def test_shape_and_ndim_are_static_python_ints_under_jit():
    seen = {}

    def fn(x):
        seen["shape"], seen["ndim"] = ops.shape(x), ops.ndim(x)
        return x

    jax.jit(fn)(jnp.zeros((2, 3)))
    assert seen == {"shape": (2, 3), "ndim": 2}
    assert all(type(n) is int for n in seen["shape"])


@pytest.mark.parametrize(
    "dtype", ["bfloat16", "float16", "float32", "int8", "uint8", "bool"]
)
def test_dtype_reports_normalized_names(dtype):
    assert ops.dtype(ops.zeros((2,), dtype)) == dtype


def test_convert_round_trip_keeps_values_and_dtype():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    back = ops.convert_to_numpy(ops.convert_to_tensor(x))
    assert isinstance(back, np.ndarray) and back.dtype == np.int32
    np.testing.assert_array_equal(back, x)


def test_convert_to_tensor_does_not_copy_a_matching_array():
    x = jnp.ones(3)
    assert ops.convert_to_tensor(x) is x


def test_device_of_a_jax_array_and_a_numpy_array():
    assert ops.device(jnp.ones(2)) == f"{jax.devices()[0].platform}:0"
    assert ops.device(np.ones(2)) == "cpu:0"


def test_device_refuses_a_tracer_with_a_clear_message():
    with pytest.raises(TypeError, match="traced value has no device"):
        jax.jit(ops.device)(jnp.ones(2))


def test_torch_tensors_convert_in_and_out():
    import torch

    t = torch.arange(4, dtype=torch.float32).requires_grad_()
    x = ops.convert_to_tensor(t)
    assert ops.dtype(x) == "float32" and x.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert ops.convert_to_numpy(t).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert ops.device(t) == "cpu:0"
    assert ops.cast(x, torch.int32).dtype == jnp.int32


def test_tensorflow_tensors_convert_in_and_out():
    import tensorflow as tf

    t = tf.constant([[1, 2]], dtype=tf.int32)
    assert ops.convert_to_tensor(t).tolist() == [[1, 2]]
    assert ops.device(t) == "cpu:0"
    assert ops.cast(ops.convert_to_tensor(t), tf.float16).dtype == jnp.float16
