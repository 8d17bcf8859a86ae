"""Normalized dtype names and JAX's promotion table, as the README documents it."""

import jax.numpy as jnp
import numpy as np
import pytest

from stateless import dtypes, ops
from stateless.errors import DTypeError


@pytest.mark.parametrize(
    "given, name",
    [
        ("float32", "float32"),
        (np.float16, "float16"),
        (jnp.bfloat16, "bfloat16"),
        (np.dtype("int8"), "int8"),
        (float, "float32"),
        (int, "int32"),
        (bool, "bool"),
        ("float", "float32"),
        ("int", "int32"),
        (np.zeros(2, np.uint8), "uint8"),
    ],
)
def test_standardize_dtype_gives_one_name_per_dtype(given, name):
    assert dtypes.standardize_dtype(given) == name


def test_torch_and_tensorflow_dtypes_are_read_by_name():
    import tensorflow as tf
    import torch

    assert dtypes.standardize_dtype(torch.bfloat16) == "bfloat16"
    assert dtypes.standardize_dtype(tf.float16) == "float16"


@pytest.mark.parametrize("bad", ["flaot32", "f4", "double", object(), None])
def test_unknown_dtypes_list_the_valid_names(bad):
    with pytest.raises(DTypeError, match="Valid names: bfloat16, bool, complex128, "):
        dtypes.standardize_dtype(bad)


# The promotion table documented in README.md ("Dtype promotion").
PROMOTIONS = [
    ("int32", "float16", "float16"),
    ("uint8", "int8", "int16"),
    ("int32", "uint32", "int64"),  # narrowed to int32 unless x64 is on
    ("bfloat16", "float16", "float32"),
    ("bool", "int8", "int8"),
    ("float16", "float32", "float32"),
    ("int8", "bfloat16", "bfloat16"),
]


@pytest.mark.parametrize("a, b, want", PROMOTIONS)
def test_promotion_follows_the_documented_table(a, b, want):
    assert dtypes.result_type(a, b) == dtypes.canonical(want)
    got = ops.add(ops.ones((2,), a), ops.ones((2,), b))
    assert ops.dtype(got) == dtypes.canonical(want)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "bfloat16", "float16", "float32"])
def test_python_scalars_are_weak_and_keep_the_array_dtype(dtype):
    assert ops.dtype(ops.multiply(ops.ones((2,), dtype), 2)) == dtype
    assert dtypes.result_type(dtype, 2) == dtype


def test_float_scalar_with_int_array_gives_default_float():
    assert ops.dtype(ops.multiply(ops.ones((2,), "int32"), 0.5)) == "float32"


def test_canonical_narrows_64_bit_types_without_x64():
    assert dtypes.canonical("float64") == "float32"
    assert dtypes.canonical("int64") == "int32"
    assert dtypes.is_float("bfloat16") and not dtypes.is_float("uint8")
