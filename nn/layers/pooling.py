"""Pooling layers: MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D.

Layouts and `padding` are those of the convolution layers. Average pooling
with `padding="same"` divides by the real (unpadded) entries of each window,
as Keras does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from nn.layers.base import Layer, set_fields
from nn.registry import register
from stateless import ops
from stateless.errors import check_shape
from stateless.window_args import check_data_format, check_padding, spatial_tuple

_IMAGE_HINT = (
    "pooling takes batches of images, (batch, height, width, channels), or "
    "(batch, channels, height, width) with data_format='channels_first'."
)


@dataclass(frozen=True)
class _Pooling2D(Layer):
    """A 2-D window pooling layer; subclasses set `pool`, the op to apply."""

    pool: ClassVar[Callable[..., Any]]

    pool_size: int | tuple[int, int] = (2, 2)
    strides: int | tuple[int, int] | None = None
    padding: str = "valid"
    data_format: str = "channels_last"

    def __post_init__(self):
        super().__post_init__()
        check_data_format(self, self.data_format)
        pool_size = spatial_tuple(self, "pool_size", self.pool_size, 2)
        strides = self.strides if self.strides is not None else pool_size
        set_fields(
            self,
            pool_size=pool_size,
            strides=spatial_tuple(self, "strides", strides, 2),
            padding=check_padding(self, self.padding),
        )

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None, None, None, None), _IMAGE_HINT)
        y = self.pool(x, self.pool_size, self.strides, self.padding, self.data_format)
        return y, variables["state"]


@register()
@dataclass(frozen=True)
class MaxPooling2D(_Pooling2D):
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

    pool = staticmethod(ops.max_pool)


@register()
@dataclass(frozen=True)
class AveragePooling2D(_Pooling2D):
    """The mean of each window, per channel (padding excluded from the mean).

    Args: as `MaxPooling2D`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AveragePooling2D(3, strides=2, padding="same").apply(
      ...     v, jnp.ones((2, 7, 7, 3))
      ... )[0].shape
      (2, 4, 4, 3)
    """

    pool = staticmethod(ops.average_pool)


@register()
@dataclass(frozen=True)
class GlobalAveragePooling2D(Layer):
    """The mean over the spatial axes, one value per channel.

    Args:
      data_format: `"channels_last"` or `"channels_first"`.
      keepdims: keep the spatial axes as size 1 (default False).

    Returns:
      `(batch, channels)`, or `(batch, 1, 1, channels)` with `keepdims`
      (channels first: `(batch, channels, 1, 1)`).

    Raises:
      ShapeError: an input that is not rank 4.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GlobalAveragePooling2D().apply(v, jnp.ones((2, 7, 7, 64)))[0].shape
      (2, 64)
    """

    data_format: str = "channels_last"
    keepdims: bool = False

    def __post_init__(self):
        super().__post_init__()
        check_data_format(self, self.data_format)

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None, None, None, None), _IMAGE_HINT)
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return ops.mean(x, axis=axes, keepdims=self.keepdims), variables["state"]
