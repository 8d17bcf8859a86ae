"""Keras's way of writing a metric, over the pure metric contract.

A subclass of `train.metrics.Metric` written Keras's way keeps variables
(`self.add_variable(...)`), changes them in `update_state(y_true, y_pred,
sample_weight=None)` and reads them in `result()`. Its pure twin comes from
here: `init()` makes the variables' first values, `update(state, ...)` runs
`update_state` inside a scope over `state` and returns what it assigned,
`result(state)` runs the Keras `result()` in such a scope. So it runs inside
the compiled step. Used eagerly, outside any step, the metric keeps its
own values: `update_state`, `result()` and `reset_state()` then work on
them, as in Keras.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from stateless import random
from stateless.scope import StatelessScope
from stateless.variable import Variable


class MetricScope(StatelessScope):
    """Holds one metric's variables by name; its handles read them here."""

    def __init__(self, owner: Any, state: dict[str, Any]):
        super().__init__(state)
        self.owner = owner

    def variable_path(self, variable: Any) -> str | None:
        return variable.name if variable.owner is self.owner else None


def _initializer(initializer: Any, dtype: str) -> Any:
    if callable(initializer):
        return lambda key, shape, dtype_: jnp.asarray(initializer(shape, dtype_))
    value = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer)
    if not isinstance(value, int | float):
        raise ValueError(
            f"add_variable: initializer must be 'zeros', 'ones', a number or a "
            f"function (shape, dtype), received {initializer!r:.80}."
        )
    return lambda key, shape, dtype_: jnp.full(shape, value, dtype)


def add_variable(
    metric: Any, shape: Any, initializer: Any, dtype: Any, name: str | None
) -> Variable:
    """Declares one variable of a Keras-style metric; returns its handle."""
    declared = vars(metric).setdefault("_metric_variables", [])
    if name is None:
        name = f"variable_{len(declared)}" if declared else "variable"
    if any(v.name == name for v in declared):
        raise ValueError(
            f"{type(metric).__name__}.add_variable: a variable named {name!r} exists."
        )
    dtype = dtype or "float32"
    handle = Variable(
        tuple(shape), dtype, _initializer(initializer, dtype),
        trainable=False, name=name, owner=metric,
    )  # fmt: skip
    declared.append(handle)
    return handle


def init(metric: Any) -> dict[str, Any]:
    """The variables' first values, by name."""
    return {
        v.name: v.initializer(random.key(0), v.shape, v.dtype)
        for v in vars(metric).get("_metric_variables", [])
    }


def update(metric: Any, state: dict[str, Any], *args: Any, **kwargs: Any) -> dict:
    """`state` after the metric's `update_state(*args, **kwargs)`."""
    with MetricScope(metric, state) as scope:
        metric.update_state(*args, **kwargs)
    return scope.values


def held(metric: Any) -> dict[str, Any]:
    """The values an eagerly used metric keeps (made by `init` at first use)."""
    if "_held_state" not in vars(metric):
        object.__setattr__(metric, "_held_state", init(metric))
    return vars(metric)["_held_state"]


def result(metric: Any, keras_result: Any, state: dict[str, Any] | None) -> Any:
    """The metric's Keras `result()`, read from `state` (or, eagerly, from
    the values it keeps)."""
    if state is None:
        state = held(metric)
    with MetricScope(metric, state):
        value = keras_result(metric)
        return value.value if isinstance(value, Variable) else value
