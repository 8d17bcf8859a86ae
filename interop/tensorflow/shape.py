"""TensorFlow rules for primitives that move data around: broadcasting,
reshaping, transposing, joining and splitting, padding and slicing.

Shapes are static: every rule reads its sizes from the equation's avals, so
the same rule serves eagerly and inside `tf.function`. Key arrays carry one
trailing data axis (see `interop.tensorflow.common`); the rules here let it ride
along.

Example:
  >>> import jax
  >>> eqn = jax.make_jaxpr(lambda x: x.T)(np.ones((2, 3))).eqns[0]
  >>> ctx = type("Ctx", (), {"eqn": eqn})()
  >>> RULES["transpose"](ctx, tf.ones((2, 3)), permutation=(1, 0)).shape
  TensorShape([3, 2])
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from interop.tensorflow.common import (
    extra_axes,
    in_shape,
    out_dtype,
    out_shape,
    pad,
    transpose,
)


def _broadcast_in_dim(ctx, x, *dynamic, shape, broadcast_dimensions, **params):
    del dynamic, params
    target = out_shape(ctx)
    dims = [*broadcast_dimensions, *range(len(shape), len(target))]
    sizes = [1] * len(target)
    for dim, size in zip(dims, in_shape(ctx, 0)):
        sizes[dim] = size
    x = tf.reshape(x, sizes)
    return x if tuple(sizes) == target else tf.broadcast_to(x, target)


def _reshape(ctx, x, *dynamic, new_sizes, dimensions, **params):
    del dynamic, new_sizes, params
    if dimensions is not None:
        x = transpose(x, [*dimensions, *range(len(dimensions), len(x.shape))])
    return tf.reshape(x, out_shape(ctx))


def _squeeze(ctx, x, *, dimensions):
    del dimensions
    return tf.reshape(x, out_shape(ctx))


def _transpose(ctx, x, *, permutation):
    rank = len(permutation)
    return transpose(x, [*permutation, *range(rank, rank + extra_axes(ctx))])


def _rev(ctx, x, *, dimensions):
    del ctx
    return tf.reverse(x, list(dimensions)) if dimensions else x


def _concatenate(ctx, *xs, dimension):
    del ctx
    return tf.concat(xs, int(dimension))


def _split(ctx, x, *, sizes, axis):
    del ctx
    return tf.split(x, [int(s) for s in sizes], int(axis))


def _stack(ctx, *xs, axis):
    del ctx
    return tf.stack(xs, int(axis))


def _unstack(ctx, x, *, axis):
    del ctx
    return tf.unstack(x, axis=int(axis))


def _tile(ctx, x, *, reps):
    return tf.tile(x, [*map(int, reps), *[1] * extra_axes(ctx)])


def _iota(ctx, *dynamic, dtype, shape, dimension, **params):
    del dynamic, dtype, params
    target = out_dtype(ctx)
    count = tf.float32 if target.is_floating else tf.int64
    line = tf.cast(tf.range(int(shape[dimension]), dtype=count), target)
    sizes = [1] * len(shape)
    sizes[dimension] = int(shape[dimension])
    return tf.broadcast_to(tf.reshape(line, sizes), [int(s) for s in shape])


def _pad(ctx, x, value, *, padding_config):
    config = [*padding_config, *[(0, 0, 0)] * extra_axes(ctx)]
    return pad(x, value, config)


def _slice(ctx, x, *, start_indices, limit_indices, strides):
    extra = extra_axes(ctx)
    strides = strides or (1,) * len(start_indices)
    return tf.strided_slice(
        x,
        [*map(int, start_indices), *[0] * extra],
        [*map(int, limit_indices), *in_shape(ctx, 0)[len(limit_indices) :]],
        [*map(int, strides), *[1] * extra],
    )


def _clamped_starts(ctx, starts, sizes) -> tf.Tensor:
    """Start indices clamped so the window fits, as XLA does; int64 `[rank]`."""
    shape = in_shape(ctx, 0)
    clamped = [
        tf.clip_by_value(tf.cast(s, tf.int64), 0, shape[d] - int(sizes[d]))
        for d, s in enumerate(starts)
    ]
    zeros = [tf.zeros((), tf.int64)] * (len(shape) - len(starts))
    return tf.stack([*clamped, *zeros])


def _dynamic_slice(ctx, x, *starts_and_dynamic, slice_sizes):
    starts = starts_and_dynamic[: len(slice_sizes)]
    sizes = [*map(int, slice_sizes), *in_shape(ctx, 0)[len(slice_sizes) :]]
    return tf.slice(x, _clamped_starts(ctx, starts, sizes), sizes)


def _dynamic_update_slice(ctx, x, update, *starts):
    shape, sizes = in_shape(ctx, 0), in_shape(ctx, 1)
    begin = _clamped_starts(ctx, starts, sizes)
    widths = tf.stack([begin, tf.constant(shape, tf.int64) - sizes - begin], 1)
    inside = tf.pad(tf.ones(sizes, tf.bool), widths)
    return tf.where(inside, tf.pad(update, widths), x)


RULES: dict[str, Any] = {
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": _reshape,
    "squeeze": _squeeze,
    "transpose": _transpose,
    "rev": _rev,
    "concatenate": _concatenate,
    "split": _split,
    "stack": _stack,
    "unstack": _unstack,
    "tile": _tile,
    "iota": _iota,
    "pad": _pad,
    "slice": _slice,
    "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice,
}
