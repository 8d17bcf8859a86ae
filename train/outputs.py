"""What `compile` makes of its loss and metrics, for one output or several.

`compile_objectives` turns Keras's `compile` arguments into the loss the
step minimizes and the metrics it logs:

* `loss` is one loss (for every output), a list in output order, or a dict
  by output name; `loss_weights` (a number, a list or a dict) scales each
  output's loss in the total. An output without a loss adds nothing.
* `metrics` are unweighted: they never see `sample_weight`;
  `weighted_metrics` do. Either is a list of lists in output order, a dict
  by output name, or a flat list: one entry per output when it is as long
  as the outputs (as Keras reads it), else every output's metrics.
* `y_true`, `y_pred` and `sample_weight` of a model with several outputs are
  lists in output order or dicts by output name; one `sample_weight` array
  weighs every output.

The logs follow Keras 3: `loss` (the weighted total), then `<output>_loss`
(each output's unweighted loss, when more than one output has one), then
each output's metrics, `<output>_<metric>`, unweighted before weighted; a
weighted metric whose name is taken becomes `weighted_<metric>`.

Example:
  >>> loss, metrics = compile_objectives(
  ...     {"class": "sparse_categorical_crossentropy", "value": "mse"},
  ...     loss_weights={"value": 0.5}, metrics={"value": ["mae"]},
  ...     weighted_metrics=None, output_names=["class", "value"])
  >>> list(metrics)
  ['class_loss', 'value_loss', 'value_mae']
  >>> y_true = {"class": jnp.array([0, 1]), "value": jnp.ones((2, 1))}
  >>> y_pred = [jnp.array([[0.9, 0.1], [0.2, 0.8]]), jnp.zeros((2, 1))]
  >>> round(float(loss(y_true, y_pred)), 4)  # 0.1643 + 0.5 * 1.0
  0.6643
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from train import losses as losses_lib
from train import metrics as metrics_lib
from train.label_checks import first_flag
from train.output_masks import loss_with_masks, update_with_masks
from train.steps import LOSS, examples_in


@dataclass(frozen=True)
class Output:
    """One output of a model: its position and its name."""

    index: int
    name: str

    def pick(self, tree: Any) -> Any:
        """This output's part of `tree`: a dict by name, a list by position;
        anything else (one array, None) is shared by every output."""
        if isinstance(tree, Mapping):
            if self.name not in tree:
                raise KeyError(
                    f"compile: no entry for output {self.name!r} in a dict with "
                    f"keys {sorted(tree)}. Hint: give y (and sample_weight) one "
                    "entry per output name, or a list in output order."
                )
            return tree[self.name]
        if isinstance(tree, list | tuple):
            return tree[self.index]
        return tree


@dataclass(frozen=True)
class OutputsLoss:
    """The total loss of a model of several outputs: each output's loss,
    weighted, summed."""

    parts: tuple[tuple[Output, Any, float], ...]
    name: str = "loss"

    def check_labels(self, y_true: Any, y_pred_spec: Any) -> None:
        """Each output's labels, checked by its own loss (see `train.label_checks`)."""
        for out, loss, _ in self.parts:
            check = getattr(loss, "check_labels", None)
            if check is not None:
                check(out.pick(y_true), out.pick(y_pred_spec))

    @property
    def flag_labels(self) -> Callable[[Any, Any], Any] | None:
        """The outputs' label flags in a compiled step, the first that refused
        (see `train.label_checks`); None when no output's loss flags labels."""
        flags = [
            (out, loss.flag_labels)
            for out, loss, _ in self.parts
            if getattr(loss, "flag_labels", None) is not None
        ]
        if not flags:
            return None
        return lambda y, p: first_flag(
            [f(out.pick(y), out.pick(p)) for out, f in flags]
        )

    reads_masks = True  # each output's loss gets that output's mask

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, mask: Any = None
    ) -> Any:
        return sum(
            weight * loss_with_masks(loss, *(out.pick(t) for t in (
                y_true, y_pred, sample_weight, mask)))
            for out, loss, weight in self.parts
        )  # fmt: skip


