"""`lax`-level cases for the lowering parity tests: the primitives and forms
that `stateless.ops` alone does not reach (control flow, custom derivatives,
dynamic and clamped indexing, scatters, transposed convolutions, dilated
windows, bit manipulation, unsigned and half types).

Each is a `Case` of `tests.stateless.ops.cases`; `call(m, *args)` ignores `m`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from tests.stateless.ops.cases import Case

_rng = np.random.default_rng(2)


def f32(*shape):
    return _rng.uniform(-2.0, 2.0, shape).astype(np.float32)


def i32(*shape, low=0, high=5):
    return _rng.integers(low, high, shape).astype(np.int32)


def u32(*shape):
    return _rng.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32)


@jax.custom_vjp
def _softsign(x):
    return x / (1 + jnp.abs(x))


def _softsign_fwd(x):
    return _softsign(x), x


def _softsign_bwd(x, g):
    return (g / (1 + jnp.abs(x)) ** 2,)


_softsign.defvjp(_softsign_fwd, _softsign_bwd)


def _max_pool(x, window, strides, padding):
    return lax.reduce_window(x, -jnp.inf, lax.max, window, strides, padding)


def _conv(x, w, **kw):
    return lax.conv_general_dilated(x, w, **kw)


C = Case
CONTROL = [
    C(
        "fori_loop",
        lambda m, x: lax.fori_loop(0, 3, lambda i, c: c * 1.5 + i, x),
        [f32(2, 3)],
    ),
    C(
        "while_loop",
        lambda m, x, n: lax.while_loop(
            lambda c: c[0] < n, lambda c: (c[0] + 1, jnp.sin(c[1])), (0, x)
        )[1],
        [f32(4), np.int32(3)],
        grad=False,
    ),
    C("cond", lambda m, x: lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x), [f32(3)]),
    C(
        "switch",
        lambda m, x, i: lax.switch(i, [jnp.sin, jnp.cos, jnp.tanh], x),
        [f32(3), np.int32(2)],
    ),
    C(
        "checkpoint",
        lambda m, x: jax.checkpoint(lambda y: jnp.sin(y) * y)(x),
        [f32(2, 3)],
    ),
    C("custom_vjp", lambda m, x: _softsign(x), [f32(2, 3)]),
    C(
        "scan_reverse",
        lambda m, x: lax.scan(
            lambda c, y: (c * y, c + y), jnp.ones(3), x, reverse=True
        ),
        [f32(4, 3)],
    ),
]
CUMULATIVE = [
    C("cumprod_reverse", lambda m, x: lax.cumprod(x, 1, reverse=True), [f32(2, 4)]),
    C("cummax", lambda m, x: lax.cummax(x, 0), [f32(4, 2)]),
    C("cummin_reverse", lambda m, x: lax.cummin(x, 1, reverse=True), [f32(2, 4)]),
    C("cumlogsumexp", lambda m, x: lax.cumlogsumexp(x, 1), [f32(2, 4)]),
    C("lexsort", lambda m, a, b: jnp.lexsort((a, b)), [i32(6), i32(6)], grad=False),
    C(
        "sort_two_operands",
        lambda m, k, v: lax.sort((k, v), num_keys=1),
        [f32(5), f32(5)],
    ),
    C(
        "argsort_descending",
        lambda m, x: jnp.argsort(x, descending=True),
        [f32(7)],
        grad=False,
    ),
]
INDEXING = [
    C(
        "dynamic_slice",
        lambda m, x, i: lax.dynamic_slice(x, (i, 1), (2, 2)),
        [f32(4, 4), np.int32(3)],
    ),
    C(
        "dynamic_update_slice",
        lambda m, x, u, i: lax.dynamic_update_slice(x, u, (i, np.int32(0))),
        [f32(4, 3), f32(2, 3), np.int32(1)],
    ),
    C("negative_index", lambda m, x, i: x[i], [f32(5, 2), i32(4, low=-5)]),
    C(
        "two_axis_index",
        lambda m, x, i, j: x[i, j],
        [f32(4, 5), i32(3, high=4), i32(3)],
    ),
    C("index_2d_on_axis_1", lambda m, x, i: x[:, i], [f32(3, 5), i32(2, 2)]),
    C(
        "take_clip",
        lambda m, x, i: jnp.take(x, i, axis=0, mode="clip"),
        [f32(4, 2), i32(5, low=-3, high=8)],
    ),
    C(
        "take_fill",
        lambda m, x, i: jnp.take(x, i, axis=1, mode="fill", fill_value=-1.0),
        [f32(2, 4), i32(5, low=-6, high=7)],
    ),
    C(
        "at_add_duplicates",
        lambda m, x, i, v: x.at[i].add(v),
        [f32(4, 2), np.array([0, 2, 0], np.int32), f32(3, 2)],
    ),
    C(
        "at_set",
        lambda m, x, i, v: x.at[i].set(v),
        [f32(5), np.array([4, 1], np.int32), f32(2)],
    ),
    C(
        "at_mul",
        lambda m, x, i, v: x.at[i].multiply(v, unique_indices=True),
        [f32(5), np.array([3, 1], np.int32), f32(2)],
    ),
    C(
        "at_min_max",
        lambda m, x, i, v: x.at[i].min(v) + x.at[i].max(v),
        [f32(5), np.array([3, 0], np.int32), f32(2)],
    ),
    C(
        "at_add_out_of_bounds",
        lambda m, x, i, v: x.at[i].add(v, mode="drop"),
        [f32(4), np.array([1, 9, 3], np.int32), f32(3)],
    ),
    C(
        "pad_negative_interior",
        lambda m, x: lax.pad(x, 0.5, [(1, -1, 1), (-1, 2, 0)]),
        [f32(3, 4)],
    ),
    C(
        "pad_traced_value",
        lambda m, x, v: lax.pad(x, v, [(1, 2, 1)]),
        [f32(3), np.float32(0.25)],
    ),
    C("rev_two_axes", lambda m, x: lax.rev(x, (0, 2)), [f32(2, 3, 2)]),
]
WINDOWS = [
    C(
        "conv_transpose",
        lambda m, x, w: lax.conv_transpose(
            x, w, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        ),
        [f32(1, 4, 4, 2), f32(3, 3, 2, 3)],
    ),
    C(
        "conv_negative_padding",
        lambda m, x, w: _conv(x, w, window_strides=(1,), padding=[(-1, 2)]),
        [f32(2, 3, 7), f32(4, 3, 3)],
    ),
    C(
        "conv_lhs_and_rhs_dilation",
        lambda m, x, w: _conv(
            x,
            w,
            window_strides=(2, 1),
            padding=[(1, 0), (2, 2)],
            lhs_dilation=(2, 1),
            rhs_dilation=(1, 2),
        ),
        [f32(1, 2, 5, 5), f32(3, 2, 2, 3)],
    ),
    C(
        "max_pool_1d",
        lambda m, x: _max_pool(x, (1, 3, 1), (1, 2, 1), "SAME"),
        [f32(2, 7, 3)],
    ),
    C(
        "max_pool_all_axes",
        lambda m, x: _max_pool(x, (2, 2, 2, 2), (1, 2, 1, 2), "VALID"),
        [f32(3, 4, 3, 4)],
    ),
    C(
        "sum_window_1d",
        lambda m, x: lax.reduce_window(x, 0.0, lax.add, (3,), (2,), [(1, 1)]),
        [f32(8)],
    ),
    C(
        "dilated_max_window",
        lambda m, x: lax.reduce_window(
            x,
            -jnp.inf,
            lax.max,
            (2, 2),
            (1, 1),
            "VALID",
            base_dilation=(2, 1),
            window_dilation=(1, 2),
        ),
        [f32(3, 6)],
        grad=False,
    ),
    C(
        "max_pool_jvp",
        lambda m, x, t: jax.jvp(
            functools.partial(
                _max_pool, window=(2, 2), strides=(2, 2), padding="VALID"
            ),
            (x,),
            (t,),
        )[1],
        [f32(4, 6), f32(4, 6)],
        grad=False,
    ),
    C(
        "min_window",
        lambda m, x: lax.reduce_window(x, jnp.inf, lax.min, (2,), (1,), "VALID"),
        [f32(5)],
    ),
]
BITS = [
    C(
        "shifts_int32",
        lambda m, i: (
            lax.shift_left(i, np.int32(3)),
            lax.shift_right_logical(-i, np.int32(2)),
            lax.shift_right_arithmetic(-i, np.int32(1)),
        ),
        [i32(5, high=1000)],
        grad=False,
    ),
    C(
        "shifts_traced",
        lambda m, i, s: (lax.shift_left(i, s), lax.shift_right_logical(-i, s)),
        [i32(4, high=100), np.array([0, 5, 31, 40], np.int32)],
        grad=False,
    ),
    C(
        "uint32_arithmetic",
        lambda m, a, b: (
            a * b + np.uint32(7),
            ~a,
            a - b,
            lax.shift_right_logical(a, np.uint32(9)),
            a > b,
            a // (b | np.uint32(1)),
        ),
        [u32(6), u32(6)],
        grad=False,
    ),
    C(
        "bitcast",
        lambda m, x, u: (
            lax.bitcast_convert_type(x, jnp.int32),
            lax.bitcast_convert_type(x, jnp.uint32),
            lax.bitcast_convert_type(u, jnp.float32),
            lax.bitcast_convert_type(x, jnp.uint8),
        ),
        [f32(3), u32(3)],
        grad=False,
    ),
    C(
        "int_div_rem",
        lambda m, a, b: (lax.div(a, b), lax.rem(a, b), a // b, a % b),
        [i32(6, low=-9, high=9), np.array([2, -3, 4, -5, 7, 3], np.int32)],
        grad=False,
    ),
    C(
        "uint32_to_float",
        lambda m, u: u.astype(jnp.float32) / 2.0**32,
        [u32(4)],
        grad=False,
    ),
]
NUMERIC = [
    C(
        "round_half_away",
        lambda m, x: lax.round(x),
        [np.array([0.5, 1.5, -2.5, 0.49999997, -0.2], np.float32)],
        grad=False,
    ),
    C(
        "clamp",
        lambda m, x: lax.clamp(np.float32(-0.5), x, np.float32(0.5)),
        [f32(2, 3)],
    ),
    C("nextafter", lambda m, x, y: lax.nextafter(x, y), [f32(3), f32(3)], grad=False),
    C("erf_inv", lambda m, x: lax.erf_inv(x * 0.4), [f32(5)]),
    C(
        "is_finite",
        lambda m, x: jnp.isfinite(x),
        [np.array([1.0, np.inf, -np.inf, np.nan], np.float32)],
        grad=False,
    ),
    C("integer_pow", lambda m, x: x**3 + x**-2, [f32(4) + 3]),
    C(
        "bfloat16",
        lambda m, x: (x.astype(jnp.bfloat16) * 2).astype(jnp.float32),
        [f32(4)],
    ),
    C("float16", lambda m, x: jnp.tanh(x.astype(jnp.float16)), [f32(4)], grad=False),
    C("reduce_prod_axes", lambda m, x: jnp.prod(x, axis=(0, 2)), [f32(2, 3, 2)]),
    C(
        "atan2_hyperbolic",
        lambda m, x, y: jnp.arctan2(x, y) + jnp.sinh(x) * jnp.cosh(y),
        [f32(3), f32(3)],
    ),
]
ALL = CONTROL + CUMULATIVE + INDEXING + WINDOWS + BITS + NUMERIC
