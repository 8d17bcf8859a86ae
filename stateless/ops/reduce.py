"""Reductions and other ops along an axis, with NumPy's `axis`/`keepdims`.

`axis=None` reduces over all axes. Means, variances and standard deviations of
integer arrays are `float32` (NumPy gives `float64`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from stateless.ops._naming import names_shape_errors

Axis = int | Sequence[int] | None


@names_shape_errors
def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The sum of entries.

    Example:
      >>> sum(jnp.ones((2, 3)), axis=1).tolist()
      [3.0, 3.0]
    """
    return jnp.sum(x, axis, keepdims=keepdims)


@names_shape_errors
def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The arithmetic mean.

    Example:
      >>> mean(jnp.array([[1.0, 3.0]]), axis=-1, keepdims=True).tolist()
      [[2.0]]
    """
    return jnp.mean(x, axis, keepdims=keepdims)


@names_shape_errors
def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The largest entry.

    Example:
      >>> max(jnp.array([[1, 5], [7, 2]]), axis=0).tolist()
      [7, 5]
    """
    return jnp.max(x, axis, keepdims=keepdims)


@names_shape_errors
def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The smallest entry.

    Example:
      >>> min(jnp.array([[1, 5], [7, 2]]), axis=1).tolist()
      [1, 2]
    """
    return jnp.min(x, axis, keepdims=keepdims)


@names_shape_errors
def prod(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The product of entries.

    Example:
      >>> prod(jnp.array([2, 3, 4])).tolist()
      24
    """
    return jnp.prod(x, axis, keepdims=keepdims)


@names_shape_errors
def var(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Any:
    """The variance, `mean((x - mean(x))**2)` with `ddof` as in NumPy.

    Example:
      >>> var(jnp.array([1.0, 3.0])).tolist()
      1.0
    """
    return jnp.var(x, axis, ddof=ddof, keepdims=keepdims)


@names_shape_errors
def std(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Any:
    """The standard deviation, `sqrt(var(x))`.

    Example:
      >>> std(jnp.array([1.0, 3.0])).tolist()
      1.0
    """
    return jnp.std(x, axis, ddof=ddof, keepdims=keepdims)


@names_shape_errors
def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """The index of the largest entry (the first one on ties).

    Example:
      >>> argmax(jnp.array([[1, 5], [7, 2]]), axis=1).tolist()
      [1, 0]
    """
    return jnp.argmax(x, axis, keepdims=keepdims)


@names_shape_errors
def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """The index of the smallest entry (the first one on ties).

    Example:
      >>> argmin(jnp.array([[1, 5], [7, 2]]), axis=1).tolist()
      [0, 1]
    """
    return jnp.argmin(x, axis, keepdims=keepdims)


@names_shape_errors
def any(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Whether any entry is true.

    Example:
      >>> any(jnp.array([0, 2])).tolist()
      True
    """
    return jnp.any(x, axis, keepdims=keepdims)


@names_shape_errors
def all(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Whether every entry is true.

    Example:
      >>> all(jnp.array([0, 2])).tolist()
      False
    """
    return jnp.all(x, axis, keepdims=keepdims)


@names_shape_errors
def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """`log(sum(exp(x)))`, computed without overflow.

    Example:
      >>> logsumexp(jnp.zeros((2, 4)), axis=1).shape
      (2,)
    """
    return jax.nn.logsumexp(x, axis, keepdims=keepdims)


@names_shape_errors
def cumsum(x: Any, axis: int | None = None) -> Any:
    """The running sum along `axis` (over the flattened `x` if None).

    Example:
      >>> cumsum(jnp.array([1, 2, 3])).tolist()
      [1, 3, 6]
    """
    return jnp.cumsum(x, axis)


@names_shape_errors
def sort(x: Any, axis: int = -1) -> Any:
    """`x` sorted in ascending order along `axis`.

    Example:
      >>> sort(jnp.array([3, 1, 2])).tolist()
      [1, 2, 3]
    """
    return jnp.sort(x, axis)


@names_shape_errors
def argsort(x: Any, axis: int = -1) -> Any:
    """The indices that sort `x` along `axis` (stable).

    Example:
      >>> argsort(jnp.array([3, 1, 2])).tolist()
      [1, 2, 0]
    """
    return jnp.argsort(x, axis)


@names_shape_errors
def top_k(x: Any, k: int) -> tuple[Any, Any]:
    """The `k` largest entries along the last axis and their indices (no NumPy twin).

    Example:
      >>> values, indices = top_k(jnp.array([3, 1, 2]), 2)
      >>> values.tolist(), indices.tolist()
      ([3, 2], [0, 2])
    """
    return jax.lax.top_k(x, k)
