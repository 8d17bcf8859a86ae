"""Projected updates: an optimizer wrapper that applies weight constraints.

Keras applies each weight's constraint right after the optimizer updates it.
`project(tx, constrain)` wraps an optax transformation so that its updates
land the parameters on `constrain(params + updates)`: the update it returns
is that point minus the current parameters. The wrapped state is `tx`'s,
unchanged, so learning-rate lookups and archives see the same state.

Example:
  >>> import optax
  >>> tx = project(optax.sgd(1.0), lambda p: jax.tree.map(jnp.abs, p))
  >>> params = {"w": jnp.array([0.5])}
  >>> updates, _ = tx.update({"w": jnp.array([2.0])}, tx.init(params), params)
  >>> optax.apply_updates(params, updates)["w"].tolist()
  [1.5]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax


def project(tx: optax.GradientTransformation, constrain: Callable[[Any], Any]) -> Any:
    """`tx`, whose updates move the parameters onto `constrain(...)` of where
    `tx` would have put them."""

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        updates, state = tx.update(updates, state, params)
        target = constrain(optax.apply_updates(params, updates))
        return jax.tree.map(lambda t, p: t - p, target, params), state

    return optax.GradientTransformation(tx.init, update)
