"""Keras's JAX layout of a model's state, and steps written in it.

Keras's guide to customizing `fit` on JAX writes the steps over lists:
`train_step(self, state, data) -> (logs, state)` with `state =
(trainable_variables, non_trainable_variables, optimizer_variables,
metrics_variables)`, the weights in the order of `model.trainable_variables`
and `model.non_trainable_variables`, and the forward pass as
`model.stateless_call(trainable_variables, non_trainable_variables, x,
training=...) -> (y_pred, non_trainable_variables)`. Here a model's state is
`{"params", "state"}` trees and a run's is a `TrainState`; this module maps
one onto the other:

* `VariableLayout` says where each listed weight lives in the trees;
* `MetricSlots` says where each of `model.metrics` keeps its state in
  `TrainState.metrics`;
* `program_steps` turns the steps a model class overrides in Keras's layout
  (recognised by their first argument, `state`) into the pure
  `(TrainState, batch) -> (TrainState, logs)` steps the trainer runs.

Example:
  >>> import nn
  >>> from nn import layers
  >>> model = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
  >>> trainable = [w.value for w in model.trainable_variables]
  >>> y, non_trainable = model.stateless_call(trainable, [], jnp.ones((4, 3)))
  >>> y.shape, non_trainable
  ((4, 2), [])
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from nn.layers import weights_surface
from stateless import random
from stateless.added_losses import collect_losses
from stateless.scope import (
    StatelessScope,
    current_scope,
    flatten_paths,
    unflatten_paths,
)
from train.optimizer_variables import Binding, bound
from train.stateless_metric import CompiledMetrics
from train.steps import LOSS, unpack_batch

Entry = tuple[str, str]  # (collection, path)
COLLECTIONS = ("params", "state")


@dataclasses.dataclass(frozen=True)
class VariableLayout:
    """Where the weights of `model.trainable_variables` and
    `model.non_trainable_variables` live in `{"params", "state"}`.

    Attributes:
      trainable: `(collection, path)` of each trainable weight, Keras's order.
      non_trainable: the same for the others: layer state and the weights
        of frozen layers, then any variable no handle lists, in path order.
    """

    trainable: tuple[Entry, ...]
    non_trainable: tuple[Entry, ...]

    @classmethod
    def of(cls, model: Any, variables: Any = None) -> VariableLayout:
        """The layout of a built model's `variables` (default: its own)."""
        listed = weights_surface.listed(model)  # builds a model that can build
        variables = model.variables if variables is None else variables
        if variables is None:
            raise ValueError(
                f"{type(model).__name__} {model.name!r} is not built, so its "
                "variables are unknown. Hint: model.build(input_shape), or start "
                "it with layers.Input."
            )
        trainable = [(w.collection, w.path) for w, trains in listed if trains]
        others = [(w.collection, w.path) for w, trains in listed if not trains]
        known = {*trainable, *others}
        for collection in COLLECTIONS:
            for path in sorted(flatten_paths(variables[collection])):
                if (collection, path) not in known:
                    others.append((collection, path))
        return cls(tuple(trainable), tuple(others))

    def split(self, variables: Any) -> tuple[list[Any], list[Any]]:
        """`(trainable_variables, non_trainable_variables)` as lists."""
        flat = {c: flatten_paths(variables[c]) for c in COLLECTIONS}
        return (
            [flat[c][p] for c, p in self.trainable],
            [flat[c][p] for c, p in self.non_trainable],
        )

    def join(self, trainable: Sequence[Any], non_trainable: Sequence[Any]) -> Any:
        """`{"params", "state"}` from the two lists."""
        for name, entries, given in (
            ("trainable_variables", self.trainable, trainable),
            ("non_trainable_variables", self.non_trainable, non_trainable),
        ):
            if len(given) != len(entries):
                raise ValueError(
                    f"stateless_call: expected {len(entries)} {name} (in the order "
                    f"of model.{name}), received {len(given)}."
                )
        flat: dict[str, dict[str, Any]] = {c: {} for c in COLLECTIONS}
        for (c, p), value in zip(self.trainable + self.non_trainable,
                                 [*trainable, *non_trainable]):  # fmt: skip
            flat[c][p] = value
        return {c: unflatten_paths(flat[c]) for c in COLLECTIONS}

    def binding(self, optimizer: Any, tx: Any, opt_state: Any, params: Any) -> Binding:
        """Binds `optimizer.stateless_apply` to a run's optimizer state made
        over `params` (frozen weights stand in as zeros: never updated)."""
        shapes = flatten_paths(params)
        paths = [p for _, p in self.trainable]

        def to_tree(values: Sequence[Any]) -> Any:
            flat = {p: jnp.zeros_like(v) for p, v in shapes.items()}
            flat.update(zip(paths, values))
            return unflatten_paths(flat)

        def to_list(tree: Any) -> list[Any]:
            flat = flatten_paths(tree)
            return [flat[p] for p in paths]

        treedef = jax.tree.structure(opt_state)
        return Binding(optimizer, tx, treedef, to_tree, to_list)


