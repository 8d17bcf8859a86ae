"""Area under the ROC or precision-recall curve, from confusion counts at
Keras's thresholds (see `AUC`).

Example:
  >>> m = AUC(num_thresholds=50)
  >>> jax.tree.map(jnp.shape, m.init())["true_positives"]
  (50,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import numpy as np

from stateless import ops
from stateless.errors import owner_name
from train._metric import Metric, State, divide_no_nan, zeros
from train.losses import EPSILON
from train.metrics.confusion import COUNTS, confusion_counts


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
        return zeros(*COUNTS, shape=(self.num_thresholds,))

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_pred = ops.cast(y_pred, "float32")
        y_pred = ops.sigmoid(y_pred) if self.from_logits else y_pred
        y_pred = ops.clip(y_pred, 0.0, 1.0)
        counts = confusion_counts(self, y_true, y_pred, sample_weight, self.thresholds)
        return {k: state[k] + counts[k] for k in COUNTS}

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
