"""Confusion-matrix metrics: Precision, Recall and AUC at fixed thresholds.

A prediction is positive at threshold `t` when `y_pred > t`; `y_true` is read
as a boolean (nonzero is positive). All entries of a batch are pooled, as with
Keras's `multi_label=False`. The state holds, per threshold, the weighted
counts of true/false positives/negatives, so states merge by summing.

The counts are taken in O(N log T) for N predictions and T thresholds: each
prediction is binned by how many thresholds lie below it (`searchsorted`), and
running sums of the bins give the counts at every threshold.

Example:
  >>> from train.metrics import AUC
  >>> m = AUC(num_thresholds=50)
  >>> jax.tree.map(jnp.shape, m.init())["true_positives"]
  (50,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from stateless import ops
from stateless.errors import owner_name
from train._metric import (
    Metric,
    State,
    broadcast_weights,
    divide_no_nan,
    same_shape,
    zeros,
)
from train.losses import EPSILON

_COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


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
    y_true, y_pred = same_shape(owner, y_true, y_pred)
    if sample_weight is None:
        weights = ops.ones(y_pred.shape, "float32")
    else:
        weights = broadcast_weights(owner, sample_weight, y_pred.shape)
    thresholds = ops.convert_to_tensor(thresholds, "float32")
    return _binned_counts(
        y_true.ravel() != 0, weights.ravel(), y_pred.ravel(), thresholds
    )


@jax.jit  # one program, so that eager calls compile once, not op by op
def _binned_counts(positive, weights, y_pred, thresholds) -> State:
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


@dataclass(frozen=True)
class _AtThresholds(Metric):
    """Precision or Recall at one threshold, or at each of several."""

    thresholds: float | tuple[float, ...] = 0.5
    other: ClassVar[str] = "false_positives"  # the count besides true positives

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.thresholds, list | tuple):
            object.__setattr__(self, "thresholds", tuple(self.thresholds))
        grid = np.asarray(self.thresholds, "float64").reshape(-1)
        if grid.size == 0 or not np.all((grid >= 0) & (grid <= 1)):
            raise ValueError(
                f"{owner_name(self)}: thresholds must be numbers in [0, 1], got "
                f"{self.thresholds!r}."
            )

    def init(self) -> State:
        size = len(np.atleast_1d(self.thresholds))
        return zeros("true_positives", self.other, shape=(size,))

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        grid = np.atleast_1d(np.asarray(self.thresholds, "float32"))
        order = np.argsort(grid, kind="stable")
        counts = confusion_counts(self, y_true, y_pred, sample_weight, grid[order])
        back = np.argsort(order)  # from sorted order to the order given
        return {k: state[k] + counts[k][back] for k in state}

    def result(self, state: State) -> Any:
        tp = state["true_positives"]
        value = divide_no_nan(tp, tp + state[self.other])
        return value[0] if value.shape == (1,) else value


@dataclass(frozen=True)
class Precision(_AtThresholds):
    """`tp / (tp + fp)`: how many predicted positives are positive.

    Args:
      thresholds: a threshold in `[0, 1]`, or a tuple of them; the result is
        a scalar for one threshold and a vector for a tuple of several.

    Example:
      >>> m = Precision(thresholds=(0.3, 0.7))
      >>> state = m.update(m.init(), jnp.array([1, 0]), jnp.array([0.9, 0.5]))
      >>> m.result(state).shape
      (2,)
    """

    default_name: ClassVar[str] = "precision"


@dataclass(frozen=True)
class Recall(_AtThresholds):
    """`tp / (tp + fn)`: how many positives are predicted positive.

    Args:
      thresholds: as for `Precision`.

    Example:
      >>> m = Recall()
      >>> state = m.update(m.init(), jnp.array([1, 0]), jnp.array([0.9, 0.5]))
      >>> m.result(state).shape
      ()
    """

    other: ClassVar[str] = "false_negatives"
    default_name: ClassVar[str] = "recall"


@dataclass(frozen=True)
class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at thresholds.

    The thresholds are Keras's: `num_thresholds - 2` evenly spaced inside
    `(0, 1)` plus `-1e-7` and `1 + 1e-7`; predictions are clipped to `[0, 1]`.
    The area is Keras's default `summation_method="interpolation"`: for ROC, the
    trapezoid rule over the (false positive rate, recall) points; for PR, the
    interpolation of Davis & Goadrich (2006), which lets precision vary as
    true and false positives change linearly between thresholds.

    Args:
      num_thresholds: how many thresholds, > 1.
      curve: `"ROC"` or `"PR"`.
      from_logits: whether `y_pred` holds logits (a sigmoid is applied first).

    Example:
      >>> m = AUC(curve="PR")
      >>> state = m.update(m.init(), jnp.array([1, 0, 1]), jnp.array([0.8, 0.3, 0.4]))
      >>> m.result(state).shape
      ()
    """

    num_thresholds: int = 200
    curve: str = "ROC"
    from_logits: bool = False
    default_name: ClassVar[str] = "auc"

    def __post_init__(self):
        super().__post_init__()
        n = self.num_thresholds
        if not isinstance(n, int) or isinstance(n, bool) or n < 2:
            raise ValueError(
                f"{owner_name(self)}: num_thresholds must be an int > 1, got {n!r}."
            )
        curve = str(self.curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(
                f"{owner_name(self)}: unknown curve {self.curve!r}. Valid: ROC, PR."
            )
        object.__setattr__(self, "curve", curve)

    @property
    def thresholds(self) -> np.ndarray:
        """The thresholds, ascending."""
        n = self.num_thresholds
        inner = [(i + 1) / (n - 1) for i in range(n - 2)]
        return np.array([-EPSILON, *inner, 1.0 + EPSILON], "float32")

    def init(self) -> State:
        return zeros(*_COUNTS, shape=(self.num_thresholds,))

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_pred = ops.cast(y_pred, "float32")
        y_pred = ops.sigmoid(y_pred) if self.from_logits else y_pred
        y_pred = ops.clip(y_pred, 0.0, 1.0)
        counts = confusion_counts(self, y_true, y_pred, sample_weight, self.thresholds)
        return {k: state[k] + counts[k] for k in _COUNTS}

    def result(self, state: State) -> Any:
        tp, fp = state["true_positives"], state["false_positives"]
        tn, fn = state["true_negatives"], state["false_negatives"]
        if self.curve == "PR":
            return _interpolated_pr_auc(tp, fp, fn)
        return _roc_auc(tp, fp, tn, fn)


@jax.jit
def _roc_auc(tp: Any, fp: Any, tn: Any, fn: Any) -> Any:
    """The trapezoid rule over the (false positive rate, recall) points."""
    recall = divide_no_nan(tp, tp + fn)
    fp_rate = divide_no_nan(fp, fp + tn)
    heights = (recall[:-1] + recall[1:]) / 2.0
    return ops.sum((fp_rate[:-1] - fp_rate[1:]) * heights)


@jax.jit
def _interpolated_pr_auc(tp: Any, fp: Any, fn: Any) -> Any:
    """Keras's `AUC.interpolate_pr_auc`: Davis & Goadrich, in closed form.

    Between thresholds A and B, TP and P = TP + FP are taken to vary linearly,
    so precision = (TP_A + slope * (P - P_A)) / P, and its integral over recall
    is `slope * (dTP + intercept * log(P_A / P_B)) / (TP + FN)`.
    """
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = divide_no_nan(dtp, ops.maximum(dp, 0.0))
    intercept = tp[1:] - slope * p[1:]
    both = ops.logical_and(p[:-1] > 0, p[1:] > 0)
    ratio = ops.where(both, divide_no_nan(p[:-1], ops.maximum(p[1:], 0.0)), 1.0)
    increments = divide_no_nan(
        slope * (dtp + intercept * ops.log(ratio)), ops.maximum(tp[1:] + fn[1:], 0.0)
    )
    return ops.sum(increments)