_LAYOUT: contextvars.ContextVar[tuple[Any, VariableLayout] | None] = (
    contextvars.ContextVar("keras_layout", default=None)
)


@contextlib.contextmanager
def _layout_for(model: Any, layout: VariableLayout) -> Iterator[None]:
    token = _LAYOUT.set((model, layout))
    try:
        yield
    finally:
        _LAYOUT.reset(token)


def layout_of(model: Any) -> VariableLayout:
    """The layout the running step fixed for `model`, else the model's now."""
    fixed = _LAYOUT.get()
    if fixed is not None and fixed[0] is model:
        return fixed[1]
    return VariableLayout.of(model)


def stateless_call(
    model: Any,
    trainable_variables: Sequence[Any],
    non_trainable_variables: Sequence[Any],
    *args: Any,
    return_losses: bool = False,
    **kwargs: Any,
) -> Any:
    """`model.apply` over Keras's lists; see `Model.stateless_call`."""
    layout = layout_of(model)
    variables = layout.join(trainable_variables, non_trainable_variables)
    training = bool(kwargs.pop("training", False))
    scope = current_scope()
    rng = random.next_key() if training and scope and scope.has_rng else None
    with collect_losses() as losses:
        y, state = model.apply(variables, *args, training=training, rng=rng, **kwargs)
    non_trainable = layout.split({"params": variables["params"], "state": state})[1]
    if return_losses:
        return y, non_trainable, list(losses)
    return y, non_trainable


class MetricSlots:
    """Where each of `model.metrics` keeps its state in `TrainState.metrics`:
    the running loss under `"loss"`, the compiled metrics under their names,
    a metric of the model's own under `"model.metrics[i]"`."""

    def __init__(self, metrics: Sequence[Any]):
        self.metrics = list(metrics)

    @staticmethod
    def key(index: int) -> str:
        return f"model.metrics[{index}]"

    def _keys(self, index: int, metric: Any) -> list[str]:
        """The `TrainState.metrics` entries that hold `metric`'s state; its
        variables are their leaves, in key order."""
        if metric is LOSS:
            return ["loss"]
        if isinstance(metric, CompiledMetrics):
            return sorted(metric.metrics)
        return [self.key(index)]

    def first_states(self) -> dict[str, Any]:
        """The states of the model's own metrics, at their start."""
        return {
            self.key(i): m.init()
            for i, m in enumerate(self.metrics)
            if self._keys(i, m) == [self.key(i)]
        }

    def _slots(self, states: Any) -> list[dict[str, Any]]:
        return [
            {k: states[k] for k in self._keys(i, m)} for i, m in enumerate(self.metrics)
        ]

    def to_list(self, states: Any) -> list[Any]:
        """`metrics_variables`: every metric's state, flat, in model order."""
        return [leaf for slot in self._slots(states) for leaf in jax.tree.leaves(slot)]

    def merged(self, states: Any, metrics_variables: Sequence[Any]) -> dict:
        """`states` with the metrics' new variables written back."""
        new, rest = dict(states), list(metrics_variables)
        for slot in self._slots(states):
            treedef = jax.tree.structure(slot)
            mine, rest = rest[: treedef.num_leaves], rest[treedef.num_leaves :]
            new.update(jax.tree.unflatten(treedef, mine))
        return new


