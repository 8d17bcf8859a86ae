"""TensorFlow rules for elementwise primitives: arithmetic, math, comparison,
logic, bit twiddling, selection and dtype conversion.

JAX's integer division and remainder truncate toward zero (C semantics), so
they map to `tf.truncatediv`/`tf.truncatemod`, not Python's floor versions.

Example:
  >>> RULES["add"](None, tf.constant(1.0), tf.constant(2.0)).numpy()
  np.float32(3.0)
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from interop.tensorflow.common import constant_like, out_dtype


def _unary(fn):
    def rule(ctx, x, **params):
        del ctx, params
        return fn(x)

    return rule


def _binary(fn):
    def rule(ctx, x, y, **params):
        del ctx, params
        return fn(x, y)

    return rule


def _is_int(x: tf.Tensor) -> bool:
    return x.dtype.is_integer


def _is_unsigned(x: tf.Tensor) -> bool:
    return x.dtype.is_unsigned


def _on_bool(logical, other):
    """`logical` for booleans, `other` for numbers (and/or/xor/not, max/min)."""

    def rule(ctx, *xs, **params):
        del ctx, params
        return (logical if xs[0].dtype == tf.bool else other)(*xs)

    return rule


def _as_bias(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor | None:
    """`y` as a vector when it is a bias of `x`'s last axis: float, shaped
    `(1, ..., 1, C)` against an `x` of rank 2 or more ending in `C`."""
    xs, ys = x.shape, y.shape
    if not x.dtype.is_floating or xs.rank is None or ys.rank != xs.rank:
        return None
    if xs.rank < 2 or not xs.is_fully_defined() or not ys.is_fully_defined():
        return None
    if ys[-1] != xs[-1] or any(n != 1 for n in ys[:-1]):
        return None
    return tf.reshape(y, [ys[-1]])


def _add(ctx, x, y, **params):
    """`x + y`; a bias added along the last axis is `tf.nn.bias_add`, which
    grappler fuses into the `Conv2D`/`MatMul` before it."""
    del ctx, params
    for a, b in ((x, y), (y, x)):
        bias = _as_bias(a, b)
        if bias is not None:
            return tf.nn.bias_add(a, bias)
    return tf.math.add(x, y)


def _is_zero(y: tf.Tensor) -> bool:
    value = tf.get_static_value(y)
    return value is not None and value.ndim == 0 and value == 0


def _max(ctx, x, y, **params):
    """`maximum`; against a constant 0 (a relu) `tf.nn.relu`, which grappler
    fuses with the convolution or matmul before it (its gradient at 0 is
    JAX's relu's, 0)."""
    del ctx, params
    if x.dtype == tf.bool:
        return tf.math.logical_or(x, y)
    if x.dtype.is_floating:
        if _is_zero(y) and x.shape.is_fully_defined():
            return tf.nn.relu(x)
        if _is_zero(x) and y.shape.is_fully_defined():
            return tf.nn.relu(y)
    return tf.math.maximum(x, y)


def _div(x, y):
    return tf.truncatediv(x, y) if _is_int(x) else tf.math.divide(x, y)


def _rem(x, y):
    if _is_unsigned(x):
        return x - tf.truncatediv(x, y) * y
    return tf.truncatemod(x, y)


def _neg(x):
    return tf.zeros_like(x) - x if _is_unsigned(x) else tf.negative(x)


def _sign(x):
    return tf.cast(x > 0, x.dtype) if _is_unsigned(x) else tf.sign(x)


def _abs(x):
    return x if _is_unsigned(x) else tf.abs(x)


def _integer_pow(ctx, x, *, y):
    """By repeated squaring, as XLA does, so values match exactly."""
    del ctx
    acc, base, n = None, x, abs(y)
    while n:
        if n & 1:
            acc = base if acc is None else acc * base
        n >>= 1
        if n:
            base = base * base
    if acc is None:
        return tf.ones_like(x)
    return 1 / acc if y < 0 else acc


def _pow(x, y):
    return tf.pow(x, tf.cast(y, x.dtype))


def _round(ctx, x, *, rounding_method):
    del ctx
    if int(rounding_method) == 1:  # TO_NEAREST_EVEN
        return tf.round(x)
    trunc = tf.where(x < 0, tf.math.ceil(x), tf.math.floor(x))
    return tf.where(tf.abs(x - trunc) >= 0.5, trunc + tf.sign(x), trunc)


def _exp2(x):
    return tf.pow(constant_like(2, x), x)


def _cbrt(x):
    return tf.sign(x) * tf.pow(tf.abs(x), constant_like(1 / 3, x))


def _shift(kind: str):
    """Shifts; a count of the bit width or more gives 0 (or the sign), as in XLA."""

    def rule(ctx, x, y, **params):
        del ctx, params
        bits = x.dtype.size * 8
        big = (y >= constant_like(bits, y)) | (y < constant_like(0, y))
        safe = tf.where(big, tf.zeros_like(y), y)
        if kind == "left":
            return tf.where(big, tf.zeros_like(x), tf.bitwise.left_shift(x, safe))
        flip = {
            ("logical", False): tf.as_dtype(f"uint{bits}"),
            ("arithmetic", True): tf.as_dtype(f"int{bits}"),
        }.get((kind, _is_unsigned(x)))
        view = x if flip is None else tf.bitcast(x, flip)
        shifted = tf.bitwise.right_shift(view, tf.bitcast(safe, view.dtype))
        if kind == "logical":
            filled = tf.zeros_like(view)
        else:
            filled = tf.bitwise.right_shift(view, constant_like(bits - 1, view))
        out = tf.where(big, filled, shifted)
        return out if flip is None else tf.bitcast(out, x.dtype)

    return rule


def _population_count(x):
    return tf.cast(tf.raw_ops.PopulationCount(x=x), x.dtype)


def _select_n(ctx, which, *cases):
    """On key arrays the predicate spreads over the trailing data axis."""
    del ctx
    if len(cases[0].shape) > len(which.shape) and len(which.shape):
        which = tf.expand_dims(which, -1)
    if which.dtype == tf.bool:
        return tf.where(which, cases[1], cases[0]) if len(cases) > 1 else cases[0]
    out = cases[0]
    for i, case in enumerate(cases[1:], 1):
        out = tf.where(tf.equal(which, constant_like(i, which)), case, out)
    return out


def _clamp(ctx, lo, x, hi):
    del ctx
    return tf.minimum(tf.maximum(x, lo), hi)


def _convert_element_type(ctx, x, *, new_dtype, **params):
    del new_dtype, params
    dtype = out_dtype(ctx)
    if x.dtype == dtype:
        return x
    if dtype == tf.bool:
        return tf.not_equal(x, tf.zeros_like(x))
    return tf.cast(x, dtype)


def _bitcast_convert_type(ctx, x, *, new_dtype):
    del new_dtype
    return tf.bitcast(x, out_dtype(ctx))


def _reduce_precision(ctx, x, *, exponent_bits, mantissa_bits):
    del ctx
    narrow = {(8, 7): tf.bfloat16, (5, 10): tf.float16}.get(
        (exponent_bits, mantissa_bits)
    )
    return x if narrow is None else tf.cast(tf.cast(x, narrow), x.dtype)


def _identity(ctx, x, **params):
    del ctx, params
    return x


def _identities(ctx, *xs, **params):
    del ctx, params
    return list(xs)


def _empty(ctx, *args, **params):
    del args, params
    aval = ctx.out_avals[0]
    return tf.zeros(aval.shape, out_dtype(ctx))


_MATH: dict[str, Any] = {
    "neg": _neg,
    "sign": _sign,
    "abs": _abs,
    "floor": tf.math.floor,
    "ceil": tf.math.ceil,
    "is_finite": tf.math.is_finite,
    "exp": tf.math.exp,
    "exp2": _exp2,
    "log": tf.math.log,
    "log1p": tf.math.log1p,
    "expm1": tf.math.expm1,
    "tanh": tf.math.tanh,
    "logistic": tf.math.sigmoid,
    "sin": tf.math.sin,
    "cos": tf.math.cos,
    "tan": tf.math.tan,
    "asin": tf.math.asin,
    "acos": tf.math.acos,
    "atan": tf.math.atan,
    "sinh": tf.math.sinh,
    "cosh": tf.math.cosh,
    "asinh": tf.math.asinh,
    "acosh": tf.math.acosh,
    "atanh": tf.math.atanh,
    "sqrt": tf.math.sqrt,
    "rsqrt": tf.math.rsqrt,
    "cbrt": _cbrt,
    "square": tf.math.square,
    "erf": tf.math.erf,
    "erfc": tf.math.erfc,
    "erf_inv": tf.math.erfinv,
    "lgamma": tf.math.lgamma,
    "digamma": tf.math.digamma,
    "population_count": _population_count,
    "stop_gradient": tf.stop_gradient,
}
_BINARY: dict[str, Any] = {
    "sub": tf.math.subtract,
    "mul": tf.math.multiply,
    "div": _div,
    "rem": _rem,
    "pow": _pow,
    "atan2": tf.math.atan2,
    "nextafter": tf.math.nextafter,
    "eq": tf.math.equal,
    "ne": tf.math.not_equal,
    "lt": tf.math.less,
    "le": tf.math.less_equal,
    "gt": tf.math.greater,
    "ge": tf.math.greater_equal,
}

RULES: dict[str, Any] = {
    **{name: _unary(fn) for name, fn in _MATH.items()},
    **{name: _binary(fn) for name, fn in _BINARY.items()},
    "add": _add,
    "add_any": _add,
    "max": _max,
    "min": _on_bool(tf.math.logical_and, tf.math.minimum),
    "and": _on_bool(tf.math.logical_and, tf.bitwise.bitwise_and),
    "or": _on_bool(tf.math.logical_or, tf.bitwise.bitwise_or),
    "xor": _on_bool(tf.math.logical_xor, tf.bitwise.bitwise_xor),
    "not": _on_bool(tf.math.logical_not, tf.bitwise.invert),
    "shift_left": _shift("left"),
    "shift_right_logical": _shift("logical"),
    "shift_right_arithmetic": _shift("arithmetic"),
    "integer_pow": _integer_pow,
    "round": _round,
    "select_n": _select_n,
    "clamp": _clamp,
    "convert_element_type": _convert_element_type,
    "bitcast_convert_type": _bitcast_convert_type,
    "reduce_precision": _reduce_precision,
    "copy": _identity,
    "optimization_barrier": _identities,
    "device_put": _identities,
    "sharding_constraint": _identity,
    "empty2": _empty,
}
