"""Window pooling layers: Max and Average pooling over 1, 2 or 3 spatial axes.

Layouts and `padding` are those of the convolution layers. Average pooling
with `padding="same"` divides by the real (unpadded) entries of each window,
as Keras does. Keras's short names (MaxPool2D, AvgPool1D...) are aliases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from nn.layers.base import Layer, set_fields
from nn.registry import register
from stateless import ops
from stateless.errors import check_shape
from stateless.window_args import check_padding, layer_data_format, spatial_tuple


def pooling_hint(rank: int) -> str:
    """What a pooling layer of `rank` spatial axes takes."""
    spatial = ("steps", "height, width", "depth, height, width")[rank - 1]
    return (
        f"it takes batches of shape (batch, {spatial}, channels), or (batch, "
        f"channels, {spatial}) with data_format='channels_first'."
    )


@dataclass(frozen=True)
class _Pooling(Layer):
    """A window pooling layer; subclasses set `rank` and `pool`, the op."""

    rank: ClassVar[int]
    pool: ClassVar[Callable[..., Any]]

    pool_size: int | tuple[int, ...] = 2
    strides: int | tuple[int, ...] | None = None
    padding: str = "valid"
    data_format: str | None = "channels_last"

    def __post_init__(self):
        super().__post_init__()
        pool_size = spatial_tuple(self, "pool_size", self.pool_size, self.rank)
        strides = self.strides if self.strides is not None else pool_size
        set_fields(
            self,
            data_format=layer_data_format(self, self.data_format),
            pool_size=pool_size,
            strides=spatial_tuple(self, "strides", strides, self.rank),
            padding=check_padding(self, self.padding),
        )

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None,) * (self.rank + 2), pooling_hint(self.rank))
        y = self.pool(x, self.pool_size, self.strides, self.padding, self.data_format)
        return y, variables["state"]


@register()
@dataclass(frozen=True)
class MaxPooling1D(_Pooling):
    """The largest entry of each window of steps, per channel.

    Args: as `MaxPooling2D`, with one spatial axis (default window 2).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> MaxPooling1D(3).apply(v, jnp.ones((2, 10, 4)))[0].shape
      (2, 3, 4)
    """

    rank: ClassVar[int] = 1
    pool = staticmethod(ops.max_pool)


@register()
@dataclass(frozen=True)
class MaxPooling2D(_Pooling):
    """The largest entry of each window, per channel.

    Args:
      pool_size: the window, an int or `(height, width)` (default `(2, 2)`).
      strides: the step, an int or a pair; defaults to `pool_size`.
      padding: `"valid"` (windows inside the input only) or `"same"` (output
        size `ceil(size / stride)`).
      data_format: `"channels_last"` or `"channels_first"`.

    Returns:
      `(batch, out_height, out_width, channels)`, or channels first.

    Raises:
      ValueError: a bad hyperparameter, named.
      ShapeError: an input that is not rank 4.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> MaxPooling2D().apply(v, jnp.ones((2, 26, 26, 32)))[0].shape
      (2, 13, 13, 32)
    """

    rank: ClassVar[int] = 2
    pool = staticmethod(ops.max_pool)


@register()
@dataclass(frozen=True)
class MaxPooling3D(_Pooling):
    """The largest entry of each 3-D window, per channel.

    Args: as `MaxPooling2D`, with three spatial axes.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> MaxPooling3D().apply(v, jnp.ones((1, 4, 4, 4, 2)))[0].shape
      (1, 2, 2, 2, 2)
    """

    rank: ClassVar[int] = 3
    pool = staticmethod(ops.max_pool)


@register()
@dataclass(frozen=True)
class AveragePooling1D(_Pooling):
    """The mean of each window of steps, per channel.

    Args: as `MaxPooling2D`, with one spatial axis.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AveragePooling1D(2, padding="same").apply(v, jnp.ones((2, 5, 4)))[0].shape
      (2, 3, 4)
    """

    rank: ClassVar[int] = 1
    pool = staticmethod(ops.average_pool)


@register()
@dataclass(frozen=True)
class AveragePooling2D(_Pooling):
    """The mean of each window, per channel (padding excluded from the mean).

    Args: as `MaxPooling2D`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AveragePooling2D(3, strides=2, padding="same").apply(
      ...     v, jnp.ones((2, 7, 7, 3))
      ... )[0].shape
      (2, 4, 4, 3)
    """

    rank: ClassVar[int] = 2
    pool = staticmethod(ops.average_pool)


@register()
@dataclass(frozen=True)
class AveragePooling3D(_Pooling):
    """The mean of each 3-D window, per channel.

    Args: as `MaxPooling2D`, with three spatial axes.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AveragePooling3D(2).apply(v, jnp.ones((1, 4, 4, 4, 2)))[0].shape
      (1, 2, 2, 2, 2)
    """

    rank: ClassVar[int] = 3
    pool = staticmethod(ops.average_pool)


# Keras's short names
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
