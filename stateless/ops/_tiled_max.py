"""Max pooling over non-overlapping windows, with a gradient XLA runs fast.

`lax.reduce_window`'s max differentiates through `select_and_scatter_add`,
which XLA:CPU runs several times slower than the convolutions around it (the
benchmark CNN's training step is twice as fast without it). When the stride
equals the window, every input entry sits in exactly one window, so the
gradient is a mask: the input is cut into tiles, each tile's first largest
entry (the one `select_and_scatter_add` picks) receives the output's tangent,
every other entry zero. That is reshapes, an `argmax` and elementwise
products, which XLA fuses.

The primal stays one `reduce_window` (what `interop` maps onto
`torch.nn.functional.max_pool2d` and `tf.nn.max_pool`); only the JVP rule,
and so the gradient, is tiled.

Example:
  >>> x = jnp.array([[1.0, 3.0, 3.0, 2.0]])[..., None]      # (batch, 4, 1)
  >>> jax.grad(lambda x: tiled_max(x, (2,), "VALID", "channels_last").sum())(x)[..., 0]
  Array([[0., 1., 1., 0.]], dtype=float32)
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from stateless.ops._window import window_dims


def _lowest(dtype) -> np.ndarray:
    """The identity of max for `dtype`, as a concrete NumPy scalar: only then
    does lax emit `reduce_window_max`, which has a gradient (a traced initial
    value makes a generic `reduce_window`)."""
    if jnp.issubdtype(dtype, jnp.floating):
        return np.array(-np.inf, dtype)
    return np.array(jnp.iinfo(dtype).min, dtype)


def reduce_window_max(x, window, steps, lax_pad: str, data_format: str):
    """Max pooling as one `lax.reduce_window`: any dtype, window and strides."""
    return lax.reduce_window(
        x, _lowest(x.dtype), lax.max,
        window_dims(window, data_format), window_dims(steps, data_format), lax_pad,
    )  # fmt: skip


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def tiled_max(x, window: tuple[int, ...], lax_pad: str, data_format: str):
    """Max pooling of floating `x` whose strides equal `window`.

    Args:
      x: `(batch, *spatial, channels)`, or channels first; a floating dtype.
      window: the window (and stride) per spatial axis.
      lax_pad: `"VALID"` or `"SAME"`.
      data_format: `"channels_last"` or `"channels_first"`.
    """
    return reduce_window_max(x, window, window, lax_pad, data_format)


def _fit_to_tiles(v, window, lax_pad, first, fill):
    """`v` cropped (VALID) or padded with `fill` (SAME, TensorFlow's split: the
    extra entry at the end) so each spatial axis is a multiple of its window."""
    config = [(0, 0, 0)] * v.ndim
    for axis, k in enumerate(window, start=first):
        size = v.shape[axis]
        if lax_pad == "VALID":
            config[axis] = (0, size // k * k - size, 0)  # a negative pad crops
        else:
            total = -(-size // k) * k - size
            config[axis] = (total // 2, total - total // 2, 0)
    return lax.pad(v, np.array(fill, v.dtype), config)


def _tiles(v, window, first):
    """`v` with each window's entries gathered on one new last axis.

    The remaining axes keep their order: `(batch, *spatial_out, channels)`, or
    channels first.
    """
    rank = len(window)
    split = list(v.shape[:first])
    for size, k in zip(v.shape[first : first + rank], window):
        split += [size // k, k]
    split += v.shape[first + rank :]
    tiled = v.reshape(split)
    inner = [first + 2 * i + 1 for i in range(rank)]
    outer = [axis for axis in range(tiled.ndim) if axis not in inner]
    tiled = tiled.transpose(outer + inner)
    return tiled.reshape((*tiled.shape[: len(outer)], math.prod(window)))


@tiled_max.defjvp
def _tiled_max_jvp(window, lax_pad, data_format, primals, tangents):
    (x,), (t,) = primals, tangents
    first = 1 if data_format == "channels_last" else 2  # the first spatial axis

    def tiles(v, fill):
        return _tiles(_fit_to_tiles(v, window, lax_pad, first, fill), window, first)

    x_tiles = tiles(x, _lowest(x.dtype))
    winner = jnp.argmax(x_tiles, axis=-1)  # the first largest, as select_and_scatter
    mask = winner[..., None] == jnp.arange(x_tiles.shape[-1], dtype=winner.dtype)
    t_out = jnp.sum(jnp.where(mask, tiles(t, 0), jnp.zeros((), t.dtype)), axis=-1)
    return jnp.max(x_tiles, axis=-1), t_out