def keras_data(batch: Any) -> tuple[Any, ...]:
    """A batch as Keras hands it to a step: `(x,)`, `(x, y)` or `(x, y, w)`."""
    x, y, w = unpack_batch(batch)
    if w is not None:
        return x, y, w
    return (x,) if y is None else (x, y)


def _logs(step_name: str, logs: Any) -> dict[str, Any]:
    if not isinstance(logs, dict):
        raise TypeError(
            f"{step_name}: a step in Keras's layout returns (logs, state) with logs "
            f"a dict of metric values; received logs of type {type(logs).__name__}."
        )
    return logs


def _lists(model: Any, ts: Any) -> tuple[VariableLayout, MetricSlots, list, list]:
    """The layout, the metric slots and the two weight lists of a run's state."""
    variables = {"params": ts.params, "state": ts.state}
    layout = VariableLayout.of(model, variables)
    return layout, MetricSlots(model.metrics), *layout.split(variables)


def _train_step(model: Any, step: Callable[..., Any]) -> Callable[..., Any]:
    def train_step(ts: Any, batch: Any) -> tuple[Any, dict[str, Any]]:
        layout, slots, trainable, non_trainable = _lists(model, ts)
        binding = layout.binding(model.optimizer, model.trainer.tx, ts.opt_state,
                                 ts.params)  # fmt: skip
        state = (trainable, non_trainable, jax.tree.leaves(ts.opt_state),
                 slots.to_list(ts.metrics))  # fmt: skip
        rng = random.fold_in(ts.key, ts.step)
        with bound(binding), _layout_for(model, layout), StatelessScope(rng=rng):
            logs, state = step(state, keras_data(batch))
        trainable, non_trainable, opt_variables, metrics_variables = state
        variables = layout.join(trainable, non_trainable)
        ts = ts._replace(
            step=ts.step + 1, params=variables["params"], state=variables["state"],
            opt_state=jax.tree.unflatten(binding.treedef, list(opt_variables)),
            metrics=slots.merged(ts.metrics, metrics_variables),
        )  # fmt: skip
        return ts, _logs("train_step", logs)

    return train_step


def _test_step(model: Any, step: Callable[..., Any]) -> Callable[..., Any]:
    def test_step(ts: Any, batch: Any) -> tuple[Any, dict[str, Any]]:
        layout, slots, trainable, non_trainable = _lists(model, ts)
        state = (trainable, non_trainable, slots.to_list(ts.metrics))
        with _layout_for(model, layout):
            logs, state = step(state, keras_data(batch))
        metrics = slots.merged(ts.metrics, state[2])
        return ts._replace(metrics=metrics), _logs("test_step", logs)

    return test_step


def _predict_step(model: Any, step: Callable[..., Any]) -> Callable[..., Any]:
    def predict_step(variables: Any, x: Any) -> Any:
        layout = VariableLayout.of(model, variables)
        with _layout_for(model, layout):
            outputs, _ = step(layout.split(variables), (x,))
        return outputs

    return predict_step


def keras_style(step: Callable[..., Any], name: str) -> bool:
    """Whether an overridden step is written in Keras's JAX layout: its first
    argument is named `state`, as Keras names it (ours: `train_state`)."""
    arguments = list(inspect.signature(step).parameters)
    if len(arguments) == 1:
        raise TypeError(
            f"{name}(self, {arguments[0]}) is Keras's TensorFlow and PyTorch way, "
            f"which updates weights in place. Write {name}(self, state, data) "
            "(Keras's JAX layout) or the pure step of nn.models.training."
        )
    return bool(arguments) and arguments[0] == "state"


_ADAPTERS = {"train_step": _train_step, "test_step": _test_step,
             "predict_step": _predict_step}  # fmt: skip


def program_steps(model: Any, steps: dict[str, Any]) -> dict[str, Any]:
    """The overridden steps as the trainer runs them, keyed like `steps`
    (`None` for a step not overridden); Keras-style ones are adapted, and
    `init_metrics` gives the states of the model's own metrics."""
    adapted = dict(steps)
    for name, step in steps.items():
        if step is not None and keras_style(step, name):
            adapted[name] = _ADAPTERS[name](model, step)
    if adapted != steps:
        adapted["init_metrics"] = lambda: MetricSlots(model.metrics).first_states()
    return adapted
