"""F-scores: the harmonic mean of precision and recall, per class or averaged.

Predictions become hard labels first: above `threshold` or, with no
threshold, each row's largest score. Counts are per class (one entry per
column of `y_pred`), pooled over classes with `average="micro"`.

Per-class counts take their width from the first batch, as Keras's variables
do: `init()` gives scalar zeros, and the first `update` broadcasts them to one
entry per class. A loop that carries the state (`lax.scan`) starts from a
state after one update, or from `jax.eval_shape` of one (the fit loop does).

Example:
  >>> m = F1Score(average="macro", threshold=0.5)
  >>> state = m.update(m.init(), jnp.eye(3), jnp.eye(3) * 0.9)
  >>> round(float(m.result(state)), 4)
  1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from stateless.errors import ShapeError, owner_name
from train._metric import Metric, State, zeros
from train.losses import EPSILON
from train.targets import broadcast_weights

_COUNTS = ("true_positives", "false_positives", "false_negatives")
_AVERAGES = (None, "micro", "macro", "weighted")


@dataclass(frozen=True)
class FBetaScore(Metric):
    """The F-beta score: `(1 + b^2) * P * R / (b^2 * P + R)`.

    Args:
      average: None (one score per class), `"micro"` (from the counts pooled
        over classes), `"macro"` (the mean of the per-class scores) or
        `"weighted"` (their mean weighted by each class's true count).
      beta: the weight of recall, > 0.
      threshold: None (each row's largest score is its label) or a float in
        `(0, 1]` (scores above it are positive).

    Example:
      >>> m = FBetaScore(beta=2.0, threshold=0.5)
      >>> y = jnp.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]])
      >>> p = jnp.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
      >>> [round(float(v), 4) for v in m.result(m.update(m.init(), y, p))]
      [0.3846, 0.9091, 0.8333]
    """

    average: str | None = None
    beta: float = 1.0
    threshold: float | None = None
    default_name: ClassVar[str] = "fbeta_score"

    def __post_init__(self):
        super().__post_init__()
        where = owner_name(self)
        if self.average not in _AVERAGES:
            raise ValueError(
                f"{where}: average={self.average!r}; expected one of {_AVERAGES}."
            )
        beta = self.beta
        if isinstance(beta, bool) or not isinstance(beta, int | float) or beta <= 0:
            raise ValueError(f"{where}: beta must be a number > 0, got {beta!r}.")
        object.__setattr__(self, "beta", float(beta))
        t = self.threshold
        if t is not None and (
            isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t <= 1
        ):
            raise ValueError(
                f"{where}: threshold must be None or a number in (0, 1], got {t!r}."
            )

    def init(self) -> State:
        """Zeros: scalars, which the first `update` widens to one per class
        unless `average="micro"`."""
        return zeros(*_COUNTS, "intermediate_weights")

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_true, y_pred = self._hard_labels(y_true, y_pred)
        axis = None if self.average == "micro" else 0
        if sample_weight is not None:
            weights = broadcast_weights(self, sample_weight, y_pred.shape[:1])
        else:
            weights = ops.ones(y_pred.shape[:1], "float32")

        def weighted_sum(values):
            return ops.sum(values * weights[:, None], axis=axis)

        batch = {
            "true_positives": weighted_sum(y_pred * y_true),
            "false_positives": weighted_sum(y_pred * (1.0 - y_true)),
            "false_negatives": weighted_sum((1.0 - y_pred) * y_true),
            "intermediate_weights": weighted_sum(y_true),
        }
        return {k: state[k] + batch[k] for k in batch}

    def _hard_labels(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ShapeError(
                f"{owner_name(self)}: expected y_true and y_pred of one shape "
                f"(batch, classes), received y_true {tuple(y_true.shape)} and "
                f"y_pred {tuple(y_pred.shape)}. Hint: one-hot encode sparse labels."
            )
        if self.threshold is None:
            top = ops.max(y_pred, axis=-1, keepdims=True)
            hard = ops.logical_and(y_pred >= top, ops.abs(y_pred) > 1e-9)
        else:
            hard = y_pred > self.threshold
        return y_true, ops.cast(hard, "float32")

    def result(self, state: State) -> Any:
        tp = state["true_positives"]
        precision = tp / (tp + state["false_positives"] + EPSILON)
        recall = tp / (tp + state["false_negatives"] + EPSILON)
        b2 = self.beta**2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            support = state["intermediate_weights"]
            return ops.sum(score * support / (ops.sum(support) + EPSILON))
        if self.average is not None:
            return ops.mean(score)
        return score


@dataclass(frozen=True)
class F1Score(FBetaScore):
    """The F1 score, `2 * P * R / (P + R)`: `FBetaScore` with `beta=1`.

    Args:
      average: None, `"micro"`, `"macro"` or `"weighted"` (see `FBetaScore`).
      threshold: None (each row's largest score is its label) or a float in
        `(0, 1]`.

    Example:
      >>> m = F1Score(average="micro")
      >>> y, p = jnp.eye(2), jnp.array([[0.9, 0.1], [0.8, 0.2]])
      >>> round(float(m.result(m.update(m.init(), y, p))), 4)
      0.5
    """

    default_name: ClassVar[str] = "f1_score"

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        object.__setattr__(self, "average", average)
        object.__setattr__(self, "beta", 1.0)
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", dtype)
        self.__post_init__()

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
