"""The torch backend's fast paths: rules specialized per equation, and fusions.

Running a lowered function eagerly costs, besides the torch ops themselves,
the Python of each rule: reading the equation's parameters and avals,
choosing a branch, building permutations. For the primitives a typical
network spends its calls on, `SPECIALIZE` does that work once, when the plan
of a jaxpr is made, and returns a function of the inputs alone (or an
`Alias`: `x + 0`, `x * 1`, a reshape or broadcast to the same shape, a
conversion to the same dtype run no op). Anything out of the common case
returns None, and the general rule of `torch_rules.RULES` runs.

`fuse` then joins, where nothing else reads the value between them:

* `conv_general_dilated` + `broadcast_in_dim` of a bias + `add` into one
  `F.conv*d(x, w, bias)` (oneDNN adds the bias in the convolution's own pass);
* `dot_general` (`x @ w`, `x @ w.T`) + `broadcast_in_dim` of a bias + `add`
  into `torch.addmm` / `F.linear`, as `torch.nn.Linear` runs.

Each result is what the rules compute, up to float rounding (a fused bias is
added in the kernel's accumulator), and differentiable by torch autograd.

Example:
  >>> import jax, torch
  >>> from interop.lowering import RuleContext
  >>> eqn = jax.make_jaxpr(lambda x: x + 0.0)(np.ones(3, "float32")).eqns[0]
  >>> SPECIALIZE["add"](RuleContext(eqn=eqn, run=None))
  Alias(index=0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from jax.extend import core as jcore

from interop.lowering import Alias, Step
from interop.torch.dtypes import torch_dtype

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {2: F.avg_pool2d, 3: F.avg_pool3d}


def _plain_dtype(aval: Any) -> np.dtype | None:
    """The aval's NumPy dtype when it is signed or float (no key array, no
    unsigned type that the rules mask), else None."""
    dtype = aval.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "fi":
        return None
    return dtype


def _float_dtype(aval: Any) -> np.dtype | None:
    dtype = aval.dtype
    return dtype if isinstance(dtype, np.dtype) and dtype.kind == "f" else None


def _literal(atom: Any) -> Any:
    """The scalar value of a literal operand, or None."""
    if not isinstance(atom, jcore.Literal):
        return None
    value = np.asarray(atom.val)
    return value.item() if value.ndim == 0 else None


def _same(eqn: Any, index: int) -> bool:
    """Whether operand `index` has the output's shape and dtype."""
    a, out = eqn.invars[index].aval, eqn.outvars[0].aval
    return a.shape == out.shape and a.dtype == out.dtype


def _identity_at(eqn: Any, value: float, positions: tuple[int, ...]) -> Alias | None:
    """`Alias` of the other operand when operand `p` (in `positions`) is the
    literal `value` (0 for `+`, 1 for `*`)."""
    for p in positions:
        other = 1 - p
        if _literal(eqn.invars[p]) == value and _same(eqn, other):
            return Alias(other)
    return None


def _arithmetic(fn: Callable[..., Any], identity: float, positions: tuple[int, ...]):
    def specialize(ctx, **_):
        eqn = ctx.eqn
        if _plain_dtype(eqn.outvars[0].aval) is None:
            return None
        return _identity_at(eqn, identity, positions) or fn

    return specialize


def _relu(x, _):
    return torch.relu(x)


def _relu_second(_, y):
    return torch.relu(y)


def _max(ctx, **_):
    eqn = ctx.eqn
    if _float_dtype(eqn.outvars[0].aval) is None:
        return None
    if _literal(eqn.invars[1]) == 0 and _same(eqn, 0):
        return _relu
    if _literal(eqn.invars[0]) == 0 and _same(eqn, 1):
        return _relu_second
    return torch.maximum


def _shape_of(aval: Any) -> tuple[int, ...] | None:
    """The tensor shape of a plain aval (None for a key array)."""
    return tuple(aval.shape) if isinstance(aval.dtype, np.dtype) else None


def _broadcast_in_dim(ctx, *, broadcast_dimensions, **_):
    eqn = ctx.eqn
    source, shape = _shape_of(eqn.invars[0].aval), _shape_of(eqn.outvars[0].aval)
    if source is None or shape is None:
        return None
    if source == shape:
        return Alias(0)
    if len(source) == len(shape):
        return lambda x: x.expand(shape)
    view = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        view[d] = source[i]
    view = tuple(view)
    return lambda x: x.reshape(view).expand(shape)


