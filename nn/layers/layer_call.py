"""What runs around every layer's `init` and `apply`: Keras's base keywords.

Every layer takes `trainable`, `dtype` and `activity_regularizer` (see
`nn.layers.base.LayerMeta`). Their effect is added here, once for all
layers, by wrapping each class's `init` and `apply`:

* `apply` runs under `jax.named_scope(<layer name>)`, so profiles and the
  HLO name the layer;
* a layer given a dtype policy computes in the policy's compute dtype: its
  float inputs (unless `autocast=False`) and float parameters are cast to it
  (`dtype="float32"` keeps one layer in float32 under a mixed policy), and
  `init` stores its float variables in the policy's variable dtype;
* an `activity_regularizer` adds its penalty on each output, divided by the
  batch size as Keras divides it, to the loss (`stateless.added_losses`).

A subclass whose `apply` calls `super().apply(...)` is wrapped once: only the
outermost call of a layer does these things.

Example:
  >>> from nn import layers
  >>> from stateless import added_losses
  >>> layer = layers.Dense(2, activity_regularizer="l2", dtype="bfloat16")
  >>> v = layer.init(sl.random.key(0), jnp.ones((4, 3)))
  >>> v["params"]["kernel"].dtype
  dtype(bfloat16)
  >>> with added_losses.collect_losses() as added:
  ...     y, _ = layer.apply(v, jnp.ones((4, 3)))
  >>> y.dtype, len(added)
  (dtype(bfloat16), 1)
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from stateless import added_losses, ops

_RUNNING: contextvars.ContextVar[tuple[int, ...]] = contextvars.ContextVar(
    "nn_running_layers", default=()
)


def _cast_float(leaf: Any, dtype: str) -> Any:
    if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating):
        if isinstance(leaf, jax.ShapeDtypeStruct):
            return jax.ShapeDtypeStruct(leaf.shape, dtype)
        return leaf.astype(dtype)
    return leaf


def _cast_floats(tree: Any, dtype: str) -> Any:
    """`tree` with its float leaves in `dtype`, each dict in its own key order
    (so variables stay in the order the layer created them, the order
    Keras's weights files are read in; `jax.tree.map` would sort them)."""
    if isinstance(tree, dict):
        return {k: _cast_floats(v, dtype) for k, v in tree.items()}
    return jax.tree.map(lambda leaf: _cast_float(leaf, dtype), tree)


def _outermost(method: Callable[..., Any]) -> Callable[..., Any]:
    """Runs `method`'s extras only in a layer's outermost call of it."""

    def decorate(extras):
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            running = _RUNNING.get()
            if running and running[-1] == id(self):  # super().apply(...)
                return method(self, *args, **kwargs)
            token = _RUNNING.set((*running, id(self)))
            try:
                return extras(self, *args, **kwargs)
            finally:
                _RUNNING.reset(token)

        run.wraps_layer_call = True
        return run

    return decorate


def _activity_penalty(regularizer: Any, outputs: Any) -> Any:
    total = 0.0
    for y in jax.tree.leaves(outputs):
        if not hasattr(y, "shape"):
            continue
        penalty = regularizer(ops.cast(y, "float32"))
        if len(y.shape):
            penalty = penalty / max(y.shape[0], 1)
        total = total + penalty
    return total


def wrap_apply(apply: Callable[..., Any]) -> Callable[..., Any]:
    """`apply` with the name scope, dtype policy and activity penalty."""

    @_outermost(apply)
    def run(self, variables, *inputs, **kwargs):
        policy = self.dtype_policy
        if policy is not None:
            if getattr(self, "autocast", True):
                inputs = _cast_floats(inputs, policy.compute_dtype)
            variables = {
                **variables,
                "params": _cast_floats(variables["params"], policy.compute_dtype),
            }
        with jax.named_scope(self.default_name):
            outputs, state = apply(self, variables, *inputs, **kwargs)
            regularizer = getattr(self, "activity_regularizer", None)
            if regularizer is not None:
                added_losses.add_loss(_activity_penalty(regularizer, outputs))
        return outputs, state

    return run


def wrap_init(init: Callable[..., Any]) -> Callable[..., Any]:
    """`init` storing float variables in the layer's variable dtype."""

    @_outermost(init)
    def run(self, key, *inputs, **kwargs):
        policy = self.dtype_policy
        if policy is None:
            return init(self, key, *inputs, **kwargs)
        if getattr(self, "autocast", True):
            inputs = _cast_floats(inputs, policy.compute_dtype)
        return _cast_floats(init(self, key, *inputs, **kwargs), policy.variable_dtype)

    return run
