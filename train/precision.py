"""Mixed precision in the steps: half-precision compute over float32 variables,
and dynamic loss scaling for float16.

The policy (`stateless.mixed_precision`) is applied where the model is run:
the step casts the float32 parameters and float inputs to the compute dtype
just before `apply`, so every layer computes in half precision while the
optimizer keeps and updates float32 masters (the gradient of the cast brings
them back to float32). Losses and metrics are computed in float32.

float16's narrow range needs the loss scaled up before differentiation and the
gradients scaled back down: `dynamic_loss_scale(tx)` wraps an optax
transformation with that bookkeeping in its state. A step whose gradients are
not finite leaves the parameters and optimizer state unchanged and halves the
scale; after `period` finite steps the scale doubles.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


def cast_floats(tree: Any, dtype: Any) -> Any:
    """`tree` with every floating-point leaf cast to `dtype` (others untouched).

    Example:
      >>> tree = {"w": jnp.ones(2), "ids": jnp.arange(2)}
      >>> jax.tree.map(lambda a: a.dtype.name, cast_floats(tree, "bfloat16"))
      {'ids': 'int32', 'w': 'bfloat16'}
    """

    def cast(leaf):
        if jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            return jnp.asarray(leaf).astype(dtype)
        return leaf

    return jax.tree.map(cast, tree)


class LossScaleState(NamedTuple):
    """The current loss scale, the finite steps since it last changed, and the
    wrapped optimizer's state."""

    scale: jax.Array
    good_steps: jax.Array
    inner_state: Any


def dynamic_loss_scale(
    inner: optax.GradientTransformation,
    initial_scale: float = 2.0**15,
    period: int = 2000,
) -> optax.GradientTransformation:
    """Wraps `inner` to take gradients of a loss multiplied by `state.scale`.

    Example:
      >>> tx = dynamic_loss_scale(optax.sgd(1.0), initial_scale=4.0)
      >>> state = tx.init({"w": jnp.zeros(1)})
      >>> updates, state = tx.update({"w": jnp.array([8.0])}, state)  # 4 x grad 2
      >>> updates["w"].tolist(), float(state.scale)
      ([-2.0], 4.0)
      >>> updates, state = tx.update({"w": jnp.array([jnp.inf])}, state)
      >>> updates["w"].tolist(), float(state.scale)
      ([0.0], 2.0)
    """

    def init(params):
        return LossScaleState(
            jnp.asarray(initial_scale, jnp.float32),
            jnp.zeros((), jnp.int32),
            inner.init(params),
        )

    def update(scaled_grads, state, params=None):
        grads = jax.tree.map(
            lambda g: g.astype(jnp.float32) / state.scale, scaled_grads
        )
        finite = jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)])
        )
        updates, inner_state = inner.update(grads, state.inner_state, params)
        updates = jax.tree.map(
            lambda u: jnp.where(finite, u, jnp.zeros_like(u)), updates
        )
        inner_state = jax.tree.map(
            lambda new, old: jnp.where(finite, new, old), inner_state, state.inner_state
        )
        good = jnp.where(finite, state.good_steps + 1, 0)
        grow = good >= period
        scale = jnp.where(
            finite, jnp.where(grow, state.scale * 2, state.scale), state.scale / 2
        )
        return updates, LossScaleState(scale, jnp.where(grow, 0, good), inner_state)

    return optax.GradientTransformation(init, update)


def fixed_loss_scale(
    inner: optax.GradientTransformation, factor: float
) -> optax.GradientTransformation:
    """Wraps `inner` to take gradients of a loss multiplied by a constant
    `factor` (Keras's `loss_scale_factor`): they are divided by it and
    applied whether finite or not; the scale never changes.

    Example:
      >>> tx = fixed_loss_scale(optax.sgd(1.0), 4.0)
      >>> state = tx.init({"w": jnp.zeros(1)})
      >>> updates, state = tx.update({"w": jnp.array([8.0])}, state)
      >>> updates["w"].tolist(), float(state.scale)
      ([-2.0], 4.0)
    """

    def init(params):
        scale = jnp.asarray(factor, jnp.float32)
        return LossScaleState(scale, jnp.zeros((), jnp.int32), inner.init(params))

    def update(scaled_grads, state, params=None):
        grads = jax.tree.map(lambda g: g / state.scale.astype(g.dtype), scaled_grads)
        updates, inner_state = inner.update(grads, state.inner_state, params)
        return updates, state._replace(inner_state=inner_state)

    return optax.GradientTransformation(init, update)
