"""Metrics as pure functions over explicit state, with Keras's names and results.

A metric is a frozen dataclass of hyperparameters (see `Metric`). Its state is
a dict of float32 accumulators, so `update` runs inside a jitted train step,
and states from several batches or devices combine with `merge` (a sum).

Averaging metrics (`Mean` and the accuracies) follow Keras's
`MeanMetricWrapper`: per-example values are averaged over any trailing axes,
weighted by `sample_weight`, and the state holds their weighted `total` and the
`count` (the sum of the weights, or the number of examples).

Example:
  >>> m = get("sparse_categorical_accuracy")
  >>> state = m.update(m.init(), jnp.array([0, 1]), jnp.eye(2))
  >>> m.result(state).shape
  ()
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from stateless.errors import ShapeError, owner_name
from train import losses
from train._metric import (
    Metric as Metric,
)
from train._metric import (
    State as State,
)
from train._metric import (
    divide_no_nan,
    same_shape,
    zeros,
)
from train.confusion_metrics import (
    AUC as AUC,
)
from train.confusion_metrics import (
    Precision as Precision,
)
from train.confusion_metrics import (
    Recall as Recall,
)
from train.loss_reduction import fold_mask, squeeze_or_expand_to_same_rank


def _samplewise(owner: Any, values: Any, sample_weight: Any) -> tuple[Any, Any]:
    """Keras's `reduce_to_samplewise_values`: weighted values, one per example."""
    values = ops.cast(values, "float32")
    weights = None
    if sample_weight is not None:
        weights = ops.cast(sample_weight, "float32")
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        w_ndim, v_ndim = weights.ndim, values.ndim
        if v_ndim > w_ndim:
            values = ops.mean(values, axis=tuple(range(w_ndim, v_ndim)))
        try:
            weights = ops.broadcast_to(weights, values.shape)
        except ValueError:
            raise ShapeError(
                f"{owner_name(owner)}: sample_weight of shape "
                f"{tuple(ops.shape(sample_weight))} does not broadcast to the "
                f"values of shape {values.shape}. Hint: pass one weight per example."
            ) from None
        values = values * weights
        if w_ndim > 1:
            weights = ops.mean(weights, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = ops.mean(values, axis=tuple(range(1, values.ndim)))
    return values, weights


def _accumulate(owner: Any, state: State, values: Any, sample_weight: Any) -> State:
    values, weights = _samplewise(owner, values, sample_weight)
    if weights is not None:
        count = ops.sum(weights)
    else:
        count = float(values.shape[0]) if values.ndim else 1.0
    return {"total": state["total"] + ops.sum(values), "count": state["count"] + count}


@dataclass(frozen=True)
class Mean(Metric):
    """The weighted mean of the values given to `update(state, values, weight)`.

    Example:
      >>> m = Mean()
      >>> state = m.update(m.init(), jnp.array([1.0, 3.0]), jnp.array([1.0, 0.0]))
      >>> jax.tree.map(jnp.shape, state)
      {'count': (), 'total': ()}
    """

    default_name: ClassVar[str] = "mean"

    def init(self) -> State:
        return zeros("total", "count")

    def update(self, state: State, values: Any, sample_weight: Any = None) -> State:
        return _accumulate(self, state, values, sample_weight)

    def result(self, state: State) -> Any:
        return divide_no_nan(state["total"], state["count"])


@dataclass(frozen=True)
class _MeanOf(Mean):
    """The weighted mean of per-example values of `(y_true, y_pred)`; entries
    that `y_pred`'s mask drops count for nothing (Keras's MeanMetricWrapper)."""

    reads_masks: ClassVar[bool] = True

    def update(
        self,
        state: State,
        y_true: Any,
        y_pred: Any,
        sample_weight: Any = None,
        mask: Any = None,
    ) -> State:
        weights = fold_mask(sample_weight, mask, "sum")
        return _accumulate(self, state, self._values(y_true, y_pred), weights)

    @abstractmethod
    def _values(self, y_true: Any, y_pred: Any) -> Any:
        """The per-example values whose weighted mean this metric reports."""


@dataclass(frozen=True)
class Accuracy(_MeanOf):
    """How often `y_pred` equals `y_true` exactly.

    Example:
      >>> m = Accuracy()
      >>> m.result(m.update(m.init(), jnp.array([1, 2]), jnp.array([1, 0]))).shape
      ()
    """

    default_name: ClassVar[str] = "accuracy"

    def _values(self, y_true, y_pred):
        y_true, y_pred = same_shape(self, y_true, y_pred)
        return ops.cast(ops.equal(y_true, y_pred), "float32")


@dataclass(frozen=True)
class BinaryAccuracy(_MeanOf):
    """How often `y_pred > threshold` matches a 0/1 `y_true`.

    Args:
      threshold: predictions above it count as 1 (use 0.0 for logits).

    Example:
      >>> m = BinaryAccuracy(threshold=0.0)
      >>> state = m.update(m.init(), jnp.ones((4, 1)), jnp.zeros((4, 1)))
      >>> m.result(state).dtype
      dtype('float32')
    """

    threshold: float = 0.5
    default_name: ClassVar[str] = "binary_accuracy"

    def _values(self, y_true, y_pred):
        y_true, y_pred = same_shape(self, y_true, y_pred)
        predicted = ops.cast(ops.greater(y_pred, self.threshold), "float32")
        return ops.cast(ops.equal(y_true, predicted), "float32")


def _one_hot_pair(owner: Any, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
    if y_true.shape != y_pred.shape or y_pred.ndim == 0:
        raise ShapeError(
            f"{owner_name(owner)}: expected one-hot y_true shaped like y_pred, "
            f"received y_true {y_true.shape} and y_pred {y_pred.shape}. Hint: for "
            "integer class ids, use SparseCategoricalAccuracy."
        )
    return y_true, y_pred


@dataclass(frozen=True)
class CategoricalAccuracy(_MeanOf):
    """How often the argmax of `y_pred` is the argmax of a one-hot `y_true`.

    Example:
      >>> m = CategoricalAccuracy()
      >>> m.result(m.update(m.init(), jnp.eye(3), jnp.eye(3))).shape
      ()
    """

    default_name: ClassVar[str] = "categorical_accuracy"

    def _values(self, y_true, y_pred):
        y_true, y_pred = _one_hot_pair(self, y_true, y_pred)
        matches = ops.equal(ops.argmax(y_true, -1), ops.argmax(y_pred, -1))
        return ops.cast(matches, "float32")


@dataclass(frozen=True)
class SparseCategoricalAccuracy(_MeanOf):
    """How often the argmax of `y_pred` equals an integer class id `y_true`.

    Example:
      >>> m = SparseCategoricalAccuracy()
      >>> state = m.update(m.init(), jnp.array([[0], [2]]), jnp.ones((2, 3)))
      >>> m.result(state).shape
      ()
    """

    default_name: ClassVar[str] = "sparse_categorical_accuracy"

    def _values(self, y_true, y_pred):
        labels = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
            labels = ops.squeeze(labels, -1)
        if y_pred.ndim == 0 or labels.shape != y_pred.shape[:-1]:
            raise ShapeError(
                f"{owner_name(self)}: expected y_true shaped like y_pred without its "
                f"last (class) axis, received y_true {tuple(ops.shape(y_true))} and "
                f"y_pred {y_pred.shape}. Hint: for one-hot targets, use "
                "CategoricalAccuracy."
            )
        predicted = ops.cast(ops.argmax(y_pred, -1), "float32")
        return ops.cast(ops.equal(labels, predicted), "float32")


@dataclass(frozen=True)
class TopKCategoricalAccuracy(_MeanOf):
    """How often the one-hot target's class is among the `k` top predictions.

    Ties count in the target's favor: its rank is 1 + the number of strictly
    larger scores (as Keras's `in_top_k`).

    Args:
      k: how many top predictions count.

    Example:
      >>> m = TopKCategoricalAccuracy(k=2)
      >>> m.result(m.update(m.init(), jnp.eye(3), jnp.eye(3))).shape
      ()
    """

    k: int = 5
    default_name: ClassVar[str] = "top_k_categorical_accuracy"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"{owner_name(self)}: k must be an int >= 1, got {self.k}")

    def _values(self, y_true, y_pred):
        y_true, y_pred = _one_hot_pair(self, y_true, y_pred)
        labels = ops.argmax(y_true, -1)
        at_label = ops.take_along_axis(y_pred, ops.expand_dims(labels, -1), -1)
        at_label = ops.where(at_label != at_label, -float("inf"), at_label)  # NaN
        rank = 1 + ops.sum(ops.cast(ops.greater(y_pred, at_label), "int32"), -1)
        return ops.cast(ops.less_equal(rank, self.k), "float32")


@dataclass(frozen=True)
class MeanSquaredError(_MeanOf):
    """The mean of `mean(square(y_true - y_pred), axis=-1)` over examples.

    Example:
      >>> m = MeanSquaredError()
      >>> m.result(m.update(m.init(), jnp.zeros((2, 3)), jnp.ones((2, 3)))).shape
      ()
    """

    default_name: ClassVar[str] = "mean_squared_error"

    def _values(self, y_true, y_pred):
        y_true, y_pred = same_shape(self, y_true, y_pred)
        return ops.mean(ops.square(y_true - y_pred), axis=-1)


@dataclass(frozen=True)
class MeanAbsoluteError(_MeanOf):
    """The mean of `mean(abs(y_true - y_pred), axis=-1)` over examples.

    Example:
      >>> m = MeanAbsoluteError()
      >>> m.result(m.update(m.init(), jnp.zeros((2, 3)), jnp.ones((2, 3)))).shape
      ()
    """

    default_name: ClassVar[str] = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        y_true, y_pred = same_shape(self, y_true, y_pred)
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)


