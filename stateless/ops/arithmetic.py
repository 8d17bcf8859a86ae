"""Binary arithmetic, comparisons and logic, broadcasting by NumPy's rules.

Result dtypes follow JAX's promotion table (see `stateless.dtypes` and the
README): Python scalars adopt the array's dtype, and an integer combined with
a float gives that float's width (`int32 + float16 -> float16`).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from stateless.ops._naming import names_shape_errors


@names_shape_errors
def add(x1: Any, x2: Any) -> Any:
    """`x1 + x2`.

    Example:
      >>> add(jnp.ones((2, 3)), jnp.arange(3)).shape
      (2, 3)
    """
    return jnp.add(x1, x2)


@names_shape_errors
def subtract(x1: Any, x2: Any) -> Any:
    """`x1 - x2`.

    Example:
      >>> subtract(jnp.array([3, 4]), 1).tolist()
      [2, 3]
    """
    return jnp.subtract(x1, x2)


@names_shape_errors
def multiply(x1: Any, x2: Any) -> Any:
    """`x1 * x2`.

    Example:
      >>> multiply(jnp.array([3, 4]), 2).tolist()
      [6, 8]
    """
    return jnp.multiply(x1, x2)


@names_shape_errors
def divide(x1: Any, x2: Any) -> Any:
    """True division `x1 / x2` (integers give floats).

    Example:
      >>> divide(jnp.array([3, 4]), 2).tolist()
      [1.5, 2.0]
    """
    return jnp.divide(x1, x2)


@names_shape_errors
def power(x1: Any, x2: Any) -> Any:
    """`x1 ** x2`.

    Example:
      >>> power(jnp.array([2, 3]), 2).tolist()
      [4, 9]
    """
    return jnp.power(x1, x2)


@names_shape_errors
def maximum(x1: Any, x2: Any) -> Any:
    """The larger of `x1` and `x2`, entry by entry.

    Example:
      >>> maximum(jnp.array([1, 5]), 3).tolist()
      [3, 5]
    """
    return jnp.maximum(x1, x2)


@names_shape_errors
def minimum(x1: Any, x2: Any) -> Any:
    """The smaller of `x1` and `x2`, entry by entry.

    Example:
      >>> minimum(jnp.array([1, 5]), 3).tolist()
      [1, 3]
    """
    return jnp.minimum(x1, x2)


@names_shape_errors
def clip(x: Any, x_min: Any, x_max: Any) -> Any:
    """`x` limited to `[x_min, x_max]`.

    Example:
      >>> clip(jnp.array([-2, 0, 2]), -1, 1).tolist()
      [-1, 0, 1]
    """
    return jnp.clip(x, x_min, x_max)


@names_shape_errors
def equal(x1: Any, x2: Any) -> Any:
    """`x1 == x2`, entry by entry.

    Example:
      >>> equal(jnp.array([1, 2]), 2).tolist()
      [False, True]
    """
    return jnp.equal(x1, x2)


@names_shape_errors
def not_equal(x1: Any, x2: Any) -> Any:
    """`x1 != x2`, entry by entry.

    Example:
      >>> not_equal(jnp.array([1, 2]), 2).tolist()
      [True, False]
    """
    return jnp.not_equal(x1, x2)


@names_shape_errors
def less(x1: Any, x2: Any) -> Any:
    """`x1 < x2`, entry by entry.

    Example:
      >>> less(jnp.array([1, 2]), 2).tolist()
      [True, False]
    """
    return jnp.less(x1, x2)


@names_shape_errors
def less_equal(x1: Any, x2: Any) -> Any:
    """`x1 <= x2`, entry by entry.

    Example:
      >>> less_equal(jnp.array([1, 3]), 2).tolist()
      [True, False]
    """
    return jnp.less_equal(x1, x2)


@names_shape_errors
def greater(x1: Any, x2: Any) -> Any:
    """`x1 > x2`, entry by entry.

    Example:
      >>> greater(jnp.array([1, 3]), 2).tolist()
      [False, True]
    """
    return jnp.greater(x1, x2)


@names_shape_errors
def greater_equal(x1: Any, x2: Any) -> Any:
    """`x1 >= x2`, entry by entry.

    Example:
      >>> greater_equal(jnp.array([1, 2]), 2).tolist()
      [False, True]
    """
    return jnp.greater_equal(x1, x2)


@names_shape_errors
def logical_and(x1: Any, x2: Any) -> Any:
    """Truth of both, entry by entry.

    Example:
      >>> logical_and(jnp.array([True, True]), jnp.array([True, False])).tolist()
      [True, False]
    """
    return jnp.logical_and(x1, x2)


@names_shape_errors
def logical_or(x1: Any, x2: Any) -> Any:
    """Truth of either, entry by entry.

    Example:
      >>> logical_or(jnp.array([False, False]), jnp.array([True, False])).tolist()
      [True, False]
    """
    return jnp.logical_or(x1, x2)
