"""Schedule-Free AdamW (Defazio et al., 2024), as Keras's: no schedule to
tune, the weights an interpolation of two sequences.

The state keeps `z`, the sequence gradient steps move (it starts at the
weights), and Adam's second moment `v`. The weights are `y = (1 - b1) z +
b1 x`, where `x`, the running average of `z` over the steps, is recovered from
`y` and the previous `z` (Keras keeps no third copy). Keras's decoupled weight
decay shrinks `y` before the step; a linear warmup of `warmup_steps` scales
the rate up from 0.

Example:
  >>> tx = ScheduleFreeAdamW(0.1).transform()
  >>> w = {"w": jnp.ones(2)}
  >>> updates, _ = tx.update({"w": jnp.ones(2)}, tx.init(w), w)
  >>> [round(u, 4) for u in updates["w"].tolist()]  # first step: x = z = y - lr
  [-0.1, -0.1]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from train.optimizers import rules
from train.optimizers.base import AdamFamily


class ScheduleFreeState(NamedTuple):
    count: jax.Array
    z: Any
    v: Any


def keras_schedule_free_adamw(
    learning_rate: Any, beta_1: float, beta_2: float, epsilon: float,
    warmup_steps: int, weight_decay: float | None,
) -> optax.GradientTransformation:  # fmt: skip
    """The update `y_new - y` of Keras's ScheduleFreeAdamW (see the module)."""

    def init(params):
        return ScheduleFreeState(
            jnp.zeros((), jnp.int32), jax.tree.map(jnp.array, params),  # copies
            rules.fresh_zeros(params),
        )  # fmt: skip

    def update(grads, state, params=None):
        if params is None:
            raise ValueError(
                "ScheduleFreeAdamW: the update needs the parameters (params=...)."
            )
        t = (state.count + 1).astype(jnp.float32)
        rate = learning_rate
        if warmup_steps > 0:
            rate = rate * jnp.minimum(t / warmup_steps, 1.0)
        shrink = 1.0 - learning_rate * weight_decay if weight_decay else 1.0

        def one(g, y, z, v):
            v = v + (g * g - v) * (1 - beta_2)
            z_new = z - rate * g / (jnp.sqrt(v / (1 - beta_2**t)) + epsilon)
            x = (y * shrink - (1 - beta_1) * z) / beta_1
            x = (1 - 1 / t) * x + z_new / t
            y_new = (1 - beta_1) * z_new + beta_1 * x
            return y_new - y, z_new, v

        out = jax.tree.map(one, grads, params, state.z, state.v)
        updates, z, v = (rules.part(grads, out, i) for i in range(3))
        return updates, ScheduleFreeState(state.count + 1, z, v)

    return optax.GradientTransformation(init, update)


class ScheduleFreeAdamW(AdamFamily):
    """Schedule-Free AdamW (Keras's defaults: rate 0.0025, epsilon 1e-8).

    Args:
      beta_1: the interpolation between `z` and the average `x`.
      beta_2: the second moment's decay.
      warmup_steps: steps over which the rate rises linearly from 0.

    Example:
      >>> ScheduleFreeAdamW(warmup_steps=100).learning_rate
      0.0025
    """

    hyperparameters = (*AdamFamily.hyperparameters, "warmup_steps")
    default_name = "schedule_free_adam_w"

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, **kwargs):  # fmt: skip
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        if not 0 < beta_1 < 1:  # x is recovered from y by dividing by beta_1
            raise ValueError(
                f"ScheduleFreeAdamW: beta_1 must lie in (0, 1), received {beta_1!r}."
            )
        self.warmup_steps = warmup_steps

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return keras_schedule_free_adamw(
            learning_rate, self.beta_1, self.beta_2, self.epsilon, self.warmup_steps,
            self.weight_decay,
        )  # fmt: skip

    def _decay(self, learning_rate: Any) -> None:
        """None: the rule decays `y` itself, before it recovers `x` from it."""
        return None
