"""Max and average pooling over 1, 2 or 3 spatial axes, on `lax.reduce_window`.

Floating max pooling whose strides equal its window (Keras's default) keeps
the same forward program but takes a tiled gradient (`_tiled_max`): the same
numbers, without `select_and_scatter_add`, which XLA runs slowly. On the torch
backend, whose lowering runs each primitive as one eager op, the one
`select_and_scatter_add` (a native pooling gradient there) is kept: the
digits CNN's lowered step is 3.7-4.5 ms with it, 6.1 ms with the tiles
(TensorFlow, one graph per step, takes the tiles: 6.0-7.9 ms against 7.1-8.7).

Layouts and `padding` are those of `conv`. Average pooling with
`padding="same"` divides each window by the number of real (unpadded) entries
it covers, as Keras and TensorFlow do; those counts depend only on static
shapes, so they are computed once with NumPy and enter the graph as a
constant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from stateless import config
from stateless.ops._tiled_max import reduce_window_max, tiled_max
from stateless.ops._window import lax_padding, spatial_rank, window_dims
from stateless.window_args import spatial_tuple


def _windows(op, inputs, pool_size, strides, padding, data_format):
    lax_pad = lax_padding(op, padding, data_format)
    rank = spatial_rank(op, inputs, "inputs")
    window = spatial_tuple(op, "pool_size", pool_size, rank)
    steps = window if strides is None else spatial_tuple(op, "strides", strides, rank)
    return window, steps, lax_pad


def max_pool(
    inputs: Any,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str = "channels_last",
) -> Any:
    """The largest entry of each window.

    Args:
      inputs: `(batch, *spatial, channels)`, or channels first.
      pool_size: the window per spatial axis (an int is repeated).
      strides: the step per spatial axis; defaults to `pool_size`.
      padding: `"valid"` or `"same"`.
      data_format: `"channels_last"` or `"channels_first"`.

    Example:
      >>> max_pool(jnp.ones((2, 26, 26, 32)), 2).shape
      (2, 13, 13, 32)
    """
    window, steps, lax_pad = _windows(
        "max_pool", inputs, pool_size, strides, padding, data_format
    )
    inputs = jnp.asarray(inputs)
    floating = jnp.issubdtype(inputs.dtype, jnp.floating)
    if floating and steps == window and config.backend() != "torch":
        return tiled_max(inputs, window, lax_pad, data_format)
    return reduce_window_max(inputs, window, steps, lax_pad, data_format)


def _same_counts(sizes, window, steps) -> np.ndarray:
    """How many real entries each `"same"`-padded window covers, per output cell."""
    per_axis = []
    for size, k, s, (low, _) in zip(
        sizes, window, steps, lax.padtype_to_pads(sizes, window, steps, "SAME")
    ):
        starts = np.arange(-(-size // s)) * s - low
        per_axis.append(np.minimum(starts + k, size) - np.maximum(starts, 0))
    return math.prod(np.ix_(*per_axis))


def average_pool(
    inputs: Any,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str = "channels_last",
) -> Any:
    """The mean of each window (padding excluded from the mean).

    Args: as `max_pool`.

    Example:
      >>> average_pool(jnp.ones((2, 5, 5, 3)), 2, padding="same").shape
      (2, 3, 3, 3)
    """
    window, steps, lax_pad = _windows(
        "average_pool", inputs, pool_size, strides, padding, data_format
    )
    inputs = jnp.asarray(inputs)
    sums = lax.reduce_window(
        inputs,
        np.array(0, inputs.dtype),
        lax.add,
        window_dims(window, data_format),
        window_dims(steps, data_format),
        lax_pad,
    )
    if lax_pad == "VALID":
        return sums / math.prod(window)
    spatial = inputs.shape[1:-1] if data_format == "channels_last" else inputs.shape[2:]
    counts = _same_counts(spatial, window, steps)
    counts = counts.reshape(window_dims(counts.shape, data_format))
    return sums / counts.astype(sums.dtype)
