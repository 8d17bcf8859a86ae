"""What the TensorFlow rule tables share: dtypes, physical shapes, index grids.

A JAX key array (`key<fry>[...]`) is carried as its `uint32` data with one
trailing axis of 2, so a rule that moves axes around sees one more axis than
the equation's aval has; `physical_shape` gives the carried shape.

Example:
  >>> import jax.numpy as jnp
  >>> tf_dtype(jnp.bfloat16).name
  'bfloat16'
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
import tensorflow as tf

# True while a custom rule's gradient is built: constants made then belong to
# that graph, since TF cannot differentiate a while loop whose gradient
# captures eager tensors.
GRAPH_LOCAL_CONSTANTS = contextvars.ContextVar("graph_local_constants", default=False)


def is_key(aval: Any) -> bool:
    """Whether `aval` is a typed PRNG key array (carried as `uint32[..., 2]`)."""
    return jax.dtypes.issubdtype(aval.dtype, jax.dtypes.prng_key)


def tf_dtype(dtype: Any) -> tf.DType:
    """The TensorFlow dtype of a NumPy/JAX dtype (key types carry `uint32`)."""
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return tf.uint32
    return tf.as_dtype(np.dtype(dtype))


def physical_shape(aval: Any) -> tuple[int, ...]:
    """The shape of the tensor carrying `aval` (a trailing 2 for key arrays)."""
    return (*aval.shape, 2) if is_key(aval) else tuple(aval.shape)


def out_shape(ctx: Any, i: int = 0) -> tuple[int, ...]:
    """The carried shape of the equation's `i`-th result."""
    return physical_shape(ctx.out_avals[i])


def out_dtype(ctx: Any, i: int = 0) -> tf.DType:
    """The TensorFlow dtype of the equation's `i`-th result."""
    return tf_dtype(ctx.out_avals[i].dtype)


def in_shape(ctx: Any, i: int) -> tuple[int, ...]:
    """The carried shape of the equation's `i`-th operand."""
    return physical_shape(ctx.eqn.invars[i].aval)


def extra_axes(ctx: Any, i: int = 0) -> int:
    """1 when operand `i` is a key array (its trailing data axis), else 0."""
    return int(is_key(ctx.eqn.invars[i].aval))


def transpose(x: tf.Tensor, perm: Sequence[int]) -> tf.Tensor:
    """`tf.transpose`, skipped for the identity permutation."""
    perm = [int(p) for p in perm]
    return x if perm == sorted(perm) else tf.transpose(x, perm)


def grid(shape: Sequence[int], axis: int, dtype: tf.DType = tf.int64) -> tf.Tensor:
    """The coordinate along `axis` of every position of `shape` (an iota)."""
    shape = [int(s) for s in shape]
    line = tf.range(shape[axis], dtype=dtype)
    sizes = [1] * len(shape)
    sizes[axis] = shape[axis]
    return tf.broadcast_to(tf.reshape(line, sizes), shape)


def place(t: tf.Tensor, rank: int, axes: Sequence[int]) -> tf.Tensor:
    """Reshapes `t` (one axis per entry of `axes`) to `rank` axes, its own at
    `axes` and size 1 elsewhere, ready to broadcast."""
    sizes = [1] * rank
    for axis, size in zip(axes, t.shape):
        sizes[axis] = int(size)
    return tf.reshape(t, sizes)


def edge_value(dtype: tf.DType, kind: str) -> Any:
    """The identity of a `max`/`min` reduction, or a gather's default fill."""
    np_dtype = np.dtype(dtype.as_numpy_dtype)
    if np_dtype == np.bool_:
        return kind == "min" or kind == "fill"
    if np.issubdtype(np_dtype, np.integer):
        info = np.iinfo(np_dtype)
        if kind == "fill":
            return info.max if np.issubdtype(np_dtype, np.unsignedinteger) else info.min
        return info.min if kind == "max" else info.max
    if kind == "fill":
        return np.nan
    return -np.inf if kind == "max" else np.inf


def constant_like(value: Any, x: tf.Tensor) -> tf.Tensor:
    """A scalar `value` in `x`'s dtype."""
    return tf.constant(np.asarray(value, x.dtype.as_numpy_dtype))


def pad(x: tf.Tensor, value: Any, config: Sequence[Sequence[int]]) -> tf.Tensor:
    """`lax.pad`: per axis `(low, high, interior)`; negative edges crop.

    A float tensor `value` is placed with `tf.where`, so that (unlike
    `tf.pad`'s `constant_values`) gradients reach it.
    """
    if tf.is_tensor(value) and x.dtype.is_floating:
        inside = pad(tf.ones_like(x, tf.bool), False, config)
        return tf.where(inside, pad(x, 0, config), tf.cast(value, x.dtype))
    value = tf.cast(value, x.dtype) if tf.is_tensor(value) else constant_like(value, x)
    for axis, (_, _, interior) in enumerate(config):
        n = int(x.shape[axis])
        if interior and n:
            x = _interleave(x, value, axis, n, int(interior))
    grow = [[max(int(lo), 0), max(int(hi), 0)] for lo, hi, _ in config]
    if any(any(p) for p in grow):
        x = tf.pad(x, grow, constant_values=value)
    if any(lo < 0 or hi < 0 for lo, hi, _ in config):
        begin = [max(-int(lo), 0) for lo, _, _ in config]
        end = [int(s) - max(-int(hi), 0) for s, (_, hi, _) in zip(x.shape, config)]
        x = tf.strided_slice(x, begin, end)
    return x


def _interleave(x: tf.Tensor, value: Any, axis: int, n: int, interior: int):
    shape = [int(s) for s in x.shape]
    x = tf.expand_dims(x, axis + 1)
    rank = len(shape) + 1
    widths = [[0, 0]] * rank
    widths[axis + 1] = [0, interior]
    x = tf.pad(x, widths, constant_values=value)
    x = tf.reshape(x, [*shape[:axis], n * (interior + 1), *shape[axis + 1 :]])
    return tf.strided_slice(
        x,
        [0] * len(shape),
        [*shape[:axis], n * (interior + 1) - interior, *shape[axis + 1 :]],
    )


def same_padding(
    sizes: Sequence[int],
    window: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int] | None = None,
) -> list[tuple[int, int]]:
    """The `(low, high)` padding per axis that TF's `"SAME"` gives a window of
    `window` taps (`dilation` apart) sliding by `strides` over `sizes`."""
    dilation = dilation or [1] * len(window)
    pads = []
    for n, k, s, d in zip(sizes, window, strides, dilation):
        span = (int(k) - 1) * int(d) + 1
        total = max((-(-int(n) // int(s)) - 1) * int(s) + span - int(n), 0)
        pads.append((total // 2, total - total // 2))
    return pads


def padding_name(
    padding: Sequence[Sequence[int]],
    sizes: Sequence[int],
    window: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int] | None = None,
) -> str | None:
    """`"VALID"` or `"SAME"` when `padding` (per axis `(low, high)`) is what
    that name means for this window, so TF's op pads (a convolution's
    `Conv2D`, a pooling's `MaxPool`) without a `Pad` op; else None."""
    pads = [(int(lo), int(hi)) for lo, hi in padding]
    if all(p == (0, 0) for p in pads):
        return "VALID"
    if pads == same_padding(sizes, window, strides, dilation):
        return "SAME"
    return None


def size(shape: Sequence[int]) -> int:
    """The number of elements of `shape`."""
    return math.prod(int(s) for s in shape)