def _reshape(ctx, *, dimensions=None, **_):
    eqn = ctx.eqn
    source, shape = _shape_of(eqn.invars[0].aval), _shape_of(eqn.outvars[0].aval)
    if source is None or shape is None or dimensions is not None:
        return None
    if source == shape:
        return Alias(0)
    return lambda x: x.reshape(shape)


def _convert(ctx, *, new_dtype, **_):
    eqn = ctx.eqn
    source, target = eqn.invars[0].aval.dtype, eqn.outvars[0].aval.dtype
    if not isinstance(source, np.dtype) or not isinstance(target, np.dtype):
        return None
    if source == target:
        return Alias(0)
    if source.kind not in "fi" or target.kind not in "fi":
        return None  # bool, unsigned: the rule's masks and comparisons
    to = torch_dtype(target)
    return lambda x: x.to(to)


def _matmul_kind(eqn: Any) -> str | None:
    """`"nn"` for `x @ w`, `"nt"` for `x @ w.T` (w 2-D, same float dtype
    throughout), else None."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs, out = (eqn.invars[0].aval, eqn.invars[1].aval, eqn.outvars[0].aval)
    dtype = _float_dtype(out)
    if dtype is None or lhs.dtype != dtype or rhs.dtype != dtype:
        return None
    if lb or rb or len(rhs.shape) != 2 or tuple(lc) != (len(lhs.shape) - 1,):
        return None
    return {(0,): "nn", (1,): "nt"}.get(tuple(rc))


def _matmul_t(a, b):
    return a @ b.T


def _dot_general(ctx, **_):
    kind = _matmul_kind(ctx.eqn)
    if kind is None:
        return None
    return torch.matmul if kind == "nn" else _matmul_t


def _inverse(perm):
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = i
    return tuple(out)


def _identity(perm) -> bool:
    return tuple(perm) == tuple(range(len(perm)))


def conv_fn(eqn: Any) -> Callable[..., Any] | None:
    """`fn(x, w, bias=None)` for a plain `conv_general_dilated` (no input
    dilation or batch groups, symmetric padding, same float dtype), the
    rule's work done ahead; None otherwise."""
    p = eqn.params
    lhs, rhs, out = (eqn.invars[0].aval, eqn.invars[1].aval, eqn.outvars[0].aval)
    dtype = _float_dtype(out)
    if dtype is None or lhs.dtype != dtype or rhs.dtype != dtype:
        return None
    spatial = len(lhs.shape) - 2
    pads = [(int(lo), int(hi)) for lo, hi in p["padding"]]
    if (
        spatial not in _CONV
        or any(d != 1 for d in p["lhs_dilation"])
        or p["batch_group_count"] != 1
        or not all(lo == hi >= 0 for lo, hi in pads)
    ):
        return None
    lhs_spec, rhs_spec, out_spec = p["dimension_numbers"]
    lhs_perm = None if _identity(lhs_spec) else tuple(lhs_spec)
    rhs_perm = None if _identity(rhs_spec) else tuple(rhs_spec)
    out_perm = None if _identity(out_spec) else _inverse(out_spec)
    channels_last = spatial == 2 and out_spec[1] == 3  # NHWC out: oneDNN's nhwc
    conv, groups = _CONV[spatial], p["feature_group_count"]
    strides, dilation = tuple(p["window_strides"]), tuple(p["rhs_dilation"])
    padding = tuple(lo for lo, _ in pads)
    layout = torch.channels_last

    def run(x, w, bias=None):
        if lhs_perm is not None:
            x = x.permute(lhs_perm)
        if rhs_perm is not None:
            w = w.permute(rhs_perm)
        if channels_last:  # (the kernel is reordered by oneDNN in any case)
            x = x.contiguous(memory_format=layout)
        y = conv(x, w, bias, strides, padding, dilation, groups)
        return y if out_perm is None else y.permute(out_perm)

    return run


def _conv(ctx, **_):
    return conv_fn(ctx.eqn)


