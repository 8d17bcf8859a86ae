"""torch rules for XLA's `gather` and the `scatter` family, any dimension
numbers (batching dimensions included) and any index mode.

A gather builds one broadcast index tensor per operand axis and reads with
advanced indexing; the common lookup along a single axis (`x[idx]`,
`jnp.take`, an Embedding) is one `index_select`. A scatter turns each update
window into flat operand positions and adds (or writes) with `index_add` /
`index_put`; out-of-bounds windows under `FILL_OR_DROP` go to a spare slot
that is dropped. As in XLA, a gather clamps its starts unless told to fill,
and a scatter drops out-of-bounds windows unless told to clip.

Example:
  >>> import jax, jax.numpy as jnp, torch, interop
  >>> take = interop.lower(lambda x, i: x[i], jnp.ones((4, 2)),
  ...                      jnp.zeros(3, "int32"), backend="torch")
  >>> take(torch.arange(8.0).reshape(4, 2), torch.tensor([3, 0, 9])).tolist()
  [[6.0, 7.0], [0.0, 1.0], [6.0, 7.0]]
"""

from __future__ import annotations

import numpy as np
import torch
from jax import lax

_FILL = lax.GatherScatterMode.FILL_OR_DROP
_CLIP = lax.GatherScatterMode.CLIP


def _default_fill(dtype):
    if dtype.is_floating_point:
        return float("nan")
    if dtype == torch.bool:
        return True
    return torch.iinfo(dtype).min


def _starts(indices, bounds, drop):
    """Clamped int64 start indices, and (when `drop`) a mask of in-bounds rows."""
    starts = indices.to(torch.int64)
    top = torch.tensor(bounds, dtype=torch.int64, device=indices.device)
    valid = ((starts >= 0) & (starts <= top)).all(-1) if drop else None
    return torch.minimum(starts.clamp(min=0), top), valid


def _gather(
    ctx, operand, indices, *, dimension_numbers, slice_sizes, mode, fill_value=None, **_
):
    dn = dimension_numbers
    starts_map, collapsed = tuple(dn.start_index_map), tuple(dn.collapsed_slice_dims)
    o_batch, i_batch = (
        tuple(dn.operand_batching_dims),
        tuple(dn.start_indices_batching_dims),
    )
    batch = tuple(indices.shape[:-1])
    window = [d for d in range(operand.ndim) if d not in collapsed and d not in o_batch]
    bounds = [operand.shape[d] - slice_sizes[d] for d in starts_map]
    starts, valid = _starts(
        indices, bounds, lax.GatherScatterMode.from_any(mode) == _FILL
    )
    full = all(slice_sizes[d] == operand.shape[d] for d in window)
    if len(starts_map) == 1 and collapsed == starts_map and not o_batch and full:
        axis = starts_map[0]
        out = operand.index_select(axis, starts.reshape(-1))
        out = out.reshape((*operand.shape[:axis], *batch, *operand.shape[axis + 1 :]))
        order = [
            *range(axis, axis + len(batch)),
            *range(axis),
            *range(axis + len(batch), out.ndim),
        ]
        out = out.permute(order)  # batch axes first, then the window axes
    else:
        nb, nw = len(batch), len(window)
        index = []
        for d in range(operand.ndim):
            if d in starts_map:
                at = starts[..., starts_map.index(d)].reshape((*batch, *[1] * nw))
            elif d in o_batch:
                j = i_batch[o_batch.index(d)]
                shape = [1] * (nb + nw)
                shape[j] = batch[j]
                at = torch.arange(batch[j], device=operand.device).reshape(shape)
            else:
                at = None
            if d in window:
                w = window.index(d)
                shape = [1] * (nb + nw)
                shape[nb + w] = slice_sizes[d]
                offsets = torch.arange(slice_sizes[d], device=operand.device)
                offsets = offsets.reshape(shape)
                at = offsets if at is None else at + offsets
            elif at is None:
                at = torch.zeros((), dtype=torch.int64, device=operand.device)
            index.append(at)
        out = operand[tuple(index)]
    if valid is not None:
        fill = _default_fill(operand.dtype) if fill_value is None else fill_value
        mask = valid.reshape((*batch, *[1] * (out.ndim - len(batch))))
        out = torch.where(mask, out, fill)
    return out.permute(_output_order(out.ndim, tuple(dn.offset_dims)))


