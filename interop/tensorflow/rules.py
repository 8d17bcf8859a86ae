"""The TensorFlow backend of `interop.lower`: a rule per JAX primitive.

The rules are plain TensorFlow ops (`tf.math`, `tf.nn`, `tf.linalg`,
`tf.bitwise`, gathers and scatters, `tf.while_loop`...), never XLA-only ops
such as `XlaConv` or `XlaCallModule`, so a lowered function saved in a
SavedModel runs on any TF runtime, with or without XLA. Every rule works
eagerly and inside `tf.function` (shapes are static: they come from the
jaxpr's avals), and the graph it builds is differentiable by
`tf.GradientTape`. Called eagerly, a lowered function runs as one
`tf.function` per input signature, traced at its first call.

The table is split by theme, one module each:

* `elementwise`: arithmetic, math, comparisons, logic, bit shifts,
  `select_n`, `clamp`, dtype conversion.
* `shape`: broadcasting, reshapes, transposes, concatenation and
  splitting, `pad` (negative and interior), slices, dynamic slices, `iota`.
* `linalg`: `dot_general` and `conv_general_dilated` (any dimension
  numbers, dilations, groups, and the transposed forms gradients emit).
* `reduce`: reductions, arg-reductions, cumulative ops, `sort`, `top_k`,
  window reductions and the pooling gradients `select_and_scatter_add`.
* `indexing`: XLA's `gather` and the `scatter` family.
* `control`: `jit`, `closed_call`, custom derivatives, `remat`, `cond`,
  `while`, `scan`.
* `random`: JAX's Threefry-2x32, bit for bit (keys, splits, fold-ins
  and bits match JAX exactly; there is no stand-in generator).

Example:
  >>> import interop.lowering as lowering
  >>> f = lowering.lower(lambda x: jnp.tanh(x) @ x.T, np.ones((2, 3), "float32"),
  ...                    backend="tensorflow")
  >>> f(tf.ones((2, 3))).shape
  TensorShape([2, 2])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import tensorflow as tf

from interop.lowering import Backend
from interop.tensorflow import (
    control,
    elementwise,
    indexing,
    linalg,
    random,
    reduce,
    shape,
)
from interop.tensorflow.common import GRAPH_LOCAL_CONSTANTS


def _is_constant(x: Any) -> bool:
    return isinstance(x, tf.Tensor) and not tf.is_symbolic_tensor(x)


def _folding(rule: Callable[..., Any]) -> Callable[..., Any]:
    """`rule`, run eagerly when every input is an eager constant.

    The interpreter prepares each jaxpr once and keeps its constants (and the
    equations computed from constants only) for later calls, which may build
    other `tf.function` graphs; eager tensors can be captured by any graph,
    while a tensor of one graph is useless in another.
    """

    def run(ctx: Any, *xs: Any, **params: Any) -> Any:
        if tf.inside_function() and all(map(_is_constant, xs)):
            with tf.init_scope():
                return rule(ctx, *xs, **params)
        return rule(ctx, *xs, **params)

    return run


RULES: dict[str, Any] = {
    name: _folding(rule)
    for table in (
        elementwise.RULES,
        shape.RULES,
        linalg.RULES,
        reduce.RULES,
        indexing.RULES,
        control.RULES,
        random.RULES,
    )
    for name, rule in table.items()
}


def _constant(array: np.ndarray) -> tf.Tensor:
    if GRAPH_LOCAL_CONSTANTS.get():
        return tf.constant(array)
    with tf.init_scope():  # eager, so any graph may capture it (see _folding)
        return tf.constant(array)


def _canonical(dtype: tf.DType) -> np.dtype:
    """The dtype JAX computes in for `dtype` (float64 is float32 without x64)."""
    return jax.dtypes.canonicalize_dtype(np.dtype(dtype.as_numpy_dtype))


def _signature(t: Any) -> tuple[tuple[int, ...], np.dtype]:
    shape = tuple(t.shape)
    if any(s is None for s in shape):
        raise ValueError(
            f"lower on tensorflow: a tensor of shape {shape} has unknown sizes; "
            "the lowered function needs static shapes. Hint: give tf.function an "
            "input_signature with every size, e.g. tf.TensorSpec((32, 8), tf.float32)."
        )
    return shape, _canonical(t.dtype)


def _adopt(t: Any) -> Any:
    dtype = tf.as_dtype(_canonical(t.dtype))
    return t if t.dtype == dtype else tf.cast(t, dtype)


def _fast_key(value: Any) -> Any:
    if tf.is_tensor(value):
        return value.shape, value.dtype
    return None


def _graph(run: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """`run`, traced once into a `tf.function` for eager calls: TensorFlow
    runs a graph far faster than the same ops one by one (a training step
    of hundreds of ops), and `tf.GradientTape` differentiates it the same.
    Inside a `tf.function` of the caller's, `run` adds its ops there."""
    traced = tf.function(run, autograph=False)

    def call(*values: Any) -> list[Any]:
        if tf.inside_function():
            return run(*values)
        return traced(*values)

    return call


BACKEND = Backend(
    name="tensorflow",
    rules=RULES,
    constant=_constant,
    signature=_signature,
    is_tensor=tf.is_tensor,
    adopt=_adopt,
    fast_key=_fast_key,
    eager=_graph,
)
