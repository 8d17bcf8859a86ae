"""The coefficient of determination, R^2, from sums kept per output column.

R^2 = 1 - (residual sum of squares) / (total sum of squares about the mean),
per column of `y_true`, then averaged as `class_aggregation` says; with
`num_regressors`, the adjusted R^2 of a model with that many predictors.

The per-column sums take their width from the first batch, as Keras's
variables do: `init()` gives scalar zeros, which the first `update` broadcasts
(see `train.metrics.f_score`).

Example:
  >>> m = R2Score()
  >>> y = jnp.array([[1.0], [2.0], [3.0]])
  >>> round(float(m.result(m.update(m.init(), y, y + 0.1))), 4)
  0.985
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax.numpy as jnp

from stateless import ops
from stateless.errors import owner_name
from train._metric import Metric, State, zeros
from train.targets import broadcast_weights, same_shape

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


@dataclass(frozen=True)
class R2Score(Metric):
    """R^2 per output column, averaged.

    Args:
      class_aggregation: `"uniform_average"` (the mean over columns),
        `"variance_weighted_average"` (weighted by each column's total sum of
        squares) or None (one score per column).
      num_regressors: the number of predictors p for the adjusted R^2,
        `1 - (1 - R^2) (n - 1) / (n - p - 1)` over n values seen; 0 for plain
        R^2. When `p >= n - 1` the plain R^2 is returned (Keras warns then;
        a compiled result cannot).

    Example:
      >>> m = R2Score(class_aggregation=None)
      >>> y = jnp.array([[1.0, 0.0], [3.0, 2.0]])
      >>> m.result(m.update(m.init(), y, jnp.array([[1.0, 1.0], [3.0, 1.0]])))
      Array([1., 0.], dtype=float32)
    """

    class_aggregation: str | None = "uniform_average"
    num_regressors: int = 0
    default_name: ClassVar[str] = "r2_score"

    def __post_init__(self):
        super().__post_init__()
        if self.class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"{owner_name(self)}: class_aggregation={self.class_aggregation!r}; "
                f"expected one of {_AGGREGATIONS}."
            )
        p = self.num_regressors
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise ValueError(
                f"{owner_name(self)}: num_regressors must be an int >= 0, got {p!r}."
            )

    def init(self) -> State:
        """Zeros: scalars, which the first `update` widens to one per column."""
        return zeros("squared_sum", "sum", "residual", "count", "num_samples")

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_true, y_pred = same_shape(self, y_true, y_pred, dtype="float32")
        if y_true.ndim == 1:  # one output: a column
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        if sample_weight is None:
            weights = ops.ones(y_true.shape, "float32")
        else:
            weights = broadcast_weights(self, sample_weight, y_true.shape)
        weighted = y_true * weights
        return {
            "sum": state["sum"] + ops.sum(weighted, axis=0),
            "squared_sum": state["squared_sum"] + ops.sum(y_true * weighted, axis=0),
            "residual": state["residual"]
            + ops.sum(ops.square(y_true - y_pred) * weights, axis=0),
            "count": state["count"] + ops.sum(weights, axis=0),
            "num_samples": state["num_samples"] + y_true.size,
        }

    def result(self, state: State) -> Any:
        mean = state["sum"] / state["count"]
        total = state["squared_sum"] - state["sum"] * mean
        raw = 1.0 - state["residual"] / total
        raw = ops.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = ops.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = ops.sum(total * raw) / ops.sum(total)
        else:
            score = raw
        p = self.num_regressors
        if p == 0:
            return score
        n = state["num_samples"]
        adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return ops.where(p < n - 1, adjusted, score)
