"""torch rules for windowed primitives: `conv_general_dilated` (any layout,
dilations, groups, and the transposed forms that gradients emit) and
`reduce_window_*` with their gradients `select_and_scatter_add` and
`select_and_gather_add`.

Pooling over one to three axes goes to `F.max_pool*d`/`F.avg_pool*d` (an NHWC
window becomes a channels-last view, no copy); any other window is unfolded
into a strided view and reduced.

Example:
  >>> import torch
  >>> from interop.lowering import RuleContext
  >>> ctx = RuleContext(eqn=None, run=None)
  >>> RULES["reduce_window_max"](ctx, torch.arange(6.0).reshape(1, 6),
  ...     window_dimensions=(1, 2), window_strides=(1, 2),
  ...     padding=((0, 0), (0, 0)), base_dilation=(1, 1), window_dilation=(1, 1))
  tensor([[1., 3., 5.]])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from interop.lowering import LoweringError
from interop.torch.dtypes import torch_dtype
from interop.torch.shape import interior

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {
    1: F.conv_transpose1d,
    2: F.conv_transpose2d,
    3: F.conv_transpose3d,
}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {2: F.avg_pool2d, 3: F.avg_pool3d}
_MAX_POOL_BACKWARD = {
    2: torch.ops.aten.max_pool2d_with_indices_backward,
    3: torch.ops.aten.max_pool3d_with_indices_backward,
}


def _inverse(perm):
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = i
    return out


def _pad_list(pads):
    """F.pad's flat list (last dim first) from per-dim `(low, high)`."""
    return [int(p) for lo, hi in reversed(pads) for p in (lo, hi)]


