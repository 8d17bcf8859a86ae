"""Cropping and zero padding: rows taken off or zeros added at both ends of
each spatial axis, for 1, 2 or 3 spatial axes.

Amounts are read as Keras reads them (`window_args.spatial_pairs`): an int
for every side, one int per axis for both its sides, or a `(before, after)`
pair per axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from nn.layers.base import Layer, set_fields
from nn.layers.pooling import pooling_hint
from nn.registry import register
from stateless import ops
from stateless.errors import ShapeError, check_shape
from stateless.window_args import layer_data_format, spatial_pairs


def spatial_axes(layer: Any, x: Any) -> tuple[int, ...]:
    """The spatial axes of `x` for a layer with `rank` and `data_format`,
    after checking that `x` has `rank + 2` axes."""
    check_shape(layer, "x", x, (None,) * (layer.rank + 2), pooling_hint(layer.rank))
    first = 1 if layer.data_format == "channels_last" else 2
    return tuple(range(first, first + layer.rank))


@dataclass(frozen=True)
class _Cropping(Layer):
    """Takes `cropping[i] = (before, after)` entries off spatial axis i."""

    rank: ClassVar[int]

    cropping: Any = 1
    data_format: str | None = "channels_last"

    def __post_init__(self):
        super().__post_init__()
        set_fields(
            self,
            cropping=spatial_pairs(self, "cropping", self.cropping, self.rank),
            data_format=layer_data_format(self, self.data_format),
        )

    def apply(self, variables, x, *, training=False, rng=None):
        index = [slice(None)] * len(x.shape)
        for axis, (before, after) in zip(spatial_axes(self, x), self.cropping):
            size = x.shape[axis]
            if before + after >= size:
                raise ShapeError(
                    f"{type(self).__name__} {self.default_name!r}: cropping "
                    f"{(before, after)} leaves nothing of axis {axis} (size "
                    f"{size}) of the input of shape {tuple(x.shape)}; crop less "
                    "than the axis holds."
                )
            index[axis] = slice(before, size - after)
        return x[tuple(index)], variables["state"]


@register()
@dataclass(frozen=True)
class Cropping1D(_Cropping):
    """Takes entries off the start and end of the steps axis.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Cropping1D((1, 2)).apply(v, jnp.ones((2, 9, 3)))[0].shape
      (2, 6, 3)
    """

    rank: ClassVar[int] = 1
    cropping: Any = (1, 1)


@register()
@dataclass(frozen=True)
class Cropping2D(_Cropping):
    """Takes rows and columns off the borders of images.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Cropping2D(((1, 0), (2, 2))).apply(v, jnp.ones((2, 8, 8, 3)))[0].shape
      (2, 7, 4, 3)
    """

    rank: ClassVar[int] = 2
    cropping: Any = ((0, 0), (0, 0))


@register()
@dataclass(frozen=True)
class Cropping3D(_Cropping):
    """Takes entries off the borders of volumes.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Cropping3D(1).apply(v, jnp.ones((1, 4, 5, 6, 2)))[0].shape
      (1, 2, 3, 4, 2)
    """

    rank: ClassVar[int] = 3
    cropping: Any = ((1, 1), (1, 1), (1, 1))


@dataclass(frozen=True)
class _ZeroPadding(Layer):
    """Adds `padding[i] = (before, after)` zeros at the ends of spatial axis i."""

    rank: ClassVar[int]

    padding: Any = 1
    data_format: str | None = "channels_last"

    def __post_init__(self):
        super().__post_init__()
        set_fields(
            self,
            padding=spatial_pairs(self, "padding", self.padding, self.rank),
            data_format=layer_data_format(self, self.data_format),
        )

    def apply(self, variables, x, *, training=False, rng=None):
        widths = [(0, 0)] * len(x.shape)
        for axis, pair in zip(spatial_axes(self, x), self.padding):
            widths[axis] = pair
        return ops.pad(x, widths), variables["state"]


@register()
@dataclass(frozen=True)
class ZeroPadding1D(_ZeroPadding):
    """Zeros before and after the steps.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> ZeroPadding1D((0, 2)).apply(v, jnp.ones((2, 5, 3)))[0].shape
      (2, 7, 3)
    """

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class ZeroPadding2D(_ZeroPadding):
    """Rows and columns of zeros around images.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> ZeroPadding2D((1, 2)).apply(v, jnp.ones((2, 4, 4, 3)))[0].shape
      (2, 6, 8, 3)
    """

    rank: ClassVar[int] = 2
    padding: Any = (1, 1)


@register()
@dataclass(frozen=True)
class ZeroPadding3D(_ZeroPadding):
    """Zeros around volumes.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> ZeroPadding3D(1).apply(v, jnp.ones((1, 2, 3, 4, 2)))[0].shape
      (1, 4, 5, 6, 2)
    """

    rank: ClassVar[int] = 3
    padding: Any = ((1, 1), (1, 1), (1, 1))
