"""Confusion-matrix metrics at fixed thresholds: the four counts (true and
false positives and negatives), Precision and Recall.

A prediction is positive at threshold `t` when `y_pred > t`; `y_true` is read
as a boolean (nonzero is positive). All entries of a batch are pooled, as with
Keras's `multi_label=False`; `class_id` keeps one class's column, `top_k`
only each row's `k` largest scores. The state holds, per threshold, the
weighted counts, so states merge by summing.

The counts are taken in O(N log T) for N predictions and T thresholds: each
prediction is binned by how many thresholds lie below it (`searchsorted`), and
running sums of the bins give the counts at every threshold.

Example:
  >>> m = TruePositives(thresholds=(0.3, 0.7))
  >>> state = m.update(m.init(), jnp.array([1, 1, 0]), jnp.array([0.9, 0.5, 0.8]))
  >>> m.result(state)
  Array([2., 1.], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from stateless import ops
from stateless.errors import owner_name
from train._metric import Metric, State, zeros
from train.targets import broadcast_weights, divide_no_nan, same_shape

COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")
NEG_INF = -1e10  # Keras's threshold under top_k: any score kept counts as positive


def confusion_counts(
    owner: Any, y_true: Any, y_pred: Any, sample_weight: Any, thresholds: Any
) -> State:
    """Weighted TP, FP, TN and FN at each of the (sorted) `thresholds`.

    Example:
      >>> counts = confusion_counts(
      ...     "op", jnp.array([1, 0]), jnp.array([0.9, 0.2]), None, np.array([0.5])
      ... )
      >>> sorted(counts)
      ['false_negatives', 'false_positives', 'true_negatives', 'true_positives']
    """
    y_true, y_pred = same_shape(owner, y_true, y_pred, dtype="float32")
    if sample_weight is None:
        weights = ops.ones(y_pred.shape, "float32")
    else:
        weights = broadcast_weights(owner, sample_weight, y_pred.shape)
    thresholds = ops.convert_to_tensor(thresholds, "float32")
    return binned_counts(
        y_true.ravel() != 0, weights.ravel(), y_pred.ravel(), thresholds
    )


@jax.jit  # one program, so that eager calls compile once, not op by op
def binned_counts(positive, weights, y_pred, thresholds) -> State:
    # Bin b holds the predictions above exactly b thresholds. `ops` has no
    # searchsorted or scatter-add, so those use `jnp`.
    bins = jnp.searchsorted(thresholds, y_pred)
    bins = ops.where(y_pred != y_pred, 0, bins)  # NaN is above no threshold
    empty = ops.zeros(thresholds.shape[0] + 1, "float32")
    pos = empty.at[bins].add(ops.where(positive, weights, 0.0))
    neg = empty.at[bins].add(ops.where(positive, 0.0, weights))

    def above(hist):  # entry i: the weight of bins i + 1, ..., T
        return ops.flip(ops.cumsum(ops.flip(hist[1:], 0), 0), 0)

    def at_or_below(hist):  # entry i: the weight of bins 0, ..., i
        return ops.cumsum(hist[:-1], 0)

    return {
        "true_positives": above(pos),
        "false_positives": above(neg),
        "true_negatives": at_or_below(neg),
        "false_negatives": at_or_below(pos),
    }


def select(
    owner: Any, y_true: Any, y_pred: Any, top_k: int | None, class_id: int | None
) -> tuple[Any, Any]:
    """`y_pred` with all but each row's `top_k` scores pushed below every
    threshold, then both arrays cut to the column `class_id` (Keras's order).

    Example:
      >>> _, p = select("op", jnp.zeros((1, 3)), jnp.array([[0.2, 0.9, 0.5]]), 1, None)
      >>> p[0, 1], bool(p[0, 2] < 0)
      (Array(0.9, dtype=float32), True)
    """
    y_true, y_pred = same_shape(owner, y_true, y_pred, dtype="float32")
    if top_k is not None:
        _, top = jax.lax.top_k(y_pred, top_k)
        kept = ops.sum(ops.one_hot(top, y_pred.shape[-1]), axis=-2) > 0
        y_pred = ops.where(kept, y_pred, NEG_INF)
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ValueError(
                f"{owner_name(owner)}: class_id={class_id} needs y_pred of shape "
                f"(batch, classes), received {tuple(y_pred.shape)}."
            )
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    return y_true, y_pred


def check_thresholds(owner: Any, thresholds: Any) -> Any:
    """`thresholds` as a float or a tuple of floats in [0, 1], or an error."""
    if isinstance(thresholds, list | tuple):
        thresholds = tuple(thresholds)
    grid = np.asarray(thresholds, "float64").reshape(-1)
    if grid.size == 0 or not np.all((grid >= 0) & (grid <= 1)):
        raise ValueError(
            f"{owner_name(owner)}: thresholds must be numbers in [0, 1], got "
            f"{thresholds!r}."
        )
    return thresholds


@dataclass(frozen=True)
class _AtThresholds(Metric):
    """Counts at one threshold or at each of several; `result` reads them."""

    thresholds: float | tuple[float, ...] | None = None
    kept: ClassVar[tuple[str, ...]] = COUNTS

    def __post_init__(self):
        super().__post_init__()
        if self.thresholds is not None:
            object.__setattr__(
                self, "thresholds", check_thresholds(self, self.thresholds)
            )

    def _grid(self) -> np.ndarray:
        """The thresholds in the order given (0.5 unless set)."""
        default = 0.5 if getattr(self, "top_k", None) is None else NEG_INF
        value = default if self.thresholds is None else self.thresholds
        return np.atleast_1d(np.asarray(value, "float32"))

    def init(self) -> State:
        return zeros(*self.kept, shape=(len(self._grid()),))

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_true, y_pred = select(
            self, y_true, y_pred, getattr(self, "top_k", None),
            getattr(self, "class_id", None),
        )  # fmt: skip
        grid = self._grid()
        order = np.argsort(grid, kind="stable")
        counts = confusion_counts(self, y_true, y_pred, sample_weight, grid[order])
        back = np.argsort(order)  # from sorted order to the order given
        return {k: state[k] + counts[k][back] for k in state}

    def _one_or_all(self, value: Any) -> Any:
        return value[0] if value.shape == (1,) else value


@dataclass(frozen=True)
class TruePositives(_AtThresholds):
    """The weighted count of positives predicted positive.

    Args:
      thresholds: a threshold in `[0, 1]` (default 0.5), or a tuple of them;
        the result is a scalar for one threshold and a vector for several.

    Example:
      >>> m = TruePositives()
      >>> float(m.result(m.update(m.init(), jnp.array([1, 1]), jnp.array([0.9, 0.2]))))
      1.0
    """

    kept: ClassVar[tuple[str, ...]] = ("true_positives",)
    default_name: ClassVar[str] = "true_positives"

    def result(self, state: State) -> Any:
        return self._one_or_all(state["true_positives"])


@dataclass(frozen=True)
class FalsePositives(_AtThresholds):
    """The weighted count of negatives predicted positive (see `TruePositives`).

    Example:
      >>> m = FalsePositives()
      >>> float(m.result(m.update(m.init(), jnp.array([0, 0]), jnp.array([0.9, 0.2]))))
      1.0
    """

    kept: ClassVar[tuple[str, ...]] = ("false_positives",)
    default_name: ClassVar[str] = "false_positives"

    def result(self, state: State) -> Any:
        return self._one_or_all(state["false_positives"])


@dataclass(frozen=True)
class TrueNegatives(_AtThresholds):
    """The weighted count of negatives predicted negative (see `TruePositives`).

    Example:
      >>> m = TrueNegatives()
      >>> float(m.result(m.update(m.init(), jnp.array([0, 0]), jnp.array([0.9, 0.2]))))
      1.0
    """

    kept: ClassVar[tuple[str, ...]] = ("true_negatives",)
    default_name: ClassVar[str] = "true_negatives"

    def result(self, state: State) -> Any:
        return self._one_or_all(state["true_negatives"])


@dataclass(frozen=True)
class FalseNegatives(_AtThresholds):
    """The weighted count of positives predicted negative (see `TruePositives`).

    Example:
      >>> m = FalseNegatives()
      >>> float(m.result(m.update(m.init(), jnp.array([1, 1]), jnp.array([0.9, 0.2]))))
      1.0
    """

    kept: ClassVar[tuple[str, ...]] = ("false_negatives",)
    default_name: ClassVar[str] = "false_negatives"

    def result(self, state: State) -> Any:
        return self._one_or_all(state["false_negatives"])


@dataclass(frozen=True)
class Precision(_AtThresholds):
    """`tp / (tp + fp)`: how many predicted positives are positive.

    Args:
      thresholds: a threshold in `[0, 1]` (default 0.5; with `top_k`, every
        kept score counts as positive), or a tuple of them; the result is a
        scalar for one threshold and a vector for several.
      top_k: count only each row's `k` largest scores as predictions.
      class_id: the one class (column) to measure.

    Example:
      >>> m = Precision(thresholds=(0.3, 0.7))
      >>> state = m.update(m.init(), jnp.array([1, 0]), jnp.array([0.9, 0.5]))
      >>> m.result(state)
      Array([0.5, 1. ], dtype=float32)
    """

    top_k: int | None = None
    class_id: int | None = None
    kept: ClassVar[tuple[str, ...]] = ("true_positives", "false_positives")
    default_name: ClassVar[str] = "precision"

    def result(self, state: State) -> Any:
        tp = state["true_positives"]
        return self._one_or_all(divide_no_nan(tp, tp + state["false_positives"]))


@dataclass(frozen=True)
class Recall(_AtThresholds):
    """`tp / (tp + fn)`: how many positives are predicted positive.

    Args:
      thresholds, top_k, class_id: as for `Precision`.

    Example:
      >>> m = Recall()
      >>> state = m.update(m.init(), jnp.array([1, 1]), jnp.array([0.9, 0.5]))
      >>> float(m.result(state))
      0.5
    """

    top_k: int | None = None
    class_id: int | None = None
    kept: ClassVar[tuple[str, ...]] = ("true_positives", "false_negatives")
    default_name: ClassVar[str] = "recall"

    def result(self, state: State) -> Any:
        tp = state["true_positives"]
        return self._one_or_all(divide_no_nan(tp, tp + state["false_negatives"]))