def _conv(
    ctx,
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    preferred_element_type=None,
    **_,
):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x, w = lhs.permute(lhs_spec), rhs.permute(rhs_spec)  # (N, C, *S), (O, I, *K)
    spatial = x.ndim - 2
    if spatial not in _CONV:
        raise LoweringError(
            f"conv_general_dilated over {spatial} spatial axes: torch convolves "
            f"over 1, 2 or 3."
        )
    pads = [(int(lo), int(hi)) for lo, hi in padding]
    if any(d != 1 for d in lhs_dilation):
        y = None
        if all(s == 1 for s in window_strides) and batch_group_count == 1:
            y = _transposed(x, w, lhs_dilation, pads, rhs_dilation, feature_group_count)
        if y is not None:
            return _finish(y, out_spec, preferred_element_type)
        x = interior(x, [0, 0, *(d - 1 for d in lhs_dilation)], 0)
    if all(lo == hi >= 0 for lo, hi in pads):
        conv_padding = [lo for lo, _ in pads]
    else:
        x, conv_padding = F.pad(x, _pad_list(pads)), 0
    groups = feature_group_count
    if batch_group_count > 1:  # one batch slice per group of output features
        groups, (n, c) = batch_group_count, x.shape[:2]
        x = x.reshape(groups, n // groups, c, *x.shape[2:]).transpose(0, 1)
        x = x.reshape(n // groups, groups * c, *x.shape[3:])
    if spatial == 2 and out_spec[1] == 3:  # NHWC out: compute channels-last
        x = x.contiguous(memory_format=torch.channels_last)
        w = w.contiguous(memory_format=torch.channels_last)
    y = _CONV[spatial](
        x, w, None, tuple(window_strides), conv_padding, tuple(rhs_dilation), groups
    )
    return _finish(y, out_spec, preferred_element_type)


def _finish(y, out_spec, preferred_element_type):
    if preferred_element_type is not None:
        y = y.to(torch_dtype(preferred_element_type))
    return y.permute(_inverse(out_spec))


def _transposed(x, w, lhs_dilation, pads, rhs_dilation, groups):
    """A convolution of `x` dilated by `lhs_dilation` (what gradients of
    strided convolutions emit) as the `conv_transpose` that skips the zeros;
    None when the padding has no such form."""
    sizes = w.shape[2:]
    padding, extra = [], []
    for s, (lo, hi), d, k in zip(lhs_dilation, pads, rhs_dilation, sizes):
        if not 0 <= d * (k - 1) - lo or not 0 <= hi - lo < max(s, d):
            return None
        padding.append(d * (k - 1) - lo)
        extra.append(hi - lo)
    out, per_group = w.shape[0], w.shape[1]
    w = w.reshape(groups, out // groups, per_group, *sizes).transpose(1, 2)
    w = w.reshape(groups * per_group, out // groups, *sizes)
    w = torch.flip(w, tuple(range(2, w.ndim)))
    return _CONV_TRANSPOSE[len(sizes)](
        x, w, None, tuple(lhs_dilation), padding, extra, groups, tuple(rhs_dilation)
    )


def _extreme(dtype, largest):
    if dtype.is_floating_point:
        return -math.inf if largest else math.inf
    if dtype == torch.bool:
        return not largest
    info = torch.iinfo(dtype)
    return info.min if largest else info.max


def _windows(x, dims, strides, padding, base_dilation, window_dilation, value):
    """`(view, k)`: `x` dilated and padded with `value`, unfolded into a view
    of shape `(*out_shape, *window)` whose last `k` axes are the windows."""
    x = interior(x, [int(b) - 1 for b in base_dilation], value)
    if any(lo or hi for lo, hi in padding):
        x = F.pad(x, _pad_list(padding), value=value)
    k = 0
    for d in range(x.ndim):
        span = (dims[d] - 1) * window_dilation[d] + 1
        if span == 1 and strides[d] == 1:
            continue
        x = x.unfold(d, span, strides[d])
        if window_dilation[d] > 1:
            x = x[..., :: window_dilation[d]]
        k += 1
    return x, k


def _active(x, dims, strides, padding):
    return [
        d
        for d in range(x.ndim)
        if dims[d] != 1 or strides[d] != 1 or tuple(padding[d]) != (0, 0)
    ]


def _layout(x, active):
    """`x` as `(B, C, *active)` for torch's pooling, and how to undo it."""
    passive = [d for d in range(x.ndim) if d not in active]
    perm = passive + list(active)
    x = x.permute(perm)
    lead = x.shape[: len(passive)]
    if len(passive) != 2:
        x = x.reshape(-1, 1, *x.shape[len(passive) :])
    return x, (lead, perm)


def _unlayout(y, how):
    lead, perm = how
    return y.reshape(*lead, *y.shape[2:]).permute(_inverse(perm))


def _pooled(x, active, padding, value):
    x, how = _layout(x, active)
    pads = [padding[d] for d in active]
    if any(lo or hi for lo, hi in pads):
        x = F.pad(x, _pad_list(pads), value=value)
    return x, how


def _reduce_window(reduce, largest=None):
    def rule(
        ctx,
        x,
        *,
        window_dimensions,
        window_strides,
        padding,
        base_dilation,
        window_dilation,
        **_,
    ):
        dims, strides = window_dimensions, window_strides
        value = 0 if largest is None else _extreme(x.dtype, largest)
        active = _active(x, dims, strides, padding)
        plain = all(b == 1 for b in base_dilation) and x.dtype.is_floating_point
        kernel = [dims[d] for d in active]
        stride = [strides[d] for d in active]
        if plain and largest is True and len(active) in _MAX_POOL:
            xp, how = _pooled(x, active, padding, value)
            dilation = [window_dilation[d] for d in active]
            return _unlayout(
                _MAX_POOL[len(active)](xp, kernel, stride, 0, dilation), how
            )
        no_dilation = all(w == 1 for w in window_dilation)
        if plain and largest is None and no_dilation and len(active) in _AVG_POOL:
            xp, how = _pooled(x, active, padding, value)
            pooled = _AVG_POOL[len(active)](xp, kernel, stride, divisor_override=1)
            return _unlayout(pooled, how)
        view, k = _windows(
            x, dims, strides, padding, base_dilation, window_dilation, value
        )
        return reduce(view, dim=tuple(range(-k, 0))) if k else view

    return rule


def _sum(x, dim):
    return torch.sum(x, dim=dim, dtype=x.dtype)


def _choose(windows, k, largest):
    """Index, within each flattened window, of its first max (or min)."""
    flat = windows.reshape(*windows.shape[: windows.ndim - k], -1)
    return (torch.argmax if largest else torch.argmin)(flat, dim=-1, keepdim=True)


def _select_and_scatter_add(
    ctx, source, operand, *, select_prim, window_dimensions, window_strides, padding
):
    largest = select_prim.name in ("ge", "gt")
    dims, strides = window_dimensions, window_strides
    value = _extreme(operand.dtype, largest)
    active = _active(operand, dims, strides, padding)
    if largest and operand.dtype.is_floating_point and len(active) in _MAX_POOL:
        return _max_pool_gradient(source, operand, active, dims, strides, padding)
    ones, none = (1,) * operand.ndim, [(0, 0)] * operand.ndim
    padded = F.pad(operand, _pad_list(padding), value=value)
    where = torch.arange(padded.numel(), device=operand.device).reshape(padded.shape)
    windows, k = _windows(padded, dims, strides, none, ones, ones, value)
    positions, _ = _windows(where, dims, strides, none, ones, ones, 0)
    chosen = torch.take_along_dim(
        positions.reshape(*positions.shape[: positions.ndim - k], -1),
        _choose(windows, k, largest),
        -1,
    )
    grad = source.new_zeros(padded.numel())
    grad = grad.scatter_add(0, chosen.flatten(), source.flatten())
    return _crop(grad.reshape(padded.shape), padding)


def _max_pool_gradient(source, operand, active, dims, strides, padding):
    """`select_and_scatter_add` of a max pool over 1-3 axes, by torch's own
    max-pool backward (both take the first maximum of a window)."""
    n, value = len(active), _extreme(operand.dtype, True)
    xp, how = _pooled(operand, active, padding, value)
    kernel, stride = [dims[d] for d in active], [strides[d] for d in active]
    _, index = _MAX_POOL[n](xp, kernel, stride, return_indices=True)
    src, _ = _layout(source, active)
    if n in _MAX_POOL_BACKWARD:
        grad = _MAX_POOL_BACKWARD[n](
            src, xp, kernel, stride, [0] * n, [1] * n, False, index
        )
    else:
        flat = src.new_zeros((*xp.shape[:2], math.prod(xp.shape[2:])))
        flat = flat.scatter_add(2, index.flatten(2), src.flatten(2))
        grad = flat.reshape(xp.shape)
    grad = _crop(grad, [padding[d] for d in active])
    return _unlayout(grad, how).contiguous()


def _crop(x, pads):
    """`x` without `pads` (per trailing axis `(low, high)`) at its ends."""
    crop = [slice(None)] * x.ndim
    first = x.ndim - len(pads)
    for i, (lo, hi) in enumerate(pads):
        crop[first + i] = slice(int(lo), x.shape[first + i] - int(hi))
    return x[tuple(crop)]


def _select_and_gather_add(
    ctx,
    tangents,
    operand,
    *,
    select_prim,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    largest = select_prim.name in ("ge", "gt")
    geometry = (
        window_dimensions,
        window_strides,
        padding,
        base_dilation,
        window_dilation,
    )
    windows, k = _windows(operand, *geometry, _extreme(operand.dtype, largest))
    values, _ = _windows(tangents, *geometry, 0)
    flat = values.reshape(*values.shape[: values.ndim - k], -1)
    return torch.take_along_dim(flat, _choose(windows, k, largest), -1).squeeze(-1)


RULES = {
    "conv_general_dilated": _conv,
    "reduce_window_sum": _reduce_window(_sum),
    "reduce_window_max": _reduce_window(torch.amax, largest=True),
    "reduce_window_min": _reduce_window(torch.amin, largest=False),
    "select_and_scatter_add": _select_and_scatter_add,
    "select_and_gather_add": _select_and_gather_add,
}
