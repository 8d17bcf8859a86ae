"""Accuracy metrics: how often a prediction is right, as Keras counts it,
each a class (a weighted mean over examples) and a function of per-example
0 / 1 values.

Example:
  >>> scores = jnp.array([[0.1, 0.5, 0.4], [0.1, 0.5, 0.4]])
  >>> sparse_top_k_categorical_accuracy(jnp.array([2, 0]), scores, k=2)
  Array([1., 0.], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from stateless.errors import ShapeError, owner_name
from train.metrics.means import MeanOf
from train.targets import same_shape, squeeze_or_expand_to_same_rank


def _floats(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    return ops.cast(ops.convert_to_tensor(y_true), "float32"), y_pred


def accuracy(y_true: Any, y_pred: Any) -> Any:
    """1 where `y_pred` equals `y_true`, else 0."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_floats(y_true, y_pred))
    return ops.cast(ops.equal(y_true, y_pred), "float32")


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Any:
    """1 where `y_pred > threshold` matches a 0 / 1 `y_true`, entry by entry."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_floats(y_true, y_pred))
    predicted = ops.cast(ops.greater(y_pred, threshold), "float32")
    return ops.cast(ops.equal(y_true, predicted), "float32")


def categorical_accuracy(y_true: Any, y_pred: Any) -> Any:
    """1 where the argmax of `y_pred` is that of a one-hot `y_true`."""
    y_true, y_pred = _floats(y_true, y_pred)
    return ops.cast(ops.argmax(y_true, -1) == ops.argmax(y_pred, -1), "float32")


def _labels(y_true: Any, y_pred: Any) -> Any:
    """Class ids shaped like `y_pred` without its class axis (a trailing 1
    dropped)."""
    labels = ops.convert_to_tensor(y_true)
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, -1)
    return labels


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Any:
    """1 where the argmax of `y_pred` equals the class id `y_true`."""
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    labels = ops.cast(_labels(y_true, y_pred), "float32")
    predicted = ops.cast(ops.argmax(y_pred, -1), "float32")
    return ops.cast(ops.equal(labels, predicted), "float32")


def _in_top_k(labels: Any, y_pred: Any, k: int) -> Any:
    """Whether each label's score is among the `k` largest; ties count in its
    favour (its rank is 1 + the number of strictly larger scores)."""
    at_label = ops.take_along_axis(y_pred, ops.expand_dims(labels, -1), -1)
    at_label = ops.where(at_label != at_label, -float("inf"), at_label)  # NaN
    rank = 1 + ops.sum(ops.cast(ops.greater(y_pred, at_label), "int32"), -1)
    return ops.less_equal(rank, k)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Any:
    """1 where a one-hot `y_true`'s class is among the `k` top predictions."""
    y_true, y_pred = _floats(y_true, y_pred)
    return ops.cast(_in_top_k(ops.argmax(y_true, -1), y_pred, k), "float32")