def _output_order(ndim, offset_dims):
    """Permutation from (batch..., window...) to XLA's output axis order."""
    nb = ndim - len(offset_dims)
    batch = iter(range(nb))
    return [
        nb + offset_dims.index(p) if p in offset_dims else next(batch)
        for p in range(ndim)
    ]


def _scatter_positions(operand, indices, updates, dn, mode):
    """`(flat positions, updates)`, both shaped (scatter..., window...), with
    dropped windows sent to position `operand.numel()`."""
    window_axes = tuple(dn.update_window_dims)
    inserted, to_operand = (
        tuple(dn.inserted_window_dims),
        tuple(dn.scatter_dims_to_operand_dims),
    )
    o_batch, i_batch = (
        tuple(dn.operand_batching_dims),
        tuple(dn.scatter_indices_batching_dims),
    )
    scatter_axes = [u for u in range(updates.ndim) if u not in window_axes]
    updates = updates.permute(scatter_axes + list(window_axes))
    batch = tuple(indices.shape[:-1])
    nb, nw = len(batch), len(window_axes)
    window = [d for d in range(operand.ndim) if d not in inserted and d not in o_batch]
    sizes = {d: updates.shape[nb + w] for w, d in enumerate(window)}
    bounds = [operand.shape[d] - sizes.get(d, 1) for d in to_operand]
    starts, valid = _starts(
        indices, bounds, lax.GatherScatterMode.from_any(mode) != _CLIP
    )
    strides = np.cumprod((1, *operand.shape[::-1]))[::-1][1:]
    position = torch.zeros((), dtype=torch.int64, device=operand.device)
    for d in range(operand.ndim):
        at = None
        if d in to_operand:
            at = starts[..., to_operand.index(d)].reshape((*batch, *[1] * nw))
        elif d in o_batch:
            j = i_batch[o_batch.index(d)]
            shape = [1] * (nb + nw)
            shape[j] = batch[j]
            at = torch.arange(batch[j], device=operand.device).reshape(shape)
        if d in sizes:
            shape = [1] * (nb + nw)
            shape[nb + window.index(d)] = sizes[d]
            offsets = torch.arange(sizes[d], device=operand.device).reshape(shape)
            at = offsets if at is None else at + offsets
        if at is not None:
            position = position + at * int(strides[d])
    position = position.expand(updates.shape)
    if valid is not None:
        spare = torch.full_like(position, operand.numel())
        position = torch.where(valid.reshape((*batch, *[1] * nw)), position, spare)
    return position.reshape(-1), updates.reshape(-1)


def _scatter(kind):
    def rule(ctx, operand, indices, updates, *, dimension_numbers, mode, **_):
        position, values = _scatter_positions(
            operand, indices, updates, dimension_numbers, mode
        )
        flat = torch.cat([operand.reshape(-1), operand.new_zeros(1)])
        if kind == "add":
            flat = flat.index_add(0, position, values)
        elif kind == "sub":
            flat = flat.index_add(0, position, -values)
        elif kind == "set":
            flat = flat.index_put((position,), values)
        else:
            flat = flat.scatter_reduce(0, position, values, kind, include_self=True)
        return flat[:-1].reshape(operand.shape)

    return rule


RULES = {
    "gather": _gather,
    "scatter": _scatter("set"),
    "scatter-add": _scatter("add"),
    "scatter-sub": _scatter("sub"),
    "scatter-mul": _scatter("prod"),
    "scatter-min": _scatter("amin"),
    "scatter-max": _scatter("amax"),
}
