"""Dtype names: one normalized string per dtype, and JAX's promotion table.

Every dtype the framework takes or reports is a plain string such as
`"float32"` or `"bfloat16"`. `standardize_dtype` accepts those names, NumPy and
JAX dtypes, Python types, and torch or TensorFlow dtypes (read by name, without
importing either package), and rejects anything else with the list of valid
names. Promotion follows JAX's table (`jax.numpy.result_type`), described in
the README; 64-bit types exist only when `jax_enable_x64` is on, otherwise
they are narrowed to 32 bits as JAX does.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import dtypes as jax_dtypes

from stateless.errors import DTypeError

FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
INT_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
DTYPES = ("bool", *INT_TYPES, *FLOAT_TYPES, "complex64", "complex128")

_PYTHON_TYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64"}
# The bare words follow the Python types; other strings must be exact names.
_STRING_ALIASES = {"float": "float32", "int": "int32", "complex": "complex64"}


def _foreign_name(dtype: Any) -> str | None:
    """The name of a torch or TensorFlow dtype, read without importing them."""
    module = type(dtype).__module__
    if module.startswith("torch"):
        return str(dtype).removeprefix("torch.")
    if module.startswith("tensorflow"):
        return dtype.name
    return None


def standardize_dtype(dtype: Any) -> str:
    """Returns the normalized name of `dtype`.

    Args:
      dtype: a name (`"float32"`; `"float"` and `"int"` mean JAX's defaults
        `"float32"` and `"int32"`, as the Python types do), a NumPy or JAX
        dtype or scalar type, a
        Python type (`float` is `"float32"`, as JAX defaults), a torch or
        TensorFlow dtype, or an array (its dtype is read).

    Returns:
      One of `DTYPES`.

    Raises:
      DTypeError: the name is not a dtype; the message lists the valid names.

    Example:
      >>> import numpy as np
      >>> standardize_dtype(np.float16), standardize_dtype("bfloat16")
      ('float16', 'bfloat16')
      >>> standardize_dtype(float)
      'float32'
    """
    if isinstance(dtype, str):
        name = _STRING_ALIASES.get(dtype, dtype)
    elif dtype is None:  # NumPy reads None as float64; here it is no dtype at all
        name = None
    elif isinstance(dtype, type) and dtype in _PYTHON_TYPES:
        name = _PYTHON_TYPES[dtype]
    else:
        name = _foreign_name(dtype)
        if name is None:
            try:
                held = (
                    dtype if isinstance(dtype, type) else getattr(dtype, "dtype", dtype)
                )
                name = jnp.dtype(held).name
            except TypeError:
                name = str(dtype)
    if name not in DTYPES:
        raise DTypeError(
            f"unknown dtype {dtype!r}. Valid names: {', '.join(sorted(DTYPES))}."
        )
    return name


def canonical(dtype: Any) -> str:
    """The dtype JAX actually makes for `dtype` (64-bit narrowed unless x64 is on).

    Example:
      >>> canonical("float64")  # with jax_enable_x64 off, the default
      'float32'
    """
    return np.dtype(jax_dtypes.canonicalize_dtype(standardize_dtype(dtype))).name


def result_type(*args: Any) -> str:
    """The dtype JAX's promotion table gives for `args` (arrays, dtypes, scalars).

    Python scalars are weakly typed: they adopt the other operand's dtype.

    Example:
      >>> result_type("int32", "float16")
      'float16'
      >>> result_type("bfloat16", "float16")
      'float32'
      >>> result_type("uint8", 2)
      'uint8'
    """
    return jnp.result_type(*args).name


def is_float(dtype: Any) -> bool:
    """Whether `dtype` is a floating-point type.

    Example:
      >>> is_float("bfloat16"), is_float("int32")
      (True, False)
    """
    return standardize_dtype(dtype) in FLOAT_TYPES