_CLASSES = (
    Mean,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    Precision,
    Recall,
    AUC,
)
_REGISTRY: dict[str, type[Metric]] = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{cls.default_name: cls for cls in _CLASSES},
    "acc": Accuracy,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
}


def _lookup(name: str) -> type[Metric]:
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown metric {name!r}. Valid names: {', '.join(sorted(_REGISTRY))}."
        )
    return _REGISTRY[name]


def get(identifier: Any) -> Metric:
    """A metric from a name, a `{"class_name", "config"}` dict, or a metric.

    A snake-case name or alias also names the metric in logs, as in Keras
    (`get("acc").name == "acc"`); a class name gives the default name.

    Args:
      identifier: `"accuracy"`, `"acc"`, `"binary_accuracy"`, `"mse"`, `"auc"`,
        `"precision"`, `"SparseCategoricalAccuracy"`, ...; a config dict; a
        `Metric` class (built with its defaults) or object.

    Raises:
      ValueError: an unknown name; the message lists the valid ones.
      TypeError: anything else.

    Example:
      >>> get("acc")
      Accuracy(name='acc')
      >>> get("AUC").name
      'auc'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        return _lookup(identifier["class_name"]).from_config(identifier["config"])
    if isinstance(identifier, str):
        cls = _lookup(identifier)
        return cls() if identifier == cls.__name__ else cls(name=identifier)
    raise TypeError(
        f"cannot interpret {identifier!r:.80} as a metric: pass a name, a config "
        "dict, or a Metric."
    )


def resolve(identifier: Any, loss: Any = None) -> Metric:
    """`get`, except that `"accuracy"`/`"acc"` pick the accuracy that fits `loss`.

    `SparseCategoricalCrossentropy` gives `SparseCategoricalAccuracy`,
    `CategoricalCrossentropy` gives `CategoricalAccuracy`, `BinaryCrossentropy`
    gives `BinaryAccuracy` (threshold 0.0 when `from_logits=True`), and any
    other loss gives `Accuracy`. The metric keeps the name it was asked by.

    Args:
      identifier: anything `get` takes.
      loss: a loss, or anything `train.losses.get` takes.

    Example:
      >>> resolve("accuracy", "sparse_categorical_crossentropy")
      SparseCategoricalAccuracy(name='accuracy')
      >>> from train.losses import BinaryCrossentropy
      >>> resolve("acc", BinaryCrossentropy(from_logits=True)).threshold
      0.0
    """
    if not (isinstance(identifier, str) and identifier in ("accuracy", "acc")):
        return get(identifier)
    loss = losses.get(loss)
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        return SparseCategoricalAccuracy(name=identifier)
    if isinstance(loss, losses.CategoricalCrossentropy):
        return CategoricalAccuracy(name=identifier)
    if isinstance(loss, losses.BinaryCrossentropy):
        threshold = 0.0 if loss.from_logits else 0.5
        return BinaryAccuracy(threshold=threshold, name=identifier)
    return Accuracy(name=identifier)
