"""The table of op cases shared by the NumPy parity and trace-identity tests.

A case's `call(m, *args)` is written once against a namespace `m`: it runs as
`call(stateless.ops, ...)` for the op, `call(numpy, ...)` for the reference
(unless `ref` is given) and `call(twin, ...)` for the `jax.numpy`/`jax.nn`/`lax`
function the op must trace to.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

_rng = np.random.default_rng(0)


def f32(*shape, low=-2.0, high=2.0):
    return _rng.uniform(low, high, shape).astype(np.float32)


def pos(*shape):
    return f32(*shape, low=0.5, high=2.0)


def i32(*shape, high=5):
    return _rng.integers(0, high, shape).astype(np.int32)


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[..., Any]
    args: list[Any] = field(default_factory=list)
    ref: Callable[..., Any] | None = None  # default: call(numpy, *args)
    twin: Any = jnp  # the namespace the op must trace identically to
    grad: bool = True  # check gradients with respect to the float arguments

    def reference(self):
        return self.ref(*self.args) if self.ref else self.call(np, *self.args)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _erf_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _logsumexp(x, axis):
    m = x.max(axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis, keepdims=True))).squeeze(axis)


def _top_k(x, k):
    order = np.argsort(-x, kind="stable")[..., :k]
    return np.take_along_axis(x, order, -1), order


C = Case
CREATION = [
    C("array", lambda m: m.array([[1, 2], [3, 4]], "float32"), grad=False),
    C("arange", lambda m: m.arange(1, 7, 2), grad=False),
    C("zeros", lambda m: m.zeros((2, 3), "float32"), grad=False),
    C("ones", lambda m: m.ones((2, 3), "int32"), grad=False),
    C("full", lambda m: m.full((2, 2), 7.0), grad=False),
    C("zeros_like", lambda m, x: m.zeros_like(x), [f32(2, 3)], grad=False),
    C("ones_like", lambda m, x: m.ones_like(x, "int32"), [f32(2, 3)], grad=False),
    C("eye", lambda m: m.eye(3, 4, 1, "float32"), grad=False),
    C("linspace", lambda m: m.linspace(0.0, 1.0, 5), grad=False),
]
TENSOR = [
    C(
        "convert_to_tensor",
        lambda m, x: m.convert_to_tensor(x),
        [f32(2, 3)],
        ref=np.asarray,
        twin=SimpleNamespace(convert_to_tensor=jnp.asarray),
    ),
    C(
        "cast",
        lambda m, x: m.cast(x, "int32"),
        [f32(2, 3)],
        ref=lambda x: x.astype(np.int32),
        twin=SimpleNamespace(cast=lambda x, d: jnp.asarray(x).astype(d)),
        grad=False,
    ),
]
SHAPE = [
    C("reshape", lambda m, x: m.reshape(x, (3, -1)), [f32(2, 3)]),
    C("expand_dims", lambda m, x: m.expand_dims(x, 1), [f32(2, 3)]),
    C("squeeze", lambda m, x: m.squeeze(x, 1), [f32(2, 1, 3)]),
    C("broadcast_to", lambda m, x: m.broadcast_to(x, (4, 3)), [f32(3)]),
    C("transpose", lambda m, x: m.transpose(x, (2, 0, 1)), [f32(2, 3, 4)]),
    C("moveaxis", lambda m, x: m.moveaxis(x, 0, -1), [f32(2, 3, 4)]),
    C(
        "concatenate",
        lambda m, a, b: m.concatenate([a, b], axis=1),
        [f32(2, 3), f32(2, 1)],
    ),
    C("stack", lambda m, a, b: m.stack([a, b], axis=-1), [f32(2, 3), f32(2, 3)]),
    C("split", lambda m, x: m.split(x, [1, 3], axis=1), [f32(2, 5)]),
    C("tile", lambda m, x: m.tile(x, (2, 1)), [f32(2, 3)]),
    C("repeat", lambda m, x: m.repeat(x, 2, axis=1), [f32(2, 3)]),
    C("pad", lambda m, x: m.pad(x, ((1, 0), (2, 1))), [f32(2, 3)]),
    C("flip", lambda m, x: m.flip(x, 1), [f32(2, 3)]),
    C("take", lambda m, x, i: m.take(x, i, axis=1), [f32(2, 5), i32(4)]),
    C(
        "take_along_axis",
        lambda m, x, i: m.take_along_axis(x, i, 1),
        [f32(2, 5), i32(2, 3)],
    ),
    C("where", lambda m, c, a, b: m.where(c, a, b), [f32(2, 3) > 0, f32(2, 3), f32(3)]),
    C("tril", lambda m, x: m.tril(x, -1), [f32(3, 3)]),
    C("triu", lambda m, x: m.triu(x), [f32(2, 3, 3)]),
]
ARITHMETIC = [
    C("add", lambda m, a, b: m.add(a, b), [f32(2, 3), f32(3)]),
    C("add_int", lambda m, a, b: m.add(a, b), [i32(2, 3), i32(3)], grad=False),
    C("subtract", lambda m, a, b: m.subtract(a, b), [f32(2, 3), f32(2, 1)]),
    C("multiply", lambda m, a, b: m.multiply(a, b), [f32(2, 3), f32(3)]),
    C("divide", lambda m, a, b: m.divide(a, b), [f32(2, 3), pos(3)]),
    C("divide_int", lambda m, a, b: m.divide(a, b), [i32(4), i32(4) + 1], grad=False),
    C("power", lambda m, a, b: m.power(a, b), [pos(2, 3), f32(3)]),
    C("maximum", lambda m, a, b: m.maximum(a, b), [f32(2, 3), f32(3)]),
    C("minimum", lambda m, a, b: m.minimum(a, b), [f32(2, 3), f32(3)]),
    C("clip", lambda m, x: m.clip(x, -1.0, 1.0), [f32(2, 3)]),
    C("equal", lambda m, a, b: m.equal(a, b), [i32(6), i32(6)], grad=False),
    C("not_equal", lambda m, a, b: m.not_equal(a, b), [i32(6), i32(6)], grad=False),
    C("less", lambda m, a, b: m.less(a, b), [f32(2, 3), f32(3)], grad=False),
    C("less_equal", lambda m, a, b: m.less_equal(a, b), [i32(6), i32(6)], grad=False),
    C("greater", lambda m, a, b: m.greater(a, b), [f32(2, 3), f32(3)], grad=False),
    C(
        "greater_equal",
        lambda m, a, b: m.greater_equal(a, b),
        [i32(6), i32(6)],
        grad=False,
    ),
    C(
        "logical_and",
        lambda m, a, b: m.logical_and(a, b),
        [f32(5) > 0, f32(5) > 0],
        grad=False,
    ),
    C(
        "logical_or",
        lambda m, a, b: m.logical_or(a, b),
        [f32(5) > 0, f32(5) > 0],
        grad=False,
    ),
]
ELEMENTWISE = [
    C("negative", lambda m, x: m.negative(x), [f32(2, 3)]),
    C("abs", lambda m, x: m.abs(x), [f32(2, 3)]),
    C("abs_int", lambda m, x: m.abs(x), [i32(5) - 2], grad=False),
    C("sign", lambda m, x: m.sign(x), [f32(2, 3)], grad=False),
    C("exp", lambda m, x: m.exp(x), [f32(2, 3)]),
    C("exp_int", lambda m, x: m.exp(x), [i32(4)], grad=False),
    C("log", lambda m, x: m.log(x), [pos(2, 3)]),
    C("log1p", lambda m, x: m.log1p(x), [pos(2, 3)]),
    C("expm1", lambda m, x: m.expm1(x), [f32(2, 3)]),
    C("sqrt", lambda m, x: m.sqrt(x), [pos(2, 3)]),
    C(
        "rsqrt",
        lambda m, x: m.rsqrt(x),
        [pos(2, 3)],
        ref=lambda x: 1 / np.sqrt(x),
        twin=lax,
    ),
    C("square", lambda m, x: m.square(x), [f32(2, 3)]),
    C("sin", lambda m, x: m.sin(x), [f32(2, 3)]),
    C("cos", lambda m, x: m.cos(x), [f32(2, 3)]),
    C("tanh", lambda m, x: m.tanh(x), [f32(2, 3)]),
    C("floor", lambda m, x: m.floor(x), [f32(2, 3)], grad=False),
    C("ceil", lambda m, x: m.ceil(x), [f32(2, 3)], grad=False),
    C("round", lambda m, x: m.round(x, 1), [f32(2, 3)], grad=False),
    C("logical_not", lambda m, x: m.logical_not(x), [f32(5) > 0], grad=False),
]
LINALG = [
    C("matmul", lambda m, a, b: m.matmul(a, b), [f32(4, 2, 3), f32(3, 5)]),
    C("matmul_vector", lambda m, a, b: m.matmul(a, b), [f32(2, 3), f32(3)]),
    C("dot", lambda m, a, b: m.dot(a, b), [f32(2, 3), f32(3, 4)]),
    C(
        "einsum",
        lambda m, a, b: m.einsum("bld,dk->bkl", a, b),
        [f32(2, 3, 4), f32(4, 5)],
    ),
]
REDUCE = [
    C("sum", lambda m, x: m.sum(x, axis=1), [f32(2, 3, 4)]),
    C("sum_int", lambda m, x: m.sum(x), [i32(2, 3)], grad=False),
    C("mean", lambda m, x: m.mean(x, axis=(0, 2), keepdims=True), [f32(2, 3, 4)]),
    C("mean_int", lambda m, x: m.mean(x, axis=0), [i32(4, 3)], grad=False),
    C("max", lambda m, x: m.max(x, axis=-1), [f32(2, 5)]),
    C("min", lambda m, x: m.min(x, axis=0, keepdims=True), [f32(4, 3)]),
    C("prod", lambda m, x: m.prod(x, axis=1), [pos(2, 3)]),
    C("var", lambda m, x: m.var(x, axis=1, ddof=1), [f32(2, 5)]),
    C("std", lambda m, x: m.std(x, axis=0), [f32(4, 3)]),
    C("argmax", lambda m, x: m.argmax(x, axis=1), [f32(3, 5)], grad=False),
    C("argmin", lambda m, x: m.argmin(x), [f32(3, 5)], grad=False),
    C("any", lambda m, x: m.any(x, axis=1), [f32(3, 4) > 1], grad=False),
    C("all", lambda m, x: m.all(x, axis=0), [f32(3, 4) > -1], grad=False),
    C("cumsum", lambda m, x: m.cumsum(x, axis=1), [f32(2, 4)]),
    C("cumsum_int", lambda m, x: m.cumsum(x), [i32(2, 3)], grad=False),
    C("sort", lambda m, x: m.sort(x, axis=0), [f32(4, 3)]),
    C("argsort", lambda m, x: m.argsort(x), [f32(3, 4)], grad=False),
    C(
        "logsumexp",
        lambda m, x: m.logsumexp(x, axis=1),
        [f32(2, 5)],
        ref=lambda x: _logsumexp(x, 1),
        twin=jax.nn,
    ),
    C(
        "top_k",
        lambda m, x: m.top_k(x, 2),
        [f32(3, 5)],
        ref=lambda x: _top_k(x, 2),
        twin=lax,
        grad=False,
    ),
]
NN = [
    C(
        "relu",
        lambda m, x: m.relu(x),
        [f32(2, 3)],
        ref=lambda x: np.maximum(x, 0),
        twin=jax.nn,
    ),
    C("gelu", lambda m, x: m.gelu(x), [f32(2, 3)], ref=_gelu_tanh, twin=jax.nn),
    C(
        "gelu_exact",
        lambda m, x: m.gelu(x, False),
        [f32(2, 3)],
        ref=_erf_gelu,
        twin=jax.nn,
    ),
    C(
        "sigmoid",
        lambda m, x: m.sigmoid(x),
        [f32(2, 3)],
        ref=lambda x: 1 / (1 + np.exp(-x)),
        twin=jax.nn,
    ),
    C(
        "silu",
        lambda m, x: m.silu(x),
        [f32(2, 3)],
        ref=lambda x: x / (1 + np.exp(-x)),
        twin=jax.nn,
    ),
    C(
        "softplus",
        lambda m, x: m.softplus(x),
        [f32(2, 3)],
        ref=lambda x: np.logaddexp(0, x),
        twin=jax.nn,
    ),
    C(
        "elu",
        lambda m, x: m.elu(x, 0.5),
        [f32(2, 3)],
        ref=lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
        twin=jax.nn,
    ),
    C(
        "leaky_relu",
        lambda m, x: m.leaky_relu(x, 0.1),
        [f32(2, 3)],
        ref=lambda x: np.where(x > 0, x, 0.1 * x),
        twin=jax.nn,
    ),
    C(
        "softmax",
        lambda m, x: m.softmax(x, axis=0),
        [f32(3, 4)],
        ref=lambda x: _softmax(x, 0),
        twin=jax.nn,
    ),
    C(
        "log_softmax",
        lambda m, x: m.log_softmax(x),
        [f32(3, 4)],
        ref=lambda x: np.log(_softmax(x)),
        twin=jax.nn,
    ),
    C(
        "one_hot",
        lambda m, x: m.one_hot(x, 6),
        [i32(2, 3)],
        ref=lambda x: np.eye(6, dtype=np.float32)[x],
        twin=jax.nn,
        grad=False,
    ),
]
ALL = CREATION + TENSOR + SHAPE + ARITHMETIC + ELEMENTWISE + LINALG + REDUCE + NN
