"""Rearranging arrays: NumPy's shape ops over `jax.numpy`.

Each op wraps its `jnp` twin only to name itself in shape errors
(`names_shape_errors`); the traced program is the same as calling `jnp`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from stateless.ops._naming import names_shape_errors

Axis = int | Sequence[int] | None


@names_shape_errors
def reshape(x: Any, newshape: Sequence[int] | int) -> Any:
    """`x` with a new shape holding the same number of entries; -1 is inferred.

    Example:
      >>> reshape(jnp.arange(6), (2, -1)).shape
      (2, 3)
    """
    return jnp.reshape(x, newshape)


@names_shape_errors
def expand_dims(x: Any, axis: int | Sequence[int]) -> Any:
    """`x` with a new axis of size 1 inserted at `axis`.

    Example:
      >>> expand_dims(jnp.zeros((2, 3)), 1).shape
      (2, 1, 3)
    """
    return jnp.expand_dims(x, axis)


@names_shape_errors
def squeeze(x: Any, axis: Axis = None) -> Any:
    """`x` without the given axes of size 1 (all of them if `axis` is None).

    Example:
      >>> squeeze(jnp.zeros((2, 1, 3))).shape
      (2, 3)
    """
    return jnp.squeeze(x, axis)


@names_shape_errors
def broadcast_to(x: Any, shape: Sequence[int]) -> Any:
    """`x` broadcast to `shape` by NumPy's rules.

    Example:
      >>> broadcast_to(jnp.zeros((3,)), (2, 3)).shape
      (2, 3)
    """
    return jnp.broadcast_to(x, shape)


@names_shape_errors
def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """`x` with its axes permuted (reversed if `axes` is None).

    Example:
      >>> transpose(jnp.zeros((2, 3, 4)), (0, 2, 1)).shape
      (2, 4, 3)
    """
    return jnp.transpose(x, axes)


@names_shape_errors
def moveaxis(
    x: Any, source: int | Sequence[int], destination: int | Sequence[int]
) -> Any:
    """`x` with axis `source` moved to position `destination`.

    Example:
      >>> moveaxis(jnp.zeros((2, 3, 4)), -1, 1).shape
      (2, 4, 3)
    """
    return jnp.moveaxis(x, source, destination)


@names_shape_errors
def concatenate(xs: Sequence[Any], axis: int = 0) -> Any:
    """Joins arrays along an existing axis.

    Example:
      >>> concatenate([jnp.zeros((2, 3)), jnp.zeros((1, 3))]).shape
      (3, 3)
    """
    return jnp.concatenate(xs, axis)


@names_shape_errors
def stack(xs: Sequence[Any], axis: int = 0) -> Any:
    """Joins arrays of one shape along a new axis.

    Example:
      >>> stack([jnp.zeros(3), jnp.zeros(3)], axis=1).shape
      (3, 2)
    """
    return jnp.stack(xs, axis)


@names_shape_errors
def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Any]:
    """Splits `x` into equal sections, or at the given indices, along `axis`.

    Example:
      >>> [p.shape for p in split(jnp.zeros((6, 2)), [1, 4])]
      [(1, 2), (3, 2), (2, 2)]
    """
    return jnp.split(x, indices_or_sections, axis)


@names_shape_errors
def tile(x: Any, reps: int | Sequence[int]) -> Any:
    """`x` repeated `reps` times along each axis.

    Example:
      >>> tile(jnp.zeros((2, 3)), (2, 1)).shape
      (4, 3)
    """
    return jnp.tile(x, reps)


@names_shape_errors
def repeat(x: Any, repeats: int | Sequence[int], axis: int | None = None) -> Any:
    """Each entry of `x` repeated `repeats` times along `axis` (of the
    flattened `x` if None), as `numpy.repeat`.

    Example:
      >>> repeat(jnp.array([[1, 2]]), 2, axis=1).tolist()
      [[1, 1, 2, 2]]
    """
    return jnp.repeat(x, repeats, axis)


@names_shape_errors
def pad(
    x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0
) -> Any:
    """`x` padded as `numpy.pad` (`mode="constant"`, `"reflect"`, `"edge"`...).

    Example:
      >>> pad(jnp.ones((2, 2)), ((1, 1), (0, 2))).shape
      (4, 4)
    """
    if mode == "constant":
        return jnp.pad(x, pad_width, mode, constant_values=constant_values)
    return jnp.pad(x, pad_width, mode)


@names_shape_errors
def flip(x: Any, axis: Axis = None) -> Any:
    """`x` with the order of entries reversed along `axis` (all axes if None).

    Example:
      >>> flip(jnp.arange(3)).tolist()
      [2, 1, 0]
    """
    return jnp.flip(x, axis)


@names_shape_errors
def take(x: Any, indices: Any, axis: int | None = None) -> Any:
    """Entries of `x` at `indices` along `axis` (of the flattened `x` if None).

    Unlike NumPy, out-of-range indices do not raise (values are never read at
    trace time): floats come back as NaN, as JAX's `take` does by default.

    Example:
      >>> take(jnp.arange(10) * 2, jnp.array([1, 3])).tolist()
      [2, 6]
    """
    return jnp.take(x, indices, axis)


@names_shape_errors
def take_along_axis(x: Any, indices: Any, axis: int) -> Any:
    """Picks from `x` with `indices` broadcast against it along `axis`.

    Example:
      >>> x = jnp.array([[10, 30, 20]])
      >>> take_along_axis(x, jnp.argsort(x, axis=1), axis=1).tolist()
      [[10, 20, 30]]
    """
    return jnp.take_along_axis(x, indices, axis)


@names_shape_errors
def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """Chooses `x1` where `condition` holds, else `x2`, broadcasting all three.

    With only `condition`, returns the indices where it holds, like NumPy
    (this form has a data-dependent shape and does not run under `jax.jit`).

    Example:
      >>> where(jnp.array([True, False]), 1.0, 0.0).tolist()
      [1.0, 0.0]
    """
    if x1 is None and x2 is None:
        return jnp.where(condition)
    return jnp.where(condition, x1, x2)


@names_shape_errors
def tril(x: Any, k: int = 0) -> Any:
    """`x` with entries above the `k`-th diagonal zeroed (last two axes).

    Example:
      >>> tril(jnp.ones((2, 2))).tolist()
      [[1.0, 0.0], [1.0, 1.0]]
    """
    return jnp.tril(x, k)


@names_shape_errors
def triu(x: Any, k: int = 0) -> Any:
    """`x` with entries below the `k`-th diagonal zeroed (last two axes).

    Example:
      >>> triu(jnp.ones((2, 2))).tolist()
      [[1.0, 1.0], [0.0, 1.0]]
    """
    return jnp.triu(x, k)
