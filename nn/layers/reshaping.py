"""Layers that rearrange each example's entries without changing them:
Flatten, Reshape, Permute, RepeatVector. The batch axis is never touched."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nn.layers.base import Layer, check_positive_int, set_fields
from nn.registry import register
from stateless import ops
from stateless.errors import ShapeError, check_shape
from stateless.window_args import layer_data_format


@register()
@dataclass(frozen=True)
class Flatten(Layer):
    """Flattens every axis but the batch axis.

    Args:
      data_format: `"channels_last"` (or None), or `"channels_first"`: then
        the channel axis is moved last before flattening, so that a model
        gives the same vector in either layout.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Flatten().apply(v, jnp.ones((2, 26, 26, 32)))[0].shape
      (2, 21632)
    """

    data_format: str | None = "channels_last"

    def __post_init__(self):
        super().__post_init__()
        set_fields(self, data_format=layer_data_format(self, self.data_format))

    def apply(self, variables, x, *, training=False, rng=None):
        if self.data_format == "channels_first" and len(x.shape) > 2:
            x = ops.moveaxis(x, 1, -1)
        return ops.reshape(x, (x.shape[0], -1)), variables["state"]


@register()
@dataclass(frozen=True)
class Reshape(Layer):
    """Reshapes each example to `target_shape` (batch axis kept; one -1 is
    inferred from the rest).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Reshape((4, -1)).apply(v, jnp.ones((2, 12)))[0].shape
      (2, 4, 3)
    """

    target_shape: tuple[int, ...]

    def __post_init__(self):
        super().__post_init__()
        target = tuple(self.target_shape)
        if target.count(-1) > 1 or any(
            not isinstance(n, int) or (n < 1 and n != -1) for n in target
        ):
            raise ValueError(
                f"Reshape: target_shape must hold positive ints and at most one "
                f"-1, received {self.target_shape!r}."
            )
        set_fields(self, target_shape=target)

    def apply(self, variables, x, *, training=False, rng=None):
        size = math.prod(x.shape[1:])
        known = math.prod(n for n in self.target_shape if n != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise ShapeError(
                f"Reshape {self.default_name!r}: an example of shape "
                f"{tuple(x.shape[1:])} holds {size} entries, which do not fit "
                f"target_shape {self.target_shape}; give a target_shape whose "
                "sizes multiply to the same number."
            )
        return ops.reshape(x, (x.shape[0], *self.target_shape)), variables["state"]


@register()
@dataclass(frozen=True)
class Permute(Layer):
    """Reorders the axes of each example: `dims` is a permutation of
    `1..rank-1` (the batch axis is 0 and stays first).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Permute((2, 1)).apply(v, jnp.ones((2, 10, 64)))[0].shape
      (2, 64, 10)
    """

    dims: tuple[int, ...]

    def __post_init__(self):
        super().__post_init__()
        dims = tuple(self.dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f"Permute: dims must be a permutation of 1..{len(dims)} (axis 0 "
                f"is the batch), received {self.dims!r}."
            )
        set_fields(self, dims=dims)

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None,) * (len(self.dims) + 1))
        return ops.transpose(x, (0, *self.dims)), variables["state"]


@register()
@dataclass(frozen=True)
class RepeatVector(Layer):
    """Repeats each example's vector `n` times: `(batch, features)` to
    `(batch, n, features)`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> RepeatVector(3).apply(v, jnp.ones((2, 32)))[0].shape
      (2, 3, 32)
    """

    n: int

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, n=self.n)

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None, None), "it takes (batch, features).")
        repeated = ops.broadcast_to(x[:, None, :], (x.shape[0], self.n, x.shape[1]))
        return repeated, variables["state"]
