"""Keras's stateless view of a metric: its state as a flat list of arrays.

Keras's guide to a custom `train_step` on JAX keeps every metric's
variables in one list and calls `metric.stateless_update_state(variables,
...)`, `metric.stateless_result(variables)` and
`metric.stateless_reset_state()`. Here a metric's state is a pytree made by
its pure `init()`; `KerasStateless` gives any object with `init` / `update`
/ `result` those three methods (and `variables`) by flattening that pytree
(`jax.tree.leaves`, so dict entries come in key order). `CompiledMetrics`
is the one entry of `model.metrics` that stands for every metric given to
`compile`, as Keras's `compile_metrics` does: its result is a dict.

Example:
  >>> from train.metrics import Mean
  >>> m = Mean()
  >>> variables = m.stateless_update_state(m.stateless_reset_state(), jnp.ones(3))
  >>> len(variables) == len(m.variables), float(m.stateless_result(variables))
  (True, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax


class KerasStateless:
    """`stateless_update_state` / `stateless_result` / `stateless_reset_state`
    over the pure `init` / `update` / `result` of the class it is mixed into."""

    @property
    def variables(self) -> list[Any]:
        """The state's arrays, in the order the stateless methods take them:
        the values an eagerly used metric holds, else its first values."""
        held = vars(self).get("_held_state")
        return jax.tree.leaves(self.init() if held is None else held)

    def _state_of(self, metric_variables: Sequence[Any]) -> Any:
        treedef = jax.tree.structure(jax.eval_shape(self.init))
        given = list(metric_variables)
        if len(given) != treedef.num_leaves:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected "
                f"{treedef.num_leaves} metric variables (len(metric.variables)), "
                f"received {len(given)}. Hint: slice the metrics' variables in "
                "the order of model.metrics, len(metric.variables) each."
            )
        return jax.tree.unflatten(treedef, given)

    def stateless_update_state(
        self, metric_variables: Sequence[Any], *args: Any, **kwargs: Any
    ) -> list[Any]:
        """The variables after `update_state(*args, **kwargs)`, as a new list."""
        state = self._state_of(metric_variables)
        return jax.tree.leaves(self.update(state, *args, **kwargs))

    def stateless_result(self, metric_variables: Sequence[Any]) -> Any:
        """The metric's value for these variables."""
        return self.result(self._state_of(metric_variables))

    def stateless_reset_state(self) -> list[Any]:
        """Fresh variables, as `reset_state()` would leave them."""
        return jax.tree.leaves(self.init())


class CompiledMetrics(KerasStateless):
    """Every metric given to `compile`, as one entry of `model.metrics`.

    Args:
      metrics: `{log name: metric}` (the trainer's compiled metrics); each
        takes `(state, y_true, y_pred, sample_weight)`.

    Example:
      >>> from train.metrics import MeanAbsoluteError
      >>> both = CompiledMetrics({"mae": MeanAbsoluteError()})
      >>> v = both.stateless_update_state(both.stateless_reset_state(),
      ...                                 jnp.zeros(2), jnp.ones(2))
      >>> {k: float(x) for k, x in both.stateless_result(v).items()}
      {'mae': 1.0}
    """

    name = "compile_metrics"

    def __init__(self, metrics: Mapping[str, Any]):
        self.metrics = dict(metrics)

    def init(self) -> dict[str, Any]:
        return {name: m.init() for name, m in self.metrics.items()}

    def update(
        self, state: Mapping[str, Any], y_true: Any, y_pred: Any,
        sample_weight: Any = None,
    ) -> dict[str, Any]:  # fmt: skip
        return {
            name: m.update(state[name], y_true, y_pred, sample_weight)
            for name, m in self.metrics.items()
        }

    def result(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {name: m.result(state[name]) for name, m in self.metrics.items()}

    def __repr__(self) -> str:
        return f"<CompiledMetrics {list(self.metrics)}>"