@dataclass(frozen=True)
class ScaledLoss:
    """The loss of a one-output model times its `loss_weights`."""

    loss: Any
    weight: float

    @property
    def name(self) -> str:
        return self.loss.name

    def check_labels(self, y_true: Any, y_pred_spec: Any) -> None:
        check = getattr(self.loss, "check_labels", None)
        if check is not None:
            check(y_true, y_pred_spec)

    @property
    def flag_labels(self) -> Callable[[Any, Any], Any] | None:
        return getattr(self.loss, "flag_labels", None)

    reads_masks = True

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, mask: Any = None
    ) -> Any:
        return self.weight * loss_with_masks(
            self.loss, y_true, y_pred, sample_weight, mask
        )


@dataclass(frozen=True)
class OutputLossMean:
    """The running mean of one output's unweighted loss (`<output>_loss`),
    kept as the running loss is (`train.steps.LOSS`)."""

    output: Output
    loss: Any
    name: str

    def init(self) -> dict[str, jax.Array]:
        return LOSS.init()

    reads_masks = True

    def update(self, state, y_true, y_pred, sample_weight=None, mask=None):
        pick = self.output.pick
        value = loss_with_masks(
            self.loss, pick(y_true), pick(y_pred), pick(sample_weight), pick(mask)
        )
        return LOSS.update(state, value, examples_in(pick(y_pred)))

    def result(self, state):
        return LOSS.result(state)

    def merge(self, a, b):
        return jax.tree.map(jnp.add, a, b)


@dataclass(frozen=True)
class OutputMetric:
    """A metric of one output (all outputs when `output` is None), weighted
    by `sample_weight` or not, logged under `name`."""

    metric: Any
    output: Output | None
    weighted: bool
    name: str

    def init(self) -> Any:
        return self.metric.init()

    reads_masks = True

    def update(self, state, y_true, y_pred, sample_weight=None, mask=None):
        pick = self.output.pick if self.output is not None else (lambda tree: tree)
        weight = pick(sample_weight) if self.weighted else None
        return update_with_masks(
            self.metric, state, pick(y_true), pick(y_pred), weight, pick(mask)
        )

    def result(self, state):
        return self.metric.result(state)

    def merge(self, a, b):
        return self.metric.merge(a, b)

    def __getattr__(self, name: str) -> Any:
        """The wrapped metric's other attributes (`thresholds`, say)."""
        if name == "metric" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.metric, name)


def _per_output(value: Any, outputs: list[Output], what: str) -> list[Any]:
    """`value` (one for all, a list in output order, a dict by name) as one
    entry per output (None where a dict has none)."""
    names = [out.name for out in outputs]
    if isinstance(value, Mapping) and not _is_spec(value):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"compile: {what} names outputs {unknown} that the model does not "
                f"have; its outputs are {names}."
            )
        return [value.get(name) for name in names]
    if isinstance(value, list | tuple) and len(outputs) > 1:
        if len(value) != len(outputs):
            raise ValueError(
                f"compile: {what} is a list of {len(value)} for a model of "
                f"{len(outputs)} outputs {names}. Hint: one entry per output, "
                "in order, or a dict by output name."
            )
        return list(value)
    return [value] * len(outputs)


def _metric_lists(value: Any, outputs: list[Output], what: str) -> list[list[Any]]:
    """Each output's metrics. A list as long as the outputs is one entry per
    output, as Keras reads it; any other flat list is every output's."""
    if value is None:
        return [[] for _ in outputs]
    nested = (isinstance(value, Mapping) and not _is_spec(value)) or (
        isinstance(value, list | tuple)
        and (
            len(value) == len(outputs)
            or any(isinstance(v, list | tuple) or v is None for v in value)
        )
    )
    entries = _per_output(value, outputs, what) if nested else [value] * len(outputs)
    return [
        [] if e is None else list(e) if isinstance(e, list | tuple) else [e]
        for e in entries
    ]


