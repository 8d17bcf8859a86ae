"""The fit loop's jitted training step, donating every buffer nobody else holds.

A step that donates its `TrainState` writes the new one into the old one's
buffers; one that keeps them allocates fresh output buffers every step, which
on the CPU (new pages faulted in each time) costs the MLP benchmark about a
fifth of its speed. The loop's optimizer and metric states are its own, so
they are always donated. The parameters and layer state are donated unless
the loop has *published* them (on `model.variables`, to callbacks) or they
came from the caller: then whoever holds them may keep them (EarlyStopping
keeps its best weights), so the step is given a copy instead.

Example:
  >>> import jax.numpy as jnp
  >>> run = donating_step(lambda ts, batch: (ts._replace(step=ts.step + 1), {}))
  >>> ts = TrainState(jnp.zeros((), jnp.int32), {"w": jnp.ones(2)}, {}, (), {},
  ...                 jnp.zeros(2, jnp.uint32))
  >>> new, _ = run(ts, None, shown=True)      # ts.params are someone's: kept
  >>> bool(ts.params["w"].is_deleted()), bool(ts.step.is_deleted())
  (False, True)
  >>> _ = run(new, None, shown=False)         # only the loop holds new.params
  >>> bool(new.params["w"].is_deleted())
  True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from train.steps import TrainState

Step = Callable[[TrainState, Any], tuple[TrainState, Any]]


def _copy_tree(tree: Any) -> Any:
    return jax.tree.map(jnp.copy, tree)


def donating_step(step: Step) -> Callable[..., tuple[TrainState, Any]]:
    """`step` jitted once, donating its whole `TrainState`.

    Returns:
      `run(ts, batch, shown)`: with `shown=True` the step gets a copy of
      `ts.params` and `ts.state` (one dispatch), so the arrays the caller
      holds stay valid; every other buffer of `ts` is donated either way.
    """
    compiled = jax.jit(step, donate_argnums=(0,))
    copy = jax.jit(_copy_tree)

    def run(ts: TrainState, batch: Any, shown: bool) -> tuple[TrainState, Any]:
        if shown:
            params, state = copy((ts.params, ts.state))
            ts = ts._replace(params=params, state=state)
        return compiled(ts, batch)

    return run
