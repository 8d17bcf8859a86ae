"""A rate at the best operating point that holds another at a floor:
sensitivity at a specificity, specificity at a sensitivity, precision at a
recall, recall at a precision.

The counts are taken at `num_thresholds` thresholds evenly spread over
[0, 1] (0 and 1 included, as Keras spreads them); the result is the largest
value of the rate over the thresholds where the constrained rate reaches its
floor, or 0 where none does.

Example:
  >>> m = PrecisionAtRecall(recall=0.5, num_thresholds=11)
  >>> y_true, y_pred = jnp.array([1, 1, 0, 0]), jnp.array([0.9, 0.4, 0.6, 0.1])
  >>> state = m.update(m.init(), y_true, y_pred)
  >>> float(m.result(state))
  1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from stateless import ops
from stateless.errors import owner_name
from train._metric import Metric, State, zeros
from train.metrics.confusion import COUNTS, confusion_counts, select
from train.targets import divide_no_nan


def rates(state: State) -> dict[str, Any]:
    """Sensitivity (= recall), specificity and precision at each threshold."""
    tp, fp = state["true_positives"], state["false_positives"]
    tn, fn = state["true_negatives"], state["false_negatives"]
    recall = divide_no_nan(tp, tp + fn)
    return {"sensitivity": recall, "recall": recall,
            "specificity": divide_no_nan(tn, tn + fp),
            "precision": divide_no_nan(tp, tp + fp)}  # fmt: skip


class _AtOperatingPoint(Metric):
    """The shared counting; subclasses name the two rates and the floor."""

    floor_of: ClassVar[str]  # the rate held at or above the floor
    best_of: ClassVar[str]  # the rate maximized there

    def __post_init__(self):
        super().__post_init__()
        floor = getattr(self, self.floor_of)
        if not 0 <= floor <= 1:
            raise ValueError(
                f"{owner_name(self)}: {self.floor_of} must lie in [0, 1], "
                f"received {floor!r}."
            )
        n = self.num_thresholds
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(
                f"{owner_name(self)}: num_thresholds must be an int > 0, got {n!r}."
            )

    @property
    def thresholds(self) -> np.ndarray:
        """The thresholds, ascending: 0, 1 and evenly spaced between (0.5
        alone when `num_thresholds` is 1)."""
        n = self.num_thresholds
        if n == 1:
            return np.array([0.5], "float32")
        return np.array([0.0, *[(i + 1) / (n - 1) for i in range(n - 2)], 1.0],
                        "float32")  # fmt: skip

    def init(self) -> State:
        return zeros(*COUNTS, shape=(len(self.thresholds),))

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_true, y_pred = select(self, y_true, y_pred, None, self.class_id)
        counts = confusion_counts(self, y_true, y_pred, sample_weight, self.thresholds)
        return {k: state[k] + counts[k] for k in COUNTS}

    def result(self, state: State) -> Any:
        found = rates(state)
        feasible = found[self.floor_of] >= getattr(self, self.floor_of)
        return ops.max(ops.where(feasible, found[self.best_of], 0.0))


@dataclass(frozen=True)
class SensitivityAtSpecificity(_AtOperatingPoint):
    """The best sensitivity (recall) where specificity is at least
    `specificity`.

    Args:
      specificity: the floor, in [0, 1].
      num_thresholds: how many thresholds to count at.
      class_id: the one class (column) to measure.

    Example:
      >>> m = SensitivityAtSpecificity(0.5, num_thresholds=11)
      >>> state = m.update(m.init(), jnp.array([1, 0]), jnp.array([0.8, 0.3]))
      >>> float(m.result(state))
      1.0
    """

    specificity: float
    num_thresholds: int = 200
    class_id: int | None = None
    floor_of: ClassVar[str] = "specificity"
    best_of: ClassVar[str] = "sensitivity"
    default_name: ClassVar[str] = "sensitivity_at_specificity"


@dataclass(frozen=True)
class SpecificityAtSensitivity(_AtOperatingPoint):
    """The best specificity where sensitivity (recall) is at least
    `sensitivity` (see `SensitivityAtSpecificity`).

    Example:
      >>> m = SpecificityAtSensitivity(0.5, num_thresholds=11)
      >>> state = m.update(m.init(), jnp.array([1, 0]), jnp.array([0.8, 0.3]))
      >>> float(m.result(state))
      1.0
    """

    sensitivity: float
    num_thresholds: int = 200
    class_id: int | None = None
    floor_of: ClassVar[str] = "sensitivity"
    best_of: ClassVar[str] = "specificity"
    default_name: ClassVar[str] = "specificity_at_sensitivity"


@dataclass(frozen=True)
class PrecisionAtRecall(_AtOperatingPoint):
    """The best precision where recall is at least `recall` (see
    `SensitivityAtSpecificity`).

    Example:
      >>> m = PrecisionAtRecall(1.0, num_thresholds=11)
      >>> state = m.update(m.init(), jnp.array([1, 0, 1]), jnp.array([0.8, 0.5, 0.3]))
      >>> round(float(m.result(state)), 4)
      0.6667
    """

    recall: float
    num_thresholds: int = 200
    class_id: int | None = None
    floor_of: ClassVar[str] = "recall"
    best_of: ClassVar[str] = "precision"
    default_name: ClassVar[str] = "precision_at_recall"


@dataclass(frozen=True)
class RecallAtPrecision(_AtOperatingPoint):
    """The best recall where precision is at least `precision` (see
    `SensitivityAtSpecificity`).

    Example:
      >>> m = RecallAtPrecision(1.0, num_thresholds=11)
      >>> state = m.update(m.init(), jnp.array([1, 0, 1]), jnp.array([0.8, 0.5, 0.3]))
      >>> float(m.result(state))
      0.5
    """

    precision: float
    num_thresholds: int = 200
    class_id: int | None = None
    floor_of: ClassVar[str] = "precision"
    best_of: ClassVar[str] = "recall"
    default_name: ClassVar[str] = "recall_at_precision"
