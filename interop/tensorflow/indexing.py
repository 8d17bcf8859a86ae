"""TensorFlow rules for XLA's general `gather` and `scatter` family.

The common gather, a take along one axis (`x[idx]`, `jnp.take`, embedding
lookups), becomes one `tf.gather`, whose gradient TF keeps sparse. Every
other gather builds the full operand index of each output element from iota
grids and runs `tf.gather_nd`. Scatters build the same indices, flattened to
positions in the flat operand, and use `tf.tensor_scatter_nd_*` (or
`tf.math.unsorted_segment_prod` for `scatter-mul`).

Out-of-bounds indices follow JAX's modes: `CLIP` clamps each window into
range; `FILL_OR_DROP` fills a gathered window with `fill_value` and drops a
scattered one; `PROMISE_IN_BOUNDS` clamps gathers and drops scatters, like
XLA. Dropped updates are sent to one spare slot past the end of the flat
operand, which is then cut off.

Example:
  >>> import jax
  >>> x, i = np.arange(6.0).reshape(3, 2), np.array([2, 0])
  >>> eqn = jax.make_jaxpr(lambda x, i: x[i])(x, i).eqns[-1]
  >>> ctx = type("Ctx", (), {"eqn": eqn, "out_avals": [eqn.outvars[0].aval]})()
  >>> RULES["gather"](ctx, tf.constant(x), tf.constant(i[:, None]),
  ...                 **eqn.params).numpy()
  array([[4., 5.],
         [0., 1.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from jax.lax import GatherScatterMode

from interop.tensorflow.common import edge_value, grid, in_shape, out_shape, place


def _is_take(dn, slice_sizes, shape, batch_rank) -> int | None:
    """The axis when the gather is a plain take along one axis, else None."""
    if dn.operand_batching_dims or len(dn.start_index_map) != 1:
        return None
    (axis,) = dn.start_index_map
    if tuple(dn.collapsed_slice_dims) != (axis,) or slice_sizes[axis] != 1:
        return None
    if any(slice_sizes[d] != shape[d] for d in range(len(shape)) if d != axis):
        return None
    after = range(axis + batch_rank, len(shape) - 1 + batch_rank)
    return axis if tuple(dn.offset_dims) == (*range(axis), *after) else None


def _starts(indices, k, limit):
    """Start `k` of every index vector, in range, and whether it was in range."""
    start = tf.cast(indices[..., k], tf.int64)
    ok = tf.logical_and(start >= 0, start <= limit)
    return tf.clip_by_value(start, 0, max(limit, 0)), ok


def _gather(
    ctx,
    operand,
    indices,
    *,
    dimension_numbers,
    slice_sizes,
    mode,
    fill_value=None,
    **params,
):
    del params
    dn, shape, target = dimension_numbers, in_shape(ctx, 0), out_shape(ctx)
    batch_shape = in_shape(ctx, 1)[:-1]
    fill = mode == GatherScatterMode.FILL_OR_DROP
    axis = _is_take(dn, slice_sizes, shape, len(batch_shape))
    batch_dims = [d for d in range(len(target)) if d not in dn.offset_dims]
    ok = None
    if axis is not None:
        index, ok = _starts(indices, 0, shape[axis] - 1)
        out = tf.gather(operand, index, axis=axis)
        batch_dims = list(range(axis, axis + len(batch_shape)))
    else:
        coords = [grid(target, d) for d in range(len(target))]
        windows = [
            d
            for d in range(len(shape))
            if d not in (*dn.collapsed_slice_dims, *dn.operand_batching_dims)
        ]
        full = []
        for d in range(len(shape)):
            at = tf.zeros(target, tf.int64)
            if d in dn.start_index_map:
                k = dn.start_index_map.index(d)
                start, in_range = _starts(indices, k, shape[d] - slice_sizes[d])
                ok = in_range if ok is None else tf.logical_and(ok, in_range)
                at = at + place(start, len(target), batch_dims)
            elif d in dn.operand_batching_dims:
                j = dn.operand_batching_dims.index(d)
                at = at + coords[batch_dims[dn.start_indices_batching_dims[j]]]
            if d in windows:
                at = at + coords[dn.offset_dims[windows.index(d)]]
            full.append(at)
        out = tf.gather_nd(operand, tf.stack(full, -1))
    if not fill:
        return out
    value = edge_value(operand.dtype, "fill") if fill_value is None else fill_value
    value = tf.constant(np.asarray(value, operand.dtype.as_numpy_dtype))
    return tf.where(place(ok, len(target), batch_dims), out, value)


def _flat_positions(ctx, indices, dn, mode) -> tf.Tensor:
    """For every update element, its position in the flat operand (int64), or
    the spare slot (the operand's size) when its window is dropped."""
    shape, updates = in_shape(ctx, 0), in_shape(ctx, 2)
    scatter_dims = [d for d in range(len(updates)) if d not in dn.update_window_dims]
    windows = [
        d
        for d in range(len(shape))
        if d not in (*dn.inserted_window_dims, *dn.operand_batching_dims)
    ]
    coords = [grid(updates, d) for d in range(len(updates))]
    clip = mode == GatherScatterMode.CLIP
    position, ok, stride = tf.zeros(updates, tf.int64), None, 1
    for d in reversed(range(len(shape))):
        at = tf.zeros(updates, tf.int64)
        if d in dn.scatter_dims_to_operand_dims:
            k = dn.scatter_dims_to_operand_dims.index(d)
            width = (
                updates[dn.update_window_dims[windows.index(d)]] if d in windows else 1
            )
            start, in_range = _starts(indices, k, shape[d] - width)
            if not clip:
                ok = in_range if ok is None else tf.logical_and(ok, in_range)
            at = at + place(start, len(updates), scatter_dims)
        elif d in dn.operand_batching_dims:
            j = dn.operand_batching_dims.index(d)
            at = at + coords[scatter_dims[dn.scatter_indices_batching_dims[j]]]
        if d in windows:
            at = at + coords[dn.update_window_dims[windows.index(d)]]
        position += at * stride
        stride *= shape[d]
    if ok is not None:
        spare = tf.fill(updates, tf.constant(stride, tf.int64))
        position = tf.where(place(ok, len(updates), scatter_dims), position, spare)
    return tf.reshape(position, [-1, 1])


def _scatter(combine: str):
    def rule(ctx, operand, indices, updates, *, dimension_numbers, mode, **params):
        del params
        shape = in_shape(ctx, 0)
        where = _flat_positions(ctx, indices, dimension_numbers, mode)
        flat = tf.reshape(operand, [-1])
        values = tf.reshape(updates, [-1])
        if combine == "sub":
            values = -values
        if combine == "mul":
            factors = tf.math.unsorted_segment_prod(
                values, where[:, 0], flat.shape[0] + 1
            )
            return tf.reshape(flat * factors[:-1], shape)
        flat = tf.concat([flat, tf.zeros([1], flat.dtype)], 0)
        scatter = {
            "set": tf.tensor_scatter_nd_update,
            "add": tf.tensor_scatter_nd_add,
            "sub": tf.tensor_scatter_nd_add,
            "min": tf.tensor_scatter_nd_min,
            "max": tf.tensor_scatter_nd_max,
        }[combine]
        return tf.reshape(scatter(flat, where, values)[:-1], shape)

    return rule


RULES: dict[str, Any] = {
    "gather": _gather,
    "scatter": _scatter("set"),
    "scatter-add": _scatter("add"),
    "scatter-sub": _scatter("sub"),
    "scatter-mul": _scatter("mul"),
    "scatter-min": _scatter("min"),
    "scatter-max": _scatter("max"),
}