def compile_objectives(
    loss: Any,
    loss_weights: Any = None,
    metrics: Any = None,
    weighted_metrics: Any = None,
    output_names: Sequence[str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The loss to minimize and the metrics to log, `{log name: metric}` in
    Keras's order, from `compile`'s arguments (see the module docstring).

    Args:
      output_names: the model's outputs, in order; None for one output.

    Raises:
      ValueError: a list of the wrong length, or a dict naming no output.
    """
    names = list(output_names or _names_in(loss))
    outputs = [Output(i, n) for i, n in enumerate(names)]
    if len(outputs) <= 1:
        only = names[0] if names else None
        loss, loss_weights, metrics, weighted_metrics = (
            _only(v, only) for v in (loss, loss_weights, metrics, weighted_metrics)
        )
        if isinstance(loss, list | tuple) and len(loss) == 1:
            loss = loss[0]
        return _single(loss, loss_weights, metrics, weighted_metrics)
    found = [losses_lib.get(v) for v in _per_output(loss, outputs, "loss")]
    weights = _per_output(loss_weights, outputs, "loss_weights")
    parts = tuple(
        (out, f, 1.0 if w is None else float(w))
        for out, f, w in zip(outputs, found, weights)
        if f is not None
    )
    logged: dict[str, Any] = {}
    if len(parts) > 1:
        for out, f, _ in parts:
            logged[f"{out.name}_loss"] = OutputLossMean(out, f, f"{out.name}_loss")
    plain = _metric_lists(metrics, outputs, "metrics")
    weighted = _metric_lists(weighted_metrics, outputs, "weighted_metrics")
    for out, f, mine, theirs in zip(outputs, found, plain, weighted):
        for entries, is_weighted in ((mine, False), (theirs, True)):
            for entry in entries:
                metric = metrics_lib.resolve(entry, f)
                name = _free(f"{out.name}_{metric.name}", logged, out.name, metric)
                logged[name] = OutputMetric(metric, out, is_weighted, name)
    return (OutputsLoss(parts) if parts else None), logged


def _is_spec(value: Any) -> bool:
    """Whether `value` is one serialized object (`{"class_name", "config"}`)."""
    return isinstance(value, Mapping) and "class_name" in value


def _names_in(loss: Any) -> list[str]:
    """Output names read from a per-output `loss`, for a model that does not
    name its outputs: a dict's keys (in `jax.tree` order), or positions."""
    if isinstance(loss, Mapping) and not _is_spec(loss):
        return sorted(loss)
    if isinstance(loss, list | tuple):
        return [f"output_{i}" for i in range(len(loss))]
    return []


def _only(value: Any, name: str | None) -> Any:
    """A one-output model's argument given by output name or as a list of
    one, as the argument itself."""
    if isinstance(value, Mapping) and not _is_spec(value) and len(value) == 1:
        if name is not None and name not in value:
            raise ValueError(
                f"compile: an argument names output {next(iter(value))!r}; the "
                f"model's output is {name!r}."
            )
        return next(iter(value.values()))
    return value


def _single(loss: Any, loss_weights: Any, metrics: Any, weighted_metrics: Any):
    found = losses_lib.get(loss)
    weight = loss_weights
    if isinstance(weight, list | tuple) and len(weight) == 1:
        weight = weight[0]
    total = found
    if weight is not None and float(weight) != 1.0 and found is not None:
        total = ScaledLoss(found, float(weight))
    logged: dict[str, Any] = {}
    for entries, is_weighted in ((metrics, False), (weighted_metrics, True)):
        if (
            entries is None
            or isinstance(entries, str)
            or not isinstance(entries, list | tuple)
        ):
            entries = [] if entries is None else [entries]
        for entry in entries:
            metric = metrics_lib.resolve(entry, found)
            name = _free(metric.name, logged, None, metric)
            logged[name] = OutputMetric(metric, None, is_weighted, name)
    return total, logged


def _free(name: str, taken: Mapping[str, Any], output: str | None, metric: Any) -> str:
    """`name`, or Keras's `weighted_` form of it when it is taken."""
    if name not in taken and name != "loss":
        return name
    prefix = f"{output}_" if output else ""
    return f"{prefix}weighted_{metric.name}"
