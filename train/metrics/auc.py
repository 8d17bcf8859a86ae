"""Area under the ROC, precision-recall or precision-recall-gain curve, from
confusion counts at Keras's thresholds (see `AUC`).

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
from stateless.errors import ShapeError, owner_name
from train._metric import Metric, State
from train.losses import EPSILON
from train.metrics.confusion import COUNTS, binned_counts, confusion_counts
from train.targets import broadcast_weights, divide_no_nan, same_shape

_CURVES = ("ROC", "PR", "PRGAIN")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


@dataclass(frozen=True)
class AUC(Metric):
    """Area under a curve of confusion counts taken at thresholds.

    The thresholds are Keras's: `num_thresholds - 2` evenly spaced inside
    `(0, 1)` (or the sorted `thresholds` given) plus `-1e-7` and `1 + 1e-7`;
    predictions are clipped to `[0, 1]`. The area is a Riemann sum over the
    curve's points: `"interpolation"` (the trapezoid rule; for PR, the
    interpolation of Davis & Goadrich (2006), which lets precision vary as
    true and false positives change linearly between thresholds),
    `"minoring"` (the lower of each pair of heights) or `"majoring"` (the
    higher).

    Args:
      num_thresholds: how many thresholds, > 1 (ignored when `thresholds` is
        given: then it is `len(thresholds) + 2`).
      curve: `"ROC"`, `"PR"` or `"PRGAIN"` (precision-recall gain).
      summation_method: `"interpolation"`, `"minoring"` or `"majoring"`.
      thresholds: the inner thresholds, numbers in [0, 1]; None for evenly
        spaced ones.
      multi_label: whether each column of `y_pred` (shape `(batch, labels)`)
        is a label with its own curve, the result their mean; else every
        entry is pooled into one curve.
      num_labels: the number of labels under `multi_label`; None to take it
        from the first batch (see `train.metrics.f_score`).
      label_weights: one weight per label: the weights of the labels' mean
        under `multi_label`, else of each column's entries in the counts.
      from_logits: whether `y_pred` holds logits (a sigmoid is applied first).

    Example:
      >>> m = AUC(curve="PR")
      >>> state = m.update(m.init(), jnp.array([1, 0, 1]), jnp.array([0.8, 0.3, 0.4]))
      >>> m.result(state).shape
      ()
    """

    num_thresholds: int = 200
    curve: str = "ROC"
    summation_method: str = "interpolation"
    thresholds: tuple[float, ...] | None = None
    multi_label: bool = False
    num_labels: int | None = None
    label_weights: tuple[float, ...] | None = None
    from_logits: bool = False
    default_name: ClassVar[str] = "auc"

    def __post_init__(self):
        super().__post_init__()
        where = owner_name(self)
        if self.thresholds is not None:
            inner = sorted(float(t) for t in self.thresholds)
            if not all(0.0 <= t <= 1.0 for t in inner):
                raise ValueError(
                    f"{where}: thresholds must be numbers in [0, 1], got "
                    f"{list(self.thresholds)}."
                )
            object.__setattr__(self, "thresholds", tuple(inner))
            object.__setattr__(self, "num_thresholds", len(inner) + 2)
        n = self.num_thresholds
        if not isinstance(n, int) or isinstance(n, bool) or n < 2:
            raise ValueError(f"{where}: num_thresholds must be an int > 1, got {n!r}.")
        curve = str(self.curve).upper()
        if curve not in _CURVES:
            raise ValueError(
                f"{where}: unknown curve {self.curve!r}. Valid: {_CURVES}."
            )
        object.__setattr__(self, "curve", curve)
        method = str(self.summation_method).lower()
        if method not in _SUMMATIONS:
            raise ValueError(
                f"{where}: unknown summation_method {self.summation_method!r}. "
                f"Valid: {_SUMMATIONS}."
            )
        object.__setattr__(self, "summation_method", method)
        if self.num_labels is not None and not self.multi_label:
            raise ValueError(
                f"{where}: num_labels={self.num_labels} is read only with "
                "multi_label=True."
            )
        if self.label_weights is not None:
            weights = tuple(float(w) for w in np.asarray(self.label_weights).ravel())
            object.__setattr__(self, "label_weights", weights)

    @property
    def threshold_grid(self) -> np.ndarray:
        """Every threshold, the two outer ones included, ascending."""
        if self.thresholds is not None:
            inner = list(self.thresholds)
        else:
            n = self.num_thresholds
            inner = [(i + 1) / (n - 1) for i in range(n - 2)]
        return np.array([-EPSILON, *inner, 1.0 + EPSILON], "float32")

    def init(self) -> State:
        """Zero counts per threshold (and per label under `multi_label`; one
        column, widened by the first `update`, when `num_labels` is None)."""
        shape = (self.num_thresholds,)
        if self.multi_label:
            shape += (self.num_labels or 1,)
        return {k: ops.zeros(shape, "float32") for k in COUNTS}

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_pred = ops.cast(y_pred, "float32")
        y_pred = ops.sigmoid(y_pred) if self.from_logits else y_pred
        y_pred = ops.clip(y_pred, 0.0, 1.0)
        if self.multi_label:
            counts = self._counts_per_label(y_true, y_pred, sample_weight)
        else:
            weights = sample_weight
            if self.label_weights is not None:
                shape = ops.convert_to_tensor(y_pred).shape
                ones = ops.ones(shape, "float32")
                given = ones if weights is None else weights
                weights = broadcast_weights(self, given, shape) * ops.array(
                    self.label_weights, "float32"
                )
            grid = self.threshold_grid
            counts = confusion_counts(self, y_true, y_pred, weights, grid)
        return {k: state[k] + counts[k] for k in COUNTS}

    def _counts_per_label(self, y_true: Any, y_pred: Any, sample_weight: Any) -> State:
        """Counts of shape (thresholds, labels): each column its own curve."""
        y_true, y_pred = same_shape(self, y_true, y_pred, dtype="float32")
        if y_pred.ndim != 2:
            raise ShapeError(
                f"{owner_name(self)}: multi_label=True needs y_pred of shape "
                f"(batch, labels), received {tuple(y_pred.shape)}."
            )
        if self.num_labels is not None and y_pred.shape[1] != self.num_labels:
            raise ShapeError(
                f"{owner_name(self)}: num_labels={self.num_labels} but y_pred has "
                f"{y_pred.shape[1]} columns."
            )
        if sample_weight is None:
            weights = ops.ones(y_pred.shape, "float32")
        else:
            weights = broadcast_weights(self, sample_weight, y_pred.shape)
        per_label = jax.vmap(binned_counts, in_axes=(1, 1, 1, None), out_axes=1)
        grid = ops.convert_to_tensor(self.threshold_grid)
        return per_label(y_true != 0, weights, y_pred, grid)

    def result(self, state: State) -> Any:
        tp, fp = state["true_positives"], state["false_positives"]
        tn, fn = state["true_negatives"], state["false_negatives"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            by_label = _interpolated_pr_auc(tp, fp, fn)
        else:
            x, y = _curve(self.curve, tp, fp, tn, fn)
            by_label = _riemann_sum(x, y, self.summation_method)
        if not self.multi_label:
            return by_label
        if self.label_weights is None:
            return ops.mean(by_label)
        weights = ops.array(self.label_weights, "float32")
        return divide_no_nan(ops.sum(by_label * weights), ops.sum(weights))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("thresholds", "label_weights"):
            if config[key] is not None:
                config[key] = list(config[key])
        return config


def _curve(curve: str, tp: Any, fp: Any, tn: Any, fn: Any) -> tuple[Any, Any]:
    """The curve's (x, y) points, one per threshold."""
    recall = divide_no_nan(tp, tp + fn)
    if curve == "ROC":
        return divide_no_nan(fp, fp + tn), recall
    if curve == "PR":
        return recall, divide_no_nan(tp, tp + fp)
    scale = divide_no_nan(tp + fn, tn + fp)  # PRGAIN
    recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
    precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
    recall_gain = ops.maximum(ops.where(tp == 0.0, 0.0, recall_gain), 0.0)
    return recall_gain, ops.where(tp == 0.0, 1.0, precision_gain)


def _riemann_sum(x: Any, y: Any, method: str) -> Any:
    """The area under the points, summed over the threshold axis."""
    if method == "interpolation":
        heights = (y[:-1] + y[1:]) / 2.0
    elif method == "minoring":
        heights = ops.minimum(y[:-1], y[1:])
    else:
        heights = ops.maximum(y[:-1], y[1:])
    return ops.sum((x[:-1] - x[1:]) * heights, axis=0)


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
    return ops.sum(increments, axis=0)
