"""Correlation metrics: Pearson's and Lin's concordance correlation between
`y_true` and `y_pred` along an axis, averaged over examples (per batch, then
over batches, as Keras averages them).

Example:
  >>> y = jnp.array([[1.0, 2.0, 3.0]])
  >>> [round(float(r), 4) for r in pearson_correlation(y, 2 * y)]
  [1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from train.losses.base import EPSILON, as_floats
from train.metrics.means import MeanOf
from train.targets import same_shape, squeeze_or_expand_to_same_rank


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Pearson's correlation coefficient of `y_true` and `y_pred` along
    `axis`: the mean product of their standardized values."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))

    def standardized(x):
        x = x - ops.mean(x, axis=axis, keepdims=True)
        return x / ops.std(x, axis=axis, keepdims=True)

    return ops.mean(standardized(y_true) * standardized(y_pred), axis=axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Lin's concordance correlation coefficient along `axis`: 1 only when
    `y_pred` equals `y_true`, not merely correlates with it."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    true_mean = ops.mean(y_true, axis=axis, keepdims=True)
    pred_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    true_var = ops.var(y_true - true_mean, axis=axis, keepdims=True)
    pred_var = ops.var(y_pred - pred_mean, axis=axis, keepdims=True)
    covariance = (y_true - true_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + ops.square(true_mean - pred_mean)
    return ops.mean(2 * covariance / (norm + EPSILON), axis=axis)


@dataclass(frozen=True)
class PearsonCorrelation(MeanOf):
    """The mean Pearson correlation along `axis` (see `pearson_correlation`).

    Args:
      axis: the axis the correlation is taken along.

    Example:
      >>> m = PearsonCorrelation()
      >>> y = jnp.array([[1.0, 2.0, 3.0]])
      >>> round(float(m.result(m.update(m.init(), y, -y))), 6)
      -1.0
    """

    axis: int = -1
    default_name: ClassVar[str] = "pearson_correlation"

    def _values(self, y_true, y_pred):
        return pearson_correlation(
            *same_shape(self, y_true, y_pred, dtype="float32"), self.axis
        )


@dataclass(frozen=True)
class ConcordanceCorrelation(MeanOf):
    """The mean concordance correlation along `axis` (see
    `concordance_correlation`).

    Args:
      axis: the axis the correlation is taken along.

    Example:
      >>> m = ConcordanceCorrelation()
      >>> y = jnp.array([[1.0, 2.0, 3.0]])
      >>> round(float(m.result(m.update(m.init(), y, y))), 4)
      1.0
    """

    axis: int = -1
    default_name: ClassVar[str] = "concordance_correlation"

    def _values(self, y_true, y_pred):
        return concordance_correlation(
            *same_shape(self, y_true, y_pred, dtype="float32"), self.axis
        )
