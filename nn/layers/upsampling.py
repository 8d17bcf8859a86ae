"""Upsampling: each spatial axis made `size` times longer, by repeating
entries (`"nearest"`) or by interpolating (`"bilinear"`, `"bicubic"`,
`"lanczos3"`, `"lanczos5"`), for 1, 2 or 3 spatial axes.

Interpolation is separable, so each axis is one matrix product with a
constant `(size * n, n)` matrix: `jax.image.resize` applied to the identity
at trace time, which gives the values `jax.image.resize` gives (Keras's
`UpSampling2D` on JAX) and a graph of plain dot products that lowers to
every target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import numpy as np

from nn.layers.base import Layer, set_fields
from nn.layers.spatial_edges import spatial_axes
from nn.registry import register
from stateless import ops
from stateless.window_args import layer_data_format, spatial_tuple

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


def resize_matrix(size: int, factor: int, method: str) -> np.ndarray:
    """The `(factor * size, size)` matrix that resizes one axis by `method`.

    Example:
      >>> resize_matrix(2, 2, "bilinear").tolist()
      [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    """
    with jax.ensure_compile_time_eval():
        eye = np.eye(size, dtype=np.float32)
        return np.asarray(jax.image.resize(eye, (factor * size, size), method))


@dataclass(frozen=True)
class _UpSampling(Layer):
    """Makes spatial axis i `size[i]` times longer; subclasses set `rank`."""

    rank: ClassVar[int]

    size: Any = 2
    data_format: str | None = "channels_last"
    interpolation: str = "nearest"

    def __post_init__(self):
        super().__post_init__()
        method = str(self.interpolation).lower()
        if method not in INTERPOLATIONS:
            raise ValueError(
                f"{type(self).__name__}: interpolation must be one of "
                f"{', '.join(INTERPOLATIONS)}, received {self.interpolation!r}."
            )
        set_fields(
            self,
            size=spatial_tuple(self, "size", self.size, self.rank),
            data_format=layer_data_format(self, self.data_format),
            interpolation=method,
        )

    def apply(self, variables, x, *, training=False, rng=None):
        for axis, factor in zip(spatial_axes(self, x), self.size):
            if factor == 1:
                continue
            if self.interpolation == "nearest":
                x = ops.repeat(x, factor, axis=axis)
                continue
            matrix = resize_matrix(x.shape[axis], factor, self.interpolation)
            last = ops.matmul(ops.moveaxis(x, axis, -1), ops.cast(matrix.T, x.dtype))
            x = ops.moveaxis(last, -1, axis)
        return x, variables["state"]


@register()
@dataclass(frozen=True)
class UpSampling1D(_UpSampling):
    """Repeats each step `size` times.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> UpSampling1D(3).apply(v, jnp.ones((2, 4, 5)))[0].shape
      (2, 12, 5)
    """

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class UpSampling2D(_UpSampling):
    """Makes images `size` times taller and wider.

    Args:
      size: the factor for height and width (an int is used for both).
      data_format: `"channels_last"` (or None) or `"channels_first"`.
      interpolation: `"nearest"` (repeat each pixel), `"bilinear"`,
        `"bicubic"`, `"lanczos3"` or `"lanczos5"`.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> up = UpSampling2D(2, interpolation="bilinear")
      >>> up.apply(v, jnp.ones((2, 7, 7, 16)))[0].shape
      (2, 14, 14, 16)
    """

    rank: ClassVar[int] = 2
    size: Any = (2, 2)


@register()
@dataclass(frozen=True)
class UpSampling3D(_UpSampling):
    """Makes volumes `size` times deeper, taller and wider.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> UpSampling3D((1, 2, 2)).apply(v, jnp.ones((1, 2, 3, 3, 4)))[0].shape
      (1, 2, 6, 6, 4)
    """

    rank: ClassVar[int] = 3
    size: Any = (2, 2, 2)
