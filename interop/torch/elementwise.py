"""torch rules for elementwise primitives: arithmetic, math, comparison,
logic, bit shifts, selection and dtype conversion.

A jaxpr gives both operands of a binary primitive the same dtype, so torch's
type promotion never acts; unsigned 16/32-bit values live in int64 (see
`interop.torch.dtypes`) and are masked back into range after arithmetic.

Example:
  >>> import torch
  >>> from interop.lowering import RuleContext
  >>> ctx = RuleContext(eqn=None, run=None)
  >>> RULES["round"](ctx, torch.tensor([0.5, 1.5, -2.5]), rounding_method=0)
  tensor([ 1.,  2., -3.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from jax.extend import core as jcore

from interop.torch.dtypes import (
    MASKS,
    bits,
    is_wide,
    same_width_signed,
    torch_dtype,
)


def literal(ctx: Any, index: int) -> Any:
    """The Python value of input `index` when the jaxpr spells it as a literal."""
    atom = ctx.eqn.invars[index]
    return atom.val if isinstance(atom, jcore.Literal) else None


def _out_dtype(ctx: Any) -> np.dtype:
    return np.dtype(ctx.eqn.outvars[0].aval.dtype)


def _in_dtype(ctx: Any, index: int = 0) -> np.dtype:
    return np.dtype(ctx.eqn.invars[index].aval.dtype)


def _wrapping(fn: Any) -> Any:
    """A rule for `fn` that masks unsigned results kept in int64."""

    def rule(ctx, *xs, **_):
        out = fn(*xs)
        mask = MASKS.get(_out_dtype(ctx))
        return out if mask is None else out & mask

    return rule


def _plain(fn: Any) -> Any:
    def rule(ctx, *xs, **_):
        return fn(*xs)

    return rule


def _div(ctx, x, y, **_):
    if x.dtype.is_floating_point:
        return x / y
    return torch.div(x, y, rounding_mode="trunc")


def _is_zero(value) -> bool:
    return value is not None and np.ndim(value) == 0 and value == 0


def _max(ctx, x, y, **_):
    """`maximum`; against a literal 0 (a relu), `torch.relu`, whose gradient
    at 0 is JAX's relu's (0), and cheaper."""
    if x.dtype.is_floating_point:
        if _is_zero(literal(ctx, 1)):
            return torch.relu(x)
        if _is_zero(literal(ctx, 0)):
            return torch.relu(y)
    return torch.maximum(x, y)


def _integer_pow(ctx, x, *, y, **_):
    if y == 2:
        return x * x
    if y == 1:
        return x
    return torch.pow(x, y)


def _round(ctx, x, *, rounding_method, **_):
    if int(rounding_method) == 1:  # to nearest even
        return torch.round(x)
    whole = torch.trunc(x)  # away from zero, exactly
    return torch.where((x - whole).abs() >= 0.5, whole + torch.sign(x), whole)


def _not(ctx, x, **_):
    if x.dtype == torch.bool:
        return torch.logical_not(x)
    mask = MASKS.get(_out_dtype(ctx))
    return ~x if mask is None else ~x & mask


def _shift_amount(ctx, s, width):
    """`(amount, out_of_range)`: the literal int, or a clamped tensor and mask."""
    value = literal(ctx, 1)
    if value is not None:
        return int(value), int(value) >= width or int(value) < 0
    bad = (s >= width) | (s < 0)
    return s.clamp(0, width - 1), bad


def _shift_left(ctx, x, s, **_):
    dtype = _out_dtype(ctx)
    width = bits(dtype)
    amount, bad = _shift_amount(ctx, s, width)
    if bad is True:
        return torch.zeros_like(x)
    out = x << amount
    if dtype in MASKS:
        out = out & MASKS[dtype]
    return out if bad is False else torch.where(bad, torch.zeros_like(out), out)


def _unsigned_view(x, dtype):
    """Values of a signed `dtype` as their unsigned bit patterns in int64."""
    width = bits(dtype)
    if width == 64:
        return x
    return x.to(torch.int64) & ((1 << width) - 1)


def _shift_right_logical(ctx, x, s, **_):
    dtype = _out_dtype(ctx)
    width = bits(dtype)
    amount, bad = _shift_amount(ctx, s, width)
    if bad is True:
        return torch.zeros_like(x)
    if dtype.kind == "i":
        if width == 64:
            out = _logical64(x, amount)
        else:
            out = (_unsigned_view(x, dtype) >> amount).to(x.dtype)
    else:
        out = x >> amount
    return out if bad is False else torch.where(bad, torch.zeros_like(out), out)


def _logical64(x, amount):
    """Logical right shift of int64 by an int or tensor amount in [0, 64)."""
    if isinstance(amount, int):
        return x if amount == 0 else (x >> amount) & ((1 << (64 - amount)) - 1)
    keep = (torch.ones_like(x) << (64 - amount)) - 1
    return torch.where(amount == 0, x, (x >> amount) & keep)


def _shift_right_arithmetic(ctx, x, s, **_):
    dtype = _out_dtype(ctx)
    width = bits(dtype)
    amount, bad = _shift_amount(ctx, s, width)
    if bad is True:
        amount, bad = width - 1, False
    if dtype in MASKS:
        signed = x - ((x >> (width - 1)) << width)
        out = (signed >> amount) & MASKS[dtype]
    else:
        out = x >> amount
    if bad is False:
        return out
    return torch.where(bad, x >> (width - 1), out)


def _convert(ctx, x, *, new_dtype, **_):
    target = torch_dtype(new_dtype)
    if target == torch.bool:
        return x != 0 if x.dtype != torch.bool else x
    out = x.to(target)
    mask = MASKS.get(np.dtype(new_dtype))
    if mask is not None and _in_dtype(ctx).kind in "if":
        out = out & mask
    return out


def _bitcast(ctx, x, *, new_dtype, **_):
    source, target = _in_dtype(ctx), np.dtype(new_dtype)
    if is_wide(source):
        x = x.to(same_width_signed(source))
    view_as = same_width_signed(target)
    if source.itemsize > target.itemsize:
        out = x.unsqueeze(-1).view(view_as)
    elif source.itemsize < target.itemsize:
        out = x.view(view_as).squeeze(-1)
    else:
        out = x.view(view_as)
    if is_wide(target):
        out = _unsigned_view(out, target) if target.itemsize < 8 else out
    return out


def _select_n(ctx, which, *cases):
    if len(cases) == 1:
        return cases[0]
    if which.ndim and which.ndim < cases[0].ndim:  # choosing between keys
        which = which.unsqueeze(-1)
    if which.dtype == torch.bool:
        return torch.where(which, cases[1], cases[0])
    out = cases[0]
    for i, case in enumerate(cases[1:], 1):
        out = torch.where(which == i, case, out)
    return out


def _clamp(ctx, lo, x, hi, **_):
    return torch.clamp(x, lo, hi)


def _reduce_precision(ctx, x, *, exponent_bits, mantissa_bits, **_):
    narrow = {(8, 7): torch.bfloat16, (5, 10): torch.float16}
    dtype = narrow.get((exponent_bits, mantissa_bits))
    if dtype is None or not x.dtype.is_floating_point:
        return x
    return x.to(dtype).to(x.dtype)


def _cbrt(x):
    return torch.sign(x) * x.abs().pow(1.0 / 3.0)


def _is_finite(x):
    return torch.isfinite(x)


RULES = {
    "add": _wrapping(torch.add),
    "add_any": _wrapping(torch.add),
    "sub": _wrapping(torch.sub),
    "mul": _wrapping(torch.mul),
    "neg": _wrapping(torch.neg),
    "div": _div,
    "rem": _plain(torch.fmod),
    "pow": _plain(torch.pow),
    "integer_pow": _integer_pow,
    "square": _plain(lambda x: x * x),
    "max": _max,
    "min": _plain(torch.minimum),
    "nextafter": _plain(torch.nextafter),
    "atan2": _plain(torch.atan2),
    "abs": _plain(torch.abs),
    "sign": _plain(torch.sign),
    "floor": _plain(torch.floor),
    "ceil": _plain(torch.ceil),
    "round": _round,
    "is_finite": _plain(_is_finite),
    "exp": _plain(torch.exp),
    "exp2": _plain(torch.exp2),
    "log": _plain(torch.log),
    "log1p": _plain(torch.log1p),
    "expm1": _plain(torch.expm1),
    "tanh": _plain(torch.tanh),
    "logistic": _plain(torch.sigmoid),
    "sin": _plain(torch.sin),
    "cos": _plain(torch.cos),
    "tan": _plain(torch.tan),
    "asin": _plain(torch.asin),
    "acos": _plain(torch.acos),
    "atan": _plain(torch.atan),
    "sinh": _plain(torch.sinh),
    "cosh": _plain(torch.cosh),
    "asinh": _plain(torch.asinh),
    "acosh": _plain(torch.acosh),
    "atanh": _plain(torch.atanh),
    "sqrt": _plain(torch.sqrt),
    "rsqrt": _plain(torch.rsqrt),
    "cbrt": _plain(_cbrt),
    "erf": _plain(torch.erf),
    "erfc": _plain(torch.erfc),
    "erf_inv": _plain(torch.erfinv),
    "lgamma": _plain(torch.lgamma),
    "digamma": _plain(torch.digamma),
    "eq": _plain(torch.eq),
    "ne": _plain(torch.ne),
    "lt": _plain(torch.lt),
    "le": _plain(torch.le),
    "gt": _plain(torch.gt),
    "ge": _plain(torch.ge),
    "and": _plain(torch.bitwise_and),
    "or": _plain(torch.bitwise_or),
    "xor": _plain(torch.bitwise_xor),
    "not": _not,
    "shift_left": _shift_left,
    "shift_right_logical": _shift_right_logical,
    "shift_right_arithmetic": _shift_right_arithmetic,
    "select_n": _select_n,
    "clamp": _clamp,
    "convert_element_type": _convert,
    "bitcast_convert_type": _bitcast,
    "reduce_precision": _reduce_precision,
    "stop_gradient": _plain(torch.Tensor.detach),
    "copy": _plain(lambda x: x),
    "copy_p": _plain(lambda x: x),
    "sharding_constraint": _plain(lambda x: x),
    "optimization_barrier": lambda ctx, *xs, **_: list(xs),
}
