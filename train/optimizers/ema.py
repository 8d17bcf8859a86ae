"""An exponential moving average of the weights, kept in the optimizer state
(Keras's `use_ema`).

After each update the average moves toward the new weights:
`ema = m * ema + (1 - m) * w` (the first update copies them). With
`overwrite_frequency` n, every n-th update sets the weights to the average.
At the end of `fit` the weights become the average (`finalized`), as Keras's
`finalize_variable_values` does; `SwapEMAWeights` swaps them for evaluation.

Example:
  >>> tx = tracking_ema(optax.sgd(1.0), momentum=0.5)
  >>> w = {"w": jnp.zeros(1)}
  >>> state = tx.init(w)
  >>> for _ in range(2):
  ...     updates, state = tx.update({"w": -jnp.ones(1)}, state, w)
  ...     w = optax.apply_updates(w, updates)
  >>> w["w"].tolist(), ema_of(state)["w"].tolist()  # 1, 2 averaged after a copy
  ([2.0], [1.5])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class EmaState(NamedTuple):
    inner_state: Any  # the wrapped rule's state (its learning rate inside)
    count: jax.Array
    ema: Any


def tracking_ema(
    inner: optax.GradientTransformation,
    momentum: float,
    overwrite_frequency: int | None = None,
    batches_per_update: int = 1,
) -> optax.GradientTransformation:
    """`inner`, with the moving average of the weights it leads to in its state.

    The average moves after every batch; when `inner` accumulates gradients
    over `batches_per_update` batches, the first update's batches copy the
    weights and `overwrite_frequency` counts updates (Keras's `iterations`).
    """

    def init(params):
        ema = jax.tree.map(jnp.array, params)  # a copy: params may be donated
        return EmaState(inner.init(params), jnp.zeros((), jnp.int32), ema)

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("use_ema: the update needs the parameters (params=...).")
        updates, inner_state = inner.update(grads, state.inner_state, params)
        new = optax.apply_updates(params, updates)
        updates_done = state.count // batches_per_update
        m = jnp.where(updates_done == 0, 0.0, momentum)
        ema = jax.tree.map(lambda a, w: m * a + (1 - m) * w, state.ema, new)
        if overwrite_frequency:
            now = (updates_done + 1) % overwrite_frequency == 0
            updates = jax.tree.map(
                lambda u, a, w: jnp.where(now, a - w, u), updates, ema, params
            )
        return updates, EmaState(inner_state, state.count + 1, ema)

    return optax.GradientTransformation(init, update)


# The fields under which a wrapping state holds the wrapped one: optax's
# MultiSteps, and loss scaling (train.precision).
_WRAPPED = ("inner_opt_state", "inner_state")


def wrapped_field(opt_state: Any) -> str | None:
    """The field of `opt_state` that holds the state it wraps, or None."""
    return next((f for f in _WRAPPED if hasattr(opt_state, f)), None)


def ema_of(opt_state: Any) -> Any:
    """The average of the weights in a state made with `use_ema=True`, or None."""
    if isinstance(opt_state, EmaState):
        return opt_state.ema
    field = wrapped_field(opt_state)
    return None if field is None else ema_of(getattr(opt_state, field))


def with_ema(opt_state: Any, ema: Any) -> Any:
    """`opt_state` holding `ema` as its average of the weights."""
    if isinstance(opt_state, EmaState):
        return opt_state._replace(ema=ema)
    field = wrapped_field(opt_state)
    if field is None:
        raise ValueError(
            "the optimizer keeps no moving average of the weights; build it with "
            "use_ema=True."
        )
    return opt_state._replace(**{field: with_ema(getattr(opt_state, field), ema)})
