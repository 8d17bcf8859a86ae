"""Functions applied entry by entry, as NumPy's ufuncs of the same names.

Integer inputs to float functions (`exp`, `sqrt`...) give JAX's default float,
`float32`, where NumPy would give `float64`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax import lax


def negative(x: Any) -> Any:
    """`-x`.

    Example:
      >>> negative(jnp.array([1, -2])).tolist()
      [-1, 2]
    """
    return jnp.negative(x)


def abs(x: Any) -> Any:
    """The absolute value `|x|`.

    Example:
      >>> abs(jnp.array([-1.5, 2.0])).tolist()
      [1.5, 2.0]
    """
    return jnp.abs(x)


def sign(x: Any) -> Any:
    """-1, 0 or 1 by the sign of `x`.

    Example:
      >>> sign(jnp.array([-3, 0, 2])).tolist()
      [-1, 0, 1]
    """
    return jnp.sign(x)


def exp(x: Any) -> Any:
    """`e ** x`.

    Example:
      >>> exp(jnp.zeros(2)).tolist()
      [1.0, 1.0]
    """
    return jnp.exp(x)


def log(x: Any) -> Any:
    """The natural logarithm.

    Example:
      >>> log(jnp.ones(2)).tolist()
      [0.0, 0.0]
    """
    return jnp.log(x)


def log1p(x: Any) -> Any:
    """`log(1 + x)`, accurate for small `x`.

    Example:
      >>> log1p(jnp.zeros(2)).tolist()
      [0.0, 0.0]
    """
    return jnp.log1p(x)


def expm1(x: Any) -> Any:
    """`exp(x) - 1`, accurate for small `x`.

    Example:
      >>> expm1(jnp.zeros(2)).tolist()
      [0.0, 0.0]
    """
    return jnp.expm1(x)


def sqrt(x: Any) -> Any:
    """The non-negative square root.

    Example:
      >>> sqrt(jnp.array([4.0, 9.0])).tolist()
      [2.0, 3.0]
    """
    return jnp.sqrt(x)


def rsqrt(x: Any) -> Any:
    """`1 / sqrt(x)`, as one primitive (NumPy has no twin).

    Example:
      >>> rsqrt(jnp.array([4.0])).tolist()
      [0.5]
    """
    return lax.rsqrt(x)


def square(x: Any) -> Any:
    """`x * x`.

    Example:
      >>> square(jnp.array([-3, 2])).tolist()
      [9, 4]
    """
    return jnp.square(x)


def sin(x: Any) -> Any:
    """The sine, in radians.

    Example:
      >>> sin(jnp.zeros(1)).tolist()
      [0.0]
    """
    return jnp.sin(x)


def cos(x: Any) -> Any:
    """The cosine, in radians.

    Example:
      >>> cos(jnp.zeros(1)).tolist()
      [1.0]
    """
    return jnp.cos(x)


def tanh(x: Any) -> Any:
    """The hyperbolic tangent.

    Example:
      >>> tanh(jnp.zeros(1)).tolist()
      [0.0]
    """
    return jnp.tanh(x)


def floor(x: Any) -> Any:
    """The largest integer not above `x`.

    Example:
      >>> floor(jnp.array([1.5, -1.5])).tolist()
      [1.0, -2.0]
    """
    return jnp.floor(x)


def ceil(x: Any) -> Any:
    """The smallest integer not below `x`.

    Example:
      >>> ceil(jnp.array([1.5, -1.5])).tolist()
      [2.0, -1.0]
    """
    return jnp.ceil(x)


def round(x: Any, decimals: int = 0) -> Any:
    """`x` rounded half to even, as `numpy.round`.

    Example:
      >>> round(jnp.array([0.5, 1.5, 2.5])).tolist()
      [0.0, 2.0, 2.0]
    """
    return jnp.round(x, decimals)


def logical_not(x: Any) -> Any:
    """The negation of truth, entry by entry.

    Example:
      >>> logical_not(jnp.array([True, False])).tolist()
      [False, True]
    """
    return jnp.logical_not(x)
