"""torch rules for reductions, scans along an axis, sorting and `dot_general`.

`dot_general` takes the direct route for the plain matrix products that
layers emit (`x @ w`, `x @ w.T`, `x.T @ g`) and `torch.einsum` with cached
subscripts for any other dimension numbers.

Example:
  >>> import torch
  >>> from interop.lowering import RuleContext
  >>> ctx = RuleContext(eqn=None, run=None)
  >>> RULES["cumsum"](ctx, torch.tensor([1, 2, 3]), axis=0, reverse=True)
  tensor([6, 5, 3])
"""

from __future__ import annotations

import functools
import string

import torch

from interop.torch.dtypes import MASKS, torch_dtype


def _masked(ctx, out):
    mask = MASKS.get(ctx.eqn.outvars[0].aval.dtype)
    return out if mask is None else out & mask


def _reduce_sum(ctx, x, *, axes, **_):
    if not axes:
        return x
    return _masked(ctx, torch.sum(x, dim=tuple(axes), dtype=x.dtype))


def _reduce_max(ctx, x, *, axes, **_):
    return torch.amax(x, dim=tuple(axes)) if axes else x


def _reduce_min(ctx, x, *, axes, **_):
    return torch.amin(x, dim=tuple(axes)) if axes else x


def _reduce_prod(ctx, x, *, axes, **_):
    for axis in sorted(axes, reverse=True):
        x = torch.prod(x, dim=axis, dtype=x.dtype)
    return _masked(ctx, x)


def _reduce_and(ctx, x, *, axes, **_):
    return torch.all(x, dim=tuple(axes)) if axes else x


def _reduce_or(ctx, x, *, axes, **_):
    return torch.any(x, dim=tuple(axes)) if axes else x


def _reduce_xor(ctx, x, *, axes, **_):
    """Parity for booleans, bitwise xor for integers (torch has no xor
    reduction: the reduced axes are flattened and folded pairwise)."""
    if not axes:
        return x
    if x.dtype == torch.bool:
        return torch.sum(x.to(torch.int64), dim=tuple(axes)) % 2 == 1
    kept = [d for d in range(x.ndim) if d not in axes]
    x = x.permute(*kept, *axes).flatten(len(kept))
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        folded = torch.bitwise_xor(x[..., :half], x[..., half : 2 * half])
        x = torch.cat([folded, x[..., 2 * half :]], dim=-1)
    return (
        x[..., 0]
        if x.shape[-1]
        else torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
    )


def _arg(fn):
    def rule(ctx, x, *, axes, index_dtype, **_):
        if x.dtype == torch.bool:  # torch's kernels take no booleans
            x = x.to(torch.uint8)
        return fn(x, dim=axes[0]).to(torch_dtype(index_dtype))

    return rule


def _cumulative(fn):
    def rule(ctx, x, *, axis, reverse, **_):
        if reverse:
            return torch.flip(fn(torch.flip(x, (axis,)), axis), (axis,))
        return fn(x, axis)

    return rule


def _cumsum(x, axis):
    return torch.cumsum(x, axis, dtype=x.dtype)


def _cumprod(x, axis):
    return torch.cumprod(x, axis, dtype=x.dtype)


def _cummax(x, axis):
    return torch.cummax(x, axis).values


def _cummin(x, axis):
    return torch.cummin(x, axis).values


def _sort(ctx, *operands, dimension, num_keys, **_):
    if len(operands) == 1:
        return [torch.sort(operands[0], dim=dimension, stable=True).values]
    order = None
    for key in reversed(operands[:num_keys]):  # least significant key first
        if order is not None:
            key = torch.take_along_dim(key, order, dimension)
        step = torch.sort(key, dim=dimension, stable=True).indices
        order = step if order is None else torch.take_along_dim(order, step, dimension)
    return [torch.take_along_dim(x, order, dimension) for x in operands]


def _top_k(ctx, x, *, k, axis=-1, **_):
    values, indices = torch.sort(x, dim=axis, descending=True, stable=True)
    index_dtype = torch_dtype(ctx.eqn.outvars[1].aval.dtype)
    return [values.narrow(axis, 0, k), indices.narrow(axis, 0, k).to(index_dtype)]


@functools.lru_cache(maxsize=512)
def _subscripts(dimension_numbers, lhs_ndim: int, rhs_ndim: int) -> str:
    """The einsum equation of a `dot_general`: batch, lhs free, rhs free."""
    (lc, rc), (lb, rb) = dimension_numbers
    letters = iter(string.ascii_letters)
    lhs = [next(letters) for _ in range(lhs_ndim)]
    rhs = [""] * rhs_ndim
    for a, b in zip(lc, rc):
        rhs[b] = lhs[a]
    for a, b in zip(lb, rb):
        rhs[b] = lhs[a]
    rhs = [c or next(letters) for c in rhs]
    out = [lhs[a] for a in lb]
    out += [c for i, c in enumerate(lhs) if i not in lc and i not in lb]
    out += [c for i, c in enumerate(rhs) if i not in rc and i not in rb]
    return f"{''.join(lhs)},{''.join(rhs)}->{''.join(out)}"


def _as_key(dimension_numbers):
    return tuple(
        tuple(tuple(int(d) for d in dims) for dims in pair)
        for pair in dimension_numbers
    )


def _dot_general(ctx, lhs, rhs, *, dimension_numbers, preferred_element_type=None, **_):
    (lc, rc), (lb, rb) = dimension_numbers
    target = lhs.dtype
    if preferred_element_type is not None:
        target = torch_dtype(preferred_element_type)
        if not lhs.dtype.is_floating_point:
            lhs, rhs = lhs.to(target), rhs.to(target)
    last = lhs.ndim - 1
    if not lb and rhs.ndim == 2 and len(lc) == 1 and lc[0] == last:
        out = lhs @ rhs if rc[0] == 0 else lhs @ rhs.T
    elif not lb and lhs.ndim == rhs.ndim == 2 and tuple(lc) == tuple(rc) == (0,):
        out = lhs.T @ rhs
    else:
        key = _as_key(dimension_numbers)
        out = torch.einsum(_subscripts(key, lhs.ndim, rhs.ndim), lhs, rhs)
    return out if out.dtype == target else out.to(target)


RULES = {
    "reduce_sum": _reduce_sum,
    "reduce_max": _reduce_max,
    "reduce_min": _reduce_min,
    "reduce_prod": _reduce_prod,
    "reduce_and": _reduce_and,
    "reduce_or": _reduce_or,
    "reduce_xor": _reduce_xor,
    "argmax": _arg(torch.argmax),
    "argmin": _arg(torch.argmin),
    "cumsum": _cumulative(_cumsum),
    "cumprod": _cumulative(_cumprod),
    "cummax": _cumulative(_cummax),
    "cummin": _cumulative(_cummin),
    "cumlogsumexp": _cumulative(torch.logcumsumexp),
    "sort": _sort,
    "top_k": _top_k,
    "dot_general": _dot_general,
}
