"""Frozen parameters: an optimizer wrapper that never updates them.

Keras's `layer.trainable = False` keeps a layer's weights out of training.
Here the model says which parameters are trainable (a pytree of Python bools
shaped like the parameters, fixed when the model is compiled, as in Keras)
and `freeze` wraps the optax transformation so that the gradients it sees and
the updates it returns are zero for every frozen leaf. Weight decay and
momentum therefore never move a frozen parameter. The wrapped state is the
inner one, unchanged, so learning-rate lookups and archives see the same
optimizer state as without freezing.

Example:
  >>> import optax
  >>> params = {"frozen": jnp.ones(2), "free": jnp.ones(2)}
  >>> tx = freeze(optax.adamw(0.1), lambda p: {"frozen": False, "free": True})
  >>> updates, _ = tx.update(params, tx.init(params), params)
  >>> updates["frozen"].tolist(), bool((updates["free"] != 0).all())
  ([0.0, 0.0], True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

MaskFn = Callable[[Any], Any]


def _zero_frozen(tree: Any, mask: Any) -> Any:
    return jax.tree.map(lambda x, keep: x if keep else jnp.zeros_like(x), tree, mask)


def freeze(tx: optax.GradientTransformation, mask_fn: MaskFn) -> Any:
    """`tx` with every parameter where `mask_fn(params)` is False held still.

    Args:
      tx: the optimizer's transformation.
      mask_fn: maps a parameter pytree to a pytree of the same structure of
        Python bools, True where the parameter trains.

    Returns:
      An `optax.GradientTransformation` whose state is `tx`'s.
    """

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        mask = mask_fn(updates)
        updates, state = tx.update(_zero_frozen(updates, mask), state, params)
        return _zero_frozen(updates, mask), state

    return optax.GradientTransformation(tx.init, update)