def sparse_top_k_categorical_accuracy(
    y_true: Any, y_pred: Any, k: int = 5, from_sorted_ids: bool = False
) -> Any:
    """1 where the class id `y_true` is among the `k` top predictions; with
    `from_sorted_ids`, `y_pred` holds class ids already sorted by score."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = _labels(y_true, y_pred)
    if from_sorted_ids:
        top = y_pred[..., :k]
        hit = ops.any(
            ops.equal(ops.expand_dims(ops.cast(labels, top.dtype), -1), top), -1
        )
    else:
        hit = _in_top_k(ops.cast(labels, "int32"), ops.cast(y_pred, "float32"), k)
    return ops.cast(hit, "float32")


def _one_hot_pair(owner: Any, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    y_true, y_pred = _floats(y_true, y_pred)
    if y_true.shape != y_pred.shape or y_pred.ndim == 0:
        raise ShapeError(
            f"{owner_name(owner)}: expected one-hot y_true shaped like y_pred, "
            f"received y_true {y_true.shape} and y_pred {y_pred.shape}. Hint: for "
            "integer class ids, use the Sparse... accuracy."
        )
    return y_true, y_pred


def _sparse_pair(owner: Any, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    y_pred = ops.convert_to_tensor(y_pred)
    labels = _labels(y_true, y_pred)
    if y_pred.ndim == 0 or labels.shape != y_pred.shape[:-1]:
        raise ShapeError(
            f"{owner_name(owner)}: expected y_true shaped like y_pred without its "
            f"last (class) axis, received y_true {tuple(ops.shape(y_true))} and "
            f"y_pred {tuple(y_pred.shape)}. Hint: for one-hot targets, use the "
            "accuracy without Sparse."
        )
    return labels, y_pred


def _check_k(owner: Any, k: Any) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{owner_name(owner)}: k must be an int >= 1, got {k!r}")


@dataclass(frozen=True)
class Accuracy(MeanOf):
    """How often `y_pred` equals `y_true` exactly.

    Example:
      >>> m = Accuracy()
      >>> float(m.result(m.update(m.init(), jnp.array([1, 2]), jnp.array([1, 0]))))
      0.5
    """

    default_name: ClassVar[str] = "accuracy"

    def _values(self, y_true, y_pred):
        return accuracy(*same_shape(self, y_true, y_pred, dtype="float32"))


@dataclass(frozen=True)
class BinaryAccuracy(MeanOf):
    """How often `y_pred > threshold` matches a 0/1 `y_true`.

    Args:
      threshold: predictions above it count as 1 (use 0.0 for logits).

    Example:
      >>> m = BinaryAccuracy(threshold=0.0)
      >>> state = m.update(m.init(), jnp.ones((4, 1)), jnp.zeros((4, 1)))
      >>> float(m.result(state))
      0.0
    """

    threshold: float = 0.5
    default_name: ClassVar[str] = "binary_accuracy"

    def _values(self, y_true, y_pred):
        return binary_accuracy(
            *same_shape(self, y_true, y_pred, dtype="float32"), self.threshold
        )


@dataclass(frozen=True)
class CategoricalAccuracy(MeanOf):
    """How often the argmax of `y_pred` is the argmax of a one-hot `y_true`.

    Example:
      >>> m = CategoricalAccuracy()
      >>> float(m.result(m.update(m.init(), jnp.eye(3), jnp.eye(3))))
      1.0
    """

    default_name: ClassVar[str] = "categorical_accuracy"

    def _values(self, y_true, y_pred):
        return categorical_accuracy(*_one_hot_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class SparseCategoricalAccuracy(MeanOf):
    """How often the argmax of `y_pred` equals an integer class id `y_true`.

    Example:
      >>> m = SparseCategoricalAccuracy()
      >>> state = m.update(m.init(), jnp.array([[0], [2]]), jnp.eye(3)[:2])
      >>> float(m.result(state))
      0.5
    """

    default_name: ClassVar[str] = "sparse_categorical_accuracy"

    def _values(self, y_true, y_pred):
        return sparse_categorical_accuracy(*_sparse_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class TopKCategoricalAccuracy(MeanOf):
    """How often the one-hot target's class is among the `k` top predictions
    (ties count in the target's favour, as Keras's `in_top_k`).

    Args:
      k: how many top predictions count.

    Example:
      >>> m = TopKCategoricalAccuracy(k=2)
      >>> float(m.result(m.update(m.init(), jnp.eye(3), jnp.eye(3))))
      1.0
    """

    k: int = 5
    default_name: ClassVar[str] = "top_k_categorical_accuracy"

    def __post_init__(self):
        super().__post_init__()
        _check_k(self, self.k)

    def _values(self, y_true, y_pred):
        return top_k_categorical_accuracy(*_one_hot_pair(self, y_true, y_pred), self.k)


@dataclass(frozen=True)
class SparseTopKCategoricalAccuracy(MeanOf):
    """How often the class id `y_true` is among the `k` top predictions.

    Args:
      k: how many top predictions count.
      from_sorted_ids: `y_pred` holds class ids sorted by score (as
        `ops.top_k` returns them) instead of scores.

    Example:
      >>> m = SparseTopKCategoricalAccuracy(k=1)
      >>> float(m.result(m.update(m.init(), jnp.array([1]), jnp.array([[0.2, 0.8]]))))
      1.0
    """

    k: int = 5
    from_sorted_ids: bool = False
    default_name: ClassVar[str] = "sparse_top_k_categorical_accuracy"

    def __post_init__(self):
        super().__post_init__()
        _check_k(self, self.k)

    def _values(self, y_true, y_pred):
        labels, y_pred = _sparse_pair(self, y_true, y_pred) if not (
            self.from_sorted_ids) else (y_true, y_pred)  # fmt: skip
        return sparse_top_k_categorical_accuracy(
            labels, y_pred, self.k, self.from_sorted_ids
        )
