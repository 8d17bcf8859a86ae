"""torch rules for primitives that move data without arithmetic: broadcasts,
reshapes, transposes, slices (static and dynamic), padding, concatenation.

Broadcasts return expanded views (no copy); dynamic slice starts are clamped
into range as XLA does, with tensor arithmetic (no host round trip).

Example:
  >>> import torch, interop
  >>> rows = interop.lower(lambda x: jnp.broadcast_to(x, (3, 2)),
  ...                      np.zeros(2, "int32"), backend="torch")
  >>> rows(torch.tensor([1, 2], dtype=torch.int32)).tolist()
  [[1, 2], [1, 2], [1, 2]]
"""

from __future__ import annotations

import jax
import numpy as np
import torch
import torch.nn.functional as F

from interop.torch.elementwise import literal


def key_data_shape(aval) -> tuple[int, ...]:
    """The trailing axes a value of `aval` has beyond its shape: `(2,)` for a
    threefry key array (kept as its raw uint32 words), else `()`."""
    if isinstance(aval.dtype, np.dtype):  # the common case, checked fast
        return ()
    return (2,) if jax.dtypes.issubdtype(aval.dtype, jax.dtypes.prng_key) else ()


def _out_shape(ctx) -> tuple[int, ...]:
    aval = ctx.eqn.outvars[0].aval
    return (*aval.shape, *key_data_shape(aval))


def _broadcast_in_dim(ctx, x, *, shape, broadcast_dimensions, **_):
    shape = _out_shape(ctx)
    if x.ndim == len(shape):
        return x.expand(shape)
    view = [1] * len(shape)
    trailing = range(len(broadcast_dimensions), x.ndim)  # a key's words
    dims = [*broadcast_dimensions, *(len(shape) - x.ndim + i for i in trailing)]
    for i, d in enumerate(dims):
        view[d] = x.shape[i]
    return x.reshape(view).expand(shape)


def _reshape(ctx, x, *, new_sizes, dimensions=None, **_):
    if dimensions is not None:
        x = x.permute(*dimensions, *range(len(dimensions), x.ndim))
    return x.reshape(_out_shape(ctx))


def _to_out_shape(ctx, x, **_):
    return x.reshape(_out_shape(ctx))


def _transpose(ctx, x, *, permutation, **_):
    return x.permute(*permutation, *range(len(permutation), x.ndim))


def _rev(ctx, x, *, dimensions, **_):
    return torch.flip(x, tuple(dimensions)) if dimensions else x


def _concatenate(ctx, *xs, dimension, **_):
    return torch.cat(xs, dimension)


def interior(x, interiors, value):
    """`x` with `interiors[d]` copies of `value` between neighbours along each d."""
    if not any(interiors):
        return x
    shape = [(n - 1) * (i + 1) + 1 if n else 0 for n, i in zip(x.shape, interiors)]
    out = torch.full(shape, value, dtype=x.dtype, device=x.device)
    out[tuple(slice(None, None, i + 1) for i in interiors)] = x
    return out


def pad(x, config, value):
    """Pads `x` by `config` = per-dim `(low, high, interior)`, any signs of
    low/high (negative crops), with the Python scalar `value`."""
    config = [(int(lo), int(hi), int(i)) for lo, hi, i in config]
    x = interior(x, [i for _, _, i in config], value)
    flat = [p for lo, hi, _ in reversed(config) for p in (lo, hi)]
    if not any(flat):
        return x
    return F.pad(x, flat, value=value)


def _pad(ctx, x, value, *, padding_config, **_):
    known = literal(ctx, 1)
    if known is not None:
        return pad(x, padding_config, np.asarray(known).item())
    inside = pad(torch.ones_like(x, dtype=torch.uint8), padding_config, 0) > 0
    return torch.where(inside, pad(x, padding_config, 0), value)


def _slice(ctx, x, *, start_indices, limit_indices, strides=None, **_):
    strides = strides or (1,) * x.ndim
    return x[
        tuple(
            slice(s, e, st) for s, e, st in zip(start_indices, limit_indices, strides)
        )
    ]


def _starts(ctx, x, starts, sizes, first):
    """Per dim: a clamped Python int start, or a clamped 0-d int64 tensor."""
    out = []
    for d, (start, size) in enumerate(zip(starts, sizes)):
        top = x.shape[d] - size
        known = literal(ctx, first + d)
        if known is not None:
            out.append(min(max(int(known), 0), top))
        else:
            out.append(start.to(torch.int64).clamp(0, top))
    return out


def _dynamic_slice(ctx, x, *starts, slice_sizes, **_):
    for d, start in enumerate(_starts(ctx, x, starts, slice_sizes, 1)):
        size = slice_sizes[d]
        if size == x.shape[d]:
            continue
        if isinstance(start, int):
            x = x.narrow(d, start, size)
        else:
            x = x.index_select(d, start + torch.arange(size, device=x.device))
    return x


def _dynamic_update_slice(ctx, x, update, *starts, **_):
    sizes = update.shape
    found = _starts(ctx, x, starts, sizes, 2)
    if all(isinstance(s, int) for s in found):
        out = x.clone()
        out[tuple(slice(s, s + n) for s, n in zip(found, sizes))] = update
        return out
    index = []
    for d, (start, size) in enumerate(zip(found, sizes)):
        view = [1] * len(found)
        view[d] = size
        index.append((start + torch.arange(size, device=x.device)).reshape(view))
    return x.index_put(tuple(index), update)


def _split(ctx, x, *, sizes, axis, **_):
    return list(torch.split(x, [int(s) for s in sizes], axis))


def _tile(ctx, x, *, reps, **_):
    return x.repeat(tuple(reps))


def _stack(ctx, *xs, axis, **_):
    return torch.stack(xs, axis)


def _unstack(ctx, x, *, axis, **_):
    return list(torch.unbind(x, axis))


def _iota(ctx, *, dtype, shape, dimension, **_):
    view = [1] * len(shape)
    view[dimension] = shape[dimension]
    values = np.arange(shape[dimension]).reshape(view)
    return ctx.constant(np.broadcast_to(values, shape).astype(dtype))


def _empty(ctx, *_, **__):
    aval = ctx.eqn.outvars[0].aval
    return ctx.constant(np.zeros(aval.shape, aval.dtype))


RULES = {
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": _reshape,
    "squeeze": _to_out_shape,
    "expand_dims": _to_out_shape,
    "transpose": _transpose,
    "rev": _rev,
    "concatenate": _concatenate,
    "pad": _pad,
    "slice": _slice,
    "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice,
    "split": _split,
    "tile": _tile,
    "stack": _stack,
    "unstack": _unstack,
    "iota": _iota,
    "empty": _empty,
    "empty2": _empty,
}
