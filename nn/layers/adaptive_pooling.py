"""Adaptive pooling: windows sized to give a fixed output, whatever the input.

Output cell `i` of an axis of `size` entries pools the entries
`[floor(i * size / out), ceil((i + 1) * size / out))`, as Keras and PyTorch
do; windows may differ by one in width and may overlap. Each axis is pooled
in turn (a box's mean or maximum is that of its rows' means or maxima), by
gathering every window at the widest width with its last index repeated
(the maximum does not change; the mean leaves the repeats out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nn.layers.base import Layer, set_fields
from nn.layers.pooling import pooling_hint
from nn.registry import register
from stateless import ops
from stateless.errors import check_shape
from stateless.window_args import layer_data_format, spatial_tuple


def _windows(x: Any, axis: int, out: int) -> tuple[Any, np.ndarray]:
    """`(windows, real)`: `x` with `axis` replaced by `(out, width)`, each
    window's entries with its last one repeated to the widest width, and
    which of the `(out, width)` entries are the window's own."""
    size = x.shape[axis]
    starts = (np.arange(out) * size) // out
    ends = -((-(np.arange(1, out + 1)) * size) // out)  # ceil
    offsets = np.arange((ends - starts).max())
    indices = starts[:, None] + offsets[None, :]
    real = indices < ends[:, None]
    indices = np.minimum(indices, ends[:, None] - 1)
    windows = ops.take(x, indices.reshape(-1), axis=axis)
    shape = (*x.shape[:axis], *indices.shape, *x.shape[axis + 1 :])
    return ops.reshape(windows, shape), real


def adaptive_max(x: Any, axis: int, out: int) -> Any:
    windows, _ = _windows(x, axis, out)
    return ops.max(windows, axis=axis + 1)


def adaptive_mean(x: Any, axis: int, out: int) -> Any:
    windows, real = _windows(x, axis, out)
    weights = (real / real.sum(axis=1, keepdims=True)).astype(np.dtype(x.dtype))
    weights = weights.reshape(real.shape + (1,) * (x.ndim - axis - 1))
    return ops.sum(windows * weights, axis=axis + 1)


@dataclass(frozen=True)
class _AdaptivePooling(Layer):
    """Pools to `output_size`; subclasses set `rank` and `pool_axis`.

    Args:
      output_size: the output's size per spatial axis (an int is repeated).
      data_format: `"channels_last"` (or None) or `"channels_first"`.
    """

    rank: ClassVar[int]
    pool_axis: ClassVar[Callable[[Any, int, int], Any]]

    output_size: int | tuple[int, ...]
    data_format: str | None = "channels_last"

    def __post_init__(self):
        super().__post_init__()
        size = spatial_tuple(self, "output_size", self.output_size, self.rank)
        data_format = layer_data_format(self, self.data_format)
        set_fields(self, data_format=data_format, output_size=size)

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None,) * (self.rank + 2), pooling_hint(self.rank))
        first = 1 if self.data_format == "channels_last" else 2
        for axis, out in enumerate(self.output_size, start=first):
            x = self.pool_axis(x, axis, out)
        return x, variables["state"]


@register()
@dataclass(frozen=True)
class AdaptiveAveragePooling1D(_AdaptivePooling):
    """The mean of `output_size` windows over the steps.

    Args:
      output_size: the output size per spatial axis (an int is repeated).
      data_format: `"channels_last"` (or None) or `"channels_first"`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AdaptiveAveragePooling1D(4).apply(v, jnp.ones((2, 10, 3)))[0].shape
      (2, 4, 3)
    """

    rank: ClassVar[int] = 1
    pool_axis = staticmethod(adaptive_mean)


@register()
@dataclass(frozen=True)
class AdaptiveAveragePooling2D(_AdaptivePooling):
    """The mean of an `output_size` grid of windows, per channel.

    Args:
      output_size: the output size per spatial axis (an int is repeated).
      data_format: `"channels_last"` (or None) or `"channels_first"`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AdaptiveAveragePooling2D(3).apply(v, jnp.ones((2, 7, 9, 3)))[0].shape
      (2, 3, 3, 3)
    """

    rank: ClassVar[int] = 2
    pool_axis = staticmethod(adaptive_mean)


@register()
@dataclass(frozen=True)
class AdaptiveAveragePooling3D(_AdaptivePooling):
    """The mean of an `output_size` grid of 3-D windows, per channel.

    Args:
      output_size: the output size per spatial axis (an int is repeated).
      data_format: `"channels_last"` (or None) or `"channels_first"`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AdaptiveAveragePooling3D(2).apply(v, jnp.ones((1, 5, 5, 5, 2)))[0].shape
      (1, 2, 2, 2, 2)
    """

    rank: ClassVar[int] = 3
    pool_axis = staticmethod(adaptive_mean)


@register()
@dataclass(frozen=True)
class AdaptiveMaxPooling1D(_AdaptivePooling):
    """The largest entry of `output_size` windows over the steps.

    Args:
      output_size: the output size per spatial axis (an int is repeated).
      data_format: `"channels_last"` (or None) or `"channels_first"`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AdaptiveMaxPooling1D(4).apply(v, jnp.ones((2, 10, 3)))[0].shape
      (2, 4, 3)
    """

    rank: ClassVar[int] = 1
    pool_axis = staticmethod(adaptive_max)


@register()
@dataclass(frozen=True)
class AdaptiveMaxPooling2D(_AdaptivePooling):
    """The largest entry of an `output_size` grid of windows, per channel.

    Args:
      output_size: the output size per spatial axis (an int is repeated).
      data_format: `"channels_last"` (or None) or `"channels_first"`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AdaptiveMaxPooling2D((2, 3)).apply(v, jnp.ones((2, 7, 9, 3)))[0].shape
      (2, 2, 3, 3)
    """

    rank: ClassVar[int] = 2
    pool_axis = staticmethod(adaptive_max)


@register()
@dataclass(frozen=True)
class AdaptiveMaxPooling3D(_AdaptivePooling):
    """The largest entry of an `output_size` grid of 3-D windows.

    Args:
      output_size: the output size per spatial axis (an int is repeated).
      data_format: `"channels_last"` (or None) or `"channels_first"`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> AdaptiveMaxPooling3D(2).apply(v, jnp.ones((1, 5, 5, 5, 2)))[0].shape
      (1, 2, 2, 2, 2)
    """

    rank: ClassVar[int] = 3
    pool_axis = staticmethod(adaptive_max)
