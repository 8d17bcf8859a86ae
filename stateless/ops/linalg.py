"""Products of arrays: `matmul`, `dot` and `einsum`, as NumPy defines them."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from stateless.ops._naming import names_shape_errors


@names_shape_errors
def matmul(x1: Any, x2: Any) -> Any:
    """The matrix product, batched over leading axes (`x1 @ x2`).

    Raises:
      ShapeError: the contracted sizes differ; the message gives both shapes.

    Example:
      >>> matmul(jnp.ones((5, 2, 3)), jnp.ones((3, 4))).shape
      (5, 2, 4)
    """
    return jnp.matmul(x1, x2)


@names_shape_errors
def dot(x1: Any, x2: Any) -> Any:
    """NumPy's `dot`: sums over the last axis of `x1` and the second-to-last of `x2`.

    Example:
      >>> dot(jnp.ones((2, 3)), jnp.ones((3,))).shape
      (2,)
    """
    return jnp.dot(x1, x2)


@names_shape_errors
def einsum(subscripts: str, *operands: Any) -> Any:
    """Einstein summation, e.g. `"bld,dk->blk"`.

    Example:
      >>> einsum("bld,dk->blk", jnp.ones((2, 5, 3)), jnp.ones((3, 4))).shape
      (2, 5, 4)
    """
    return jnp.einsum(subscripts, *operands)