def _pool(largest: bool | None):
    """`reduce_window_max` (largest) / `reduce_window_sum` (None) over one to
    three axes, by torch's pooling, with the layout worked out ahead."""

    def specialize(
        ctx, *, window_dimensions, window_strides, padding, base_dilation,
        window_dilation, **_,
    ):  # fmt: skip
        aval, out = ctx.eqn.invars[0].aval, ctx.eqn.outvars[0].aval
        if _float_dtype(aval) is None or any(b != 1 for b in base_dilation):
            return None
        shape, rank = tuple(aval.shape), len(aval.shape)
        active = [
            d
            for d in range(rank)
            if window_dimensions[d] != 1
            or window_strides[d] != 1
            or tuple(padding[d]) != (0, 0)
        ]
        passive = [d for d in range(rank) if d not in active]
        if largest:
            pool = _MAX_POOL.get(len(active))
        elif all(w == 1 for w in window_dilation):
            pool = _AVG_POOL.get(len(active))
        else:
            pool = None
        if pool is None or not passive:
            return None
        perm = (*passive, *active)
        to_layout = None if _identity(perm) else perm
        lead = [shape[d] for d in passive]
        flat = None if len(passive) == 2 else (-1, 1, *(shape[d] for d in active))
        pads = [int(p) for d in reversed(active) for p in padding[d]]
        pads = pads if any(pads) else None
        kernel = tuple(window_dimensions[d] for d in active)
        stride = tuple(window_strides[d] for d in active)
        dilation = tuple(window_dilation[d] for d in active)
        unflat = (*lead, *(out.shape[d] for d in active))
        back = None if to_layout is None else _inverse(perm)

        def run(x):
            if to_layout is not None:
                x = x.permute(to_layout)
            if flat is not None:
                x = x.reshape(flat)
            if pads is not None:
                x = F.pad(x, pads, value=-math.inf if largest else 0.0)
            if largest:
                y = pool(x, kernel, stride, 0, dilation)
            else:
                y = pool(x, kernel, stride, divisor_override=1)
            y = y.reshape(unflat)
            return y if back is None else y.permute(back)

        return run

    return specialize


SPECIALIZE: Mapping[str, Callable[..., Any]] = {
    "add": _arithmetic(torch.add, 0, (0, 1)),
    "add_any": _arithmetic(torch.add, 0, (0, 1)),
    "sub": _arithmetic(torch.sub, 0, (1,)),
    "mul": _arithmetic(torch.mul, 1, (0, 1)),
    "max": _max,
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": _reshape,
    "convert_element_type": _convert,
    "dot_general": _dot_general,
    "conv_general_dilated": _conv,
    "reduce_window_max": _pool(True),
    "reduce_window_sum": _pool(None),
}


# -- fusion ---------------------------------------------------------------------


def _linear(kind: str, rank: int) -> Callable[..., Any]:
    if kind == "nn" and rank == 2:
        return lambda x, w, b: torch.addmm(b, x, w)
    if kind == "nn":
        return lambda x, w, b: F.linear(x, w.T, b)
    return F.linear  # x @ w.T + b


def _biased(producer: Step, bias: Step) -> Step | None:
    """The step computing `producer + broadcast(bias)` in one op, or None."""
    eqn, spread = producer.eqn, bias.eqn
    vector = spread.invars[0].aval
    out = eqn.outvars[0].aval
    if len(vector.shape) != 1 or vector.dtype != out.dtype:
        return None
    dims = tuple(spread.params["broadcast_dimensions"])
    name = producer.name
    if name == "conv_general_dilated":
        fn = conv_fn(eqn)
        feature = eqn.params["dimension_numbers"][2][1]
        if fn is None or dims != (feature,):
            return None
    elif name == "dot_general":
        kind = _matmul_kind(eqn)
        if kind is None or dims != (len(out.shape) - 1,):
            return None
        fn = _linear(kind, len(out.shape))
    else:
        return None
    return Step(fn, [*producer.ins, *bias.ins], [], eqn)


def fuse(
    steps: list[Step], uses: Mapping[int, int], constants: Mapping[int, Any]
) -> list[Step]:
    """`steps` with each convolution or matmul and the bias added to it
    joined into one step (see the module docstring)."""
    del constants
    made = {slot: n for n, step in enumerate(steps) for slot in step.outs}
    dropped: set[int] = set()
    joined: dict[int, Step] = {}
    for n, step in enumerate(steps):
        if step.name not in ("add", "add_any") or len(step.ins) != 2:
            continue
        if _float_dtype(step.eqn.outvars[0].aval) is None:
            continue
        for first, second in (step.ins, step.ins[::-1]):
            p, b = made.get(first), made.get(second)
            if p is None or b is None or p in dropped or b in dropped:
                continue
            if uses.get(first) != 1 or uses.get(second) != 1:
                continue
            if steps[b].name != "broadcast_in_dim":
                continue
            fused = _biased(steps[p], steps[b])
            if fused is not None:
                fused.outs, fused.eqn = step.outs, step.eqn
                joined[n] = fused
                dropped.update((p, b))
                break
    if not joined:
        return steps
    return [joined.get(n, s) for n, s in enumerate(steps) if n not in dropped]
