"""TensorFlow rules for reductions: over axes, cumulative, sorting, and over
windows (pooling) with the window primitives that pooling's derivatives emit.

A max pool over the middle axes of a rank 3-5 float tensor (what
`MaxPooling*D` emits) is one `tf.nn.max_pool`. Other windowed reductions are
written with strided slices: the padded input is cut once per window offset
(4 slices for a 2x2 window) and the slices are reduced elementwise. That
serves any rank, stride, padding and dilation with ops every TF runtime has,
and differentiates. `select_and_scatter_add` (the
gradient of max pooling) routes each window's cotangent to the first maximal
position, as XLA does, and scatters it back by interior padding, the adjoint
of the strided slice.

Example:
  >>> RULES["reduce_sum"](None, tf.ones((2, 3)), axes=(1,)).numpy()
  array([3., 3.], dtype=float32)
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import tensorflow as tf
from jax.extend import core as jcore

from interop.tensorflow.common import (
    edge_value,
    out_dtype,
    pad,
    padding_name,
    transpose,
)


def _reduce(fn, on_bool=None):
    def rule(ctx, x, *, axes, **params):
        del ctx, params
        if not axes:
            return x
        op = on_bool if x.dtype == tf.bool and on_bool is not None else fn
        return op(x, [int(a) for a in axes])

    return rule


def _arg(fn):
    """`argmax` / `argmin`; as in JAX (and NumPy), a NaN wins: its first index
    is the answer along any line that holds one (TF's kernels skip NaN)."""

    def rule(ctx, x, *, axes, index_dtype):
        del index_dtype
        axis = int(axes[0])
        if x.dtype == tf.bool:
            x = tf.cast(x, tf.int32)
        found = fn(x, axis=axis, output_type=tf.int64)
        if x.dtype.is_floating:
            nan = tf.math.is_nan(x)
            first_nan = tf.math.argmax(tf.cast(nan, tf.int32), axis=axis)
            found = tf.where(tf.reduce_any(nan, axis=axis), first_nan, found)
        return tf.cast(found, out_dtype(ctx))

    return rule


def _reduce_xor(ctx, x, *, axes):
    """Parity for booleans, bitwise xor for integers, folded pairwise over the
    reduced axes (TF has no xor reduction)."""
    del ctx
    if not axes:
        return x
    if x.dtype == tf.bool:
        count = tf.reduce_sum(tf.cast(x, tf.int64), [int(a) for a in axes])
        return tf.equal(count % 2, 1)
    kept = [d for d in range(x.ndim) if d not in axes]
    x = tf.transpose(x, [*kept, *axes])
    x = tf.reshape(x, [*x.shape[: len(kept)], -1])
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        folded = tf.bitwise.bitwise_xor(x[..., :half], x[..., half : 2 * half])
        x = tf.concat([folded, x[..., 2 * half :]], axis=-1)
    return x[..., 0] if x.shape[-1] else tf.zeros(x.shape[:-1], x.dtype)


def _cumulative(fn):
    def rule(ctx, x, *, axis, reverse):
        del ctx
        return fn(x, axis=int(axis), reverse=bool(reverse))

    return rule


def _logaddexp(a, b):
    top = tf.maximum(a, b)
    tail = tf.math.log1p(tf.exp(-tf.abs(a - b)))
    return tf.where(tf.math.is_inf(top), top, top + tail)


def _scan_by_doubling(combine, kind: str):
    """An inclusive scan in log2(n) steps of shift-and-combine."""

    def rule(ctx, x, *, axis, reverse):
        del ctx
        axis = int(axis)
        if reverse:
            x = tf.reverse(x, [axis])
        n, shift = int(x.shape[axis]), 1
        edge = edge_value(x.dtype, kind)
        while shift < n:
            config = [(0, 0, 0)] * len(x.shape)
            config[axis] = (shift, -shift, 0)
            x = combine(x, pad(x, edge, config))
            shift *= 2
        return tf.reverse(x, [axis]) if reverse else x

    return rule


def _sort(ctx, *operands, dimension, is_stable, num_keys):
    """A stable sort by the first `num_keys` operands, lexicographically."""
    del ctx, is_stable
    rank = len(operands[0].shape)
    perm = [d for d in range(rank) if d != dimension] + [dimension]
    moved = [transpose(x, perm) for x in operands]
    order = None
    for key in reversed(moved[:num_keys]):
        if order is not None:
            key = tf.gather(key, order, batch_dims=rank - 1)
        if key.dtype == tf.bool:
            key = tf.cast(key, tf.int32)
        step = tf.argsort(key, axis=-1, stable=True)
        order = step if order is None else tf.gather(order, step, batch_dims=rank - 1)
    back = [perm.index(d) for d in range(rank)]
    return [transpose(tf.gather(x, order, batch_dims=rank - 1), back) for x in moved]


def _top_k(ctx, x, *, k, axis=-1, **params):
    del params
    rank = len(x.shape)
    axis = int(axis) % rank
    perm = [d for d in range(rank) if d != axis] + [axis]
    back = [perm.index(d) for d in range(rank)]
    values, indices = tf.math.top_k(transpose(x, perm), int(k))
    return [
        transpose(values, back),
        transpose(tf.cast(indices, out_dtype(ctx, 1)), back),
    ]


def _windows(
    x,
    edge,
    window_dimensions,
    window_strides,
    padding,
    base_dilation=None,
    window_dilation=None,
):
    """`([(start, slice) per window offset, row-major], padded x)`."""
    rank = len(window_dimensions)
    base_dilation = base_dilation or (1,) * rank
    window_dilation = window_dilation or (1,) * rank
    config = [(lo, hi, b - 1) for (lo, hi), b in zip(padding, base_dilation)]
    x = pad(x, edge, config)
    shape = [int(s) for s in x.shape]
    counts = [
        (n - (w - 1) * d - 1) // s + 1
        for n, w, d, s in zip(shape, window_dimensions, window_dilation, window_strides)
    ]
    found = []
    for offset in itertools.product(*map(range, window_dimensions)):
        begin = [o * d for o, d in zip(offset, window_dilation)]
        end = [b + (c - 1) * s + 1 for b, c, s in zip(begin, counts, window_strides)]
        found.append((begin, tf.strided_slice(x, begin, end, list(window_strides))))
    return found, x


_MAX_POOL_RANKS = (3, 4, 5)  # NWC, NHWC, NDHWC


def _max_pool(x, window_dimensions, window_strides, padding, **dilations):
    """`tf.nn.max_pool` for a window over the middle axes (one TF op, which
    grappler and TFLite know), or None for any other window."""
    dims, strides = list(window_dimensions), list(window_strides)
    rank = len(dims)
    if rank not in _MAX_POOL_RANKS or not x.dtype.is_floating:
        return None
    if any(d != 1 for v in dilations.values() for d in (v or ())):
        return None
    if dims[0] != 1 or dims[-1] != 1 or strides[0] != 1 or strides[-1] != 1:
        return None
    if tuple(padding[0]) != (0, 0) or tuple(padding[-1]) != (0, 0):
        return None
    if not x.shape.is_fully_defined():
        return None
    name = padding_name(padding[1:-1], x.shape[1:-1], dims[1:-1], strides[1:-1])
    if name is None:
        x = pad(x, edge_value(x.dtype, "max"), [(lo, hi, 0) for lo, hi in padding])
        name = "VALID"
    return tf.nn.max_pool(x, dims[1:-1], strides[1:-1], name)


def _reduce_window_with(combine, kind: str):
    def rule(ctx, x, **window):
        del ctx
        if kind == "max":
            pooled = _max_pool(x, **window)
            if pooled is not None:
                return pooled
        slices = [s for _, s in _windows(x, edge_value(x.dtype, kind), **window)[0]]
        return functools.reduce(combine, slices)

    return rule


def _reduce_window_sum(ctx, x, **window):
    del ctx
    return tf.add_n([s for _, s in _windows(x, 0, **window)[0]])


def _reduce_window(ctx, *operands_and_inits, jaxpr, consts, **window):
    """The general form: any reduction `jaxpr`, over several operands."""
    half = len(operands_and_inits) // 2
    operands, inits = operands_and_inits[:half], operands_and_inits[half:]
    computation = jcore.ClosedJaxpr(jaxpr, consts)
    per_operand = [
        [s for _, s in _windows(x, v, **window)[0]] for x, v in zip(operands, inits)
    ]
    acc = [
        tf.broadcast_to(tf.cast(v, x.dtype), s[0].shape)
        for v, x, s in zip(inits, operands, per_operand)
    ]
    for slices in zip(*per_operand):
        acc = ctx.run(computation, *acc, *slices)
    return acc


def _first_best(slices, select_prim):
    """Per window, a mask per offset that is True at the first selected value."""
    better = tf.maximum if select_prim.name == "ge" else tf.minimum
    best = functools.reduce(better, slices)
    taken = tf.zeros_like(best, tf.bool)
    masks = []
    for s in slices:
        hit = tf.logical_and(tf.equal(s, best), tf.logical_not(taken))
        taken = tf.logical_or(taken, hit)
        masks.append(hit)
    return masks


def _select_and_scatter_add(
    ctx, source, operand, *, select_prim, window_dimensions, window_strides, padding
):
    del ctx
    kind = "max" if select_prim.name == "ge" else "min"
    found, padded = _windows(
        operand,
        edge_value(operand.dtype, kind),
        window_dimensions,
        window_strides,
        padding,
    )
    masks = _first_best([s for _, s in found], select_prim)
    zero = tf.zeros_like(source)
    total = None
    for (begin, _), hit in zip(found, masks):
        spread = [
            (b, int(n) - b - (int(c) - 1) * s - 1, s - 1)
            for b, n, c, s in zip(begin, padded.shape, source.shape, window_strides)
        ]
        part = pad(tf.where(hit, source, zero), 0, spread)
        total = part if total is None else total + part
    return pad(total, 0, [(-lo, -hi, 0) for lo, hi in padding])


def _select_and_gather_add(ctx, tangents, operand, *, select_prim, **window):
    del ctx
    kind = "max" if select_prim.name == "ge" else "min"
    chosen, _ = _windows(operand, edge_value(operand.dtype, kind), **window)
    offered, _ = _windows(tangents, 0, **window)
    masks = _first_best([s for _, s in chosen], select_prim)
    zero = tf.zeros_like(offered[0][1])
    return tf.add_n([tf.where(m, t, zero) for m, (_, t) in zip(masks, offered)])


RULES: dict[str, Any] = {
    "reduce_sum": _reduce(tf.reduce_sum),
    "reduce_prod": _reduce(tf.reduce_prod),
    "reduce_max": _reduce(tf.reduce_max, tf.reduce_any),
    "reduce_min": _reduce(tf.reduce_min, tf.reduce_all),
    "reduce_and": _reduce(tf.reduce_all),
    "reduce_or": _reduce(tf.reduce_any),
    "reduce_xor": _reduce_xor,
    "argmax": _arg(tf.math.argmax),
    "argmin": _arg(tf.math.argmin),
    "cumsum": _cumulative(tf.math.cumsum),
    "cumprod": _cumulative(tf.math.cumprod),
    "cummax": _scan_by_doubling(tf.maximum, "max"),
    "cummin": _scan_by_doubling(tf.minimum, "min"),
    "cumlogsumexp": _scan_by_doubling(_logaddexp, "max"),
    "sort": _sort,
    "top_k": _top_k,
    "reduce_window_sum": _reduce_window_sum,
    "reduce_window_max": _reduce_window_with(tf.maximum, "max"),
    "reduce_window_min": _reduce_window_with(tf.minimum, "min"),
    "reduce_window": _reduce_window,
    "select_and_scatter_add": _select_and_scatter_add,
    "select_and_gather_add": _select_and_gather_add,
}
