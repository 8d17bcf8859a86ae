"""Creating arrays: NumPy's constructors, with normalized dtype names.

A `dtype` argument takes any name `stateless.dtypes.standardize_dtype` knows
and rejects the rest with the list of valid names; None means JAX's default
(`float32` for floats, `int32` for ints).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from stateless.dtypes import standardize_dtype


def _dtype(dtype: Any) -> str | None:
    return None if dtype is None else standardize_dtype(dtype)


def array(x: Any, dtype: Any = None) -> Any:
    """A new array holding a copy of `x` (a list, scalar or array).

    Example:
      >>> array([[1, 2], [3, 4]], "float32").shape
      (2, 2)
    """
    return jnp.array(x, _dtype(dtype))


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Any:
    """Evenly spaced values in `[start, stop)`, as `numpy.arange`.

    Example:
      >>> arange(5).tolist(), arange(1, 2, 0.5).tolist()
      ([0, 1, 2, 3, 4], [1.0, 1.5])
    """
    return jnp.arange(start, stop, step, _dtype(dtype))


def zeros(shape: Sequence[int] | int, dtype: Any = "float32") -> Any:
    """An array of zeros.

    Example:
      >>> zeros((2, 3)).shape
      (2, 3)
    """
    return jnp.zeros(shape, _dtype(dtype))


def ones(shape: Sequence[int] | int, dtype: Any = "float32") -> Any:
    """An array of ones.

    Example:
      >>> ones(3, "int32").tolist()
      [1, 1, 1]
    """
    return jnp.ones(shape, _dtype(dtype))


def full(shape: Sequence[int] | int, fill_value: Any, dtype: Any = None) -> Any:
    """An array filled with `fill_value`.

    Example:
      >>> full((2,), 7.0).tolist()
      [7.0, 7.0]
    """
    return jnp.full(shape, fill_value, _dtype(dtype))


def zeros_like(x: Any, dtype: Any = None) -> Any:
    """Zeros with the shape (and, unless given, the dtype) of `x`.

    Example:
      >>> zeros_like(ones((2, 2), "int32")).dtype
      dtype('int32')
    """
    return jnp.zeros_like(x, _dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> Any:
    """Ones with the shape (and, unless given, the dtype) of `x`.

    Example:
      >>> ones_like(zeros((3,))).tolist()
      [1.0, 1.0, 1.0]
    """
    return jnp.ones_like(x, _dtype(dtype))


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = "float32") -> Any:
    """A 2-D array with ones on the `k`-th diagonal.

    Example:
      >>> eye(2).tolist()
      [[1.0, 0.0], [0.0, 1.0]]
    """
    return jnp.eye(n, m, k, _dtype(dtype))


def linspace(start: Any, stop: Any, num: int = 50, dtype: Any = None) -> Any:
    """`num` evenly spaced values from `start` to `stop`, both included.

    Example:
      >>> linspace(0, 1, 3).tolist()
      [0.0, 0.5, 1.0]
    """
    return jnp.linspace(start, stop, num, dtype=_dtype(dtype))
