"""Global pooling: the mean or the largest entry over every spatial axis,
one value per channel, for 1, 2 or 3 spatial axes (Keras's short names,
GlobalAvgPool2D and GlobalMaxPool1D..., are aliases)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from nn.layers.base import Layer, set_fields
from nn.layers.pooling import pooling_hint
from nn.registry import register
from stateless import ops
from stateless.errors import check_shape
from stateless.window_args import layer_data_format


@dataclass(frozen=True)
class _GlobalPooling(Layer):
    """Reduces the spatial axes with `reduce`; subclasses set `rank` and `reduce`.

    Args:
      data_format: `"channels_last"` (or None) or `"channels_first"`.
      keepdims: keep the spatial axes as size 1 (default False).
    """

    rank: ClassVar[int]
    reduce: ClassVar[Callable[..., Any]]

    data_format: str | None = "channels_last"
    keepdims: bool = False

    def __post_init__(self):
        super().__post_init__()
        set_fields(self, data_format=layer_data_format(self, self.data_format))

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None,) * (self.rank + 2), pooling_hint(self.rank))
        first = 1 if self.data_format == "channels_last" else 2
        axes = tuple(range(first, first + self.rank))
        return self.reduce(x, axis=axes, keepdims=self.keepdims), variables["state"]


@register()
@dataclass(frozen=True)
class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps: `(batch, steps, channels)` to `(batch, channels)`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GlobalAveragePooling1D().apply(v, jnp.ones((2, 9, 4)))[0].shape
      (2, 4)
    """

    rank: ClassVar[int] = 1
    reduce = staticmethod(ops.mean)
    supports_masking = True

    def apply(self, variables, x, mask=None, *, training=False, rng=None):
        """The mean over the steps; with a `mask` `(B, T)`, over the steps
        that count (Keras's)."""
        if mask is None:
            return super().apply(variables, x, training=training, rng=rng)
        check_shape(self, "x", x, (None, None, None), pooling_hint(1))
        steps = 1 if self.data_format == "channels_last" else 2
        weights = ops.expand_dims(ops.cast(mask, x.dtype), 3 - steps)
        total = ops.sum(x * weights, axis=steps, keepdims=self.keepdims)
        count = ops.sum(weights, axis=steps, keepdims=self.keepdims)
        return total / count, variables["state"]

    def compute_mask(self, inputs, mask=None):
        return None


@register()
@dataclass(frozen=True)
class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width, one value per channel.

    Returns:
      `(batch, channels)`, or `(batch, 1, 1, channels)` with `keepdims`
      (channels first: `(batch, channels, 1, 1)`).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GlobalAveragePooling2D().apply(v, jnp.ones((2, 7, 7, 64)))[0].shape
      (2, 64)
    """

    rank: ClassVar[int] = 2
    reduce = staticmethod(ops.mean)


@register()
@dataclass(frozen=True)
class GlobalAveragePooling3D(_GlobalPooling):
    """The mean over depth, height and width, one value per channel.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GlobalAveragePooling3D(keepdims=True).apply(
      ...     v, jnp.ones((2, 3, 3, 3, 5)))[0].shape
      (2, 1, 1, 1, 5)
    """

    rank: ClassVar[int] = 3
    reduce = staticmethod(ops.mean)


@register()
@dataclass(frozen=True)
class GlobalMaxPooling1D(_GlobalPooling):
    """The largest entry over the steps, one value per channel.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GlobalMaxPooling1D("channels_first").apply(v, jnp.ones((2, 4, 9)))[0].shape
      (2, 4)
    """

    rank: ClassVar[int] = 1
    reduce = staticmethod(ops.max)


@register()
@dataclass(frozen=True)
class GlobalMaxPooling2D(_GlobalPooling):
    """The largest entry over height and width, one value per channel.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GlobalMaxPooling2D().apply(v, jnp.ones((2, 7, 7, 64)))[0].shape
      (2, 64)
    """

    rank: ClassVar[int] = 2
    reduce = staticmethod(ops.max)


@register()
@dataclass(frozen=True)
class GlobalMaxPooling3D(_GlobalPooling):
    """The largest entry over depth, height and width, one value per channel.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GlobalMaxPooling3D().apply(v, jnp.ones((2, 3, 3, 3, 5)))[0].shape
      (2, 5)
    """

    rank: ClassVar[int] = 3
    reduce = staticmethod(ops.max)


# Keras's short names
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
