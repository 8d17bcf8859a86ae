"""Metrics as pure functions over explicit state, with Keras's names and results.

A metric is a frozen dataclass of hyperparameters (see `Metric`). Its state is
a dict of float32 accumulators, so `update` runs inside a jitted train step,
and states from several batches or devices combine with `merge` (a sum).
By family: `means` (Mean, Sum, MeanMetricWrapper), `accuracy`, `loss_means`
(the regression, probabilistic and hinge metrics: a loss's mean over
everything seen), `correlation`, `confusion` (the four counts, Precision,
Recall), `operating_point` (SensitivityAtSpecificity...), `auc`, `f_score`
(F1Score, FBetaScore), `r2_score` and `iou` (IoU, MeanIoU, the one-hot and
binary forms). Keras's
function forms are here too, those of losses included
(`train.metrics.mean_squared_error is train.losses.mean_squared_error`).

Example:
  >>> m = get("sparse_categorical_accuracy")
  >>> state = m.update(m.init(), jnp.array([0, 1]), jnp.eye(2))
  >>> float(m.result(state))
  1.0
"""

from __future__ import annotations

from typing import Any

from stateless.lookup import lookup
from train import losses
from train._metric import Metric as Metric
from train._metric import State as State
from train.losses import binary_crossentropy as binary_crossentropy
from train.losses import binary_focal_crossentropy as binary_focal_crossentropy
from train.losses import categorical_crossentropy as categorical_crossentropy
from train.losses import (
    categorical_focal_crossentropy as categorical_focal_crossentropy,
)
from train.losses import categorical_hinge as categorical_hinge
from train.losses import hinge as hinge
from train.losses import huber as huber
from train.losses import kl_divergence as kl_divergence
from train.losses import log_cosh as log_cosh
from train.losses import mean_absolute_error as mean_absolute_error
from train.losses import (
    mean_absolute_percentage_error as mean_absolute_percentage_error,
)
from train.losses import mean_squared_error as mean_squared_error
from train.losses import (
    mean_squared_logarithmic_error as mean_squared_logarithmic_error,
)
from train.losses import poisson as poisson
from train.losses import (
    sparse_categorical_crossentropy as sparse_categorical_crossentropy,
)
from train.losses import squared_hinge as squared_hinge
from train.metrics.accuracy import Accuracy as Accuracy
from train.metrics.accuracy import BinaryAccuracy as BinaryAccuracy
from train.metrics.accuracy import CategoricalAccuracy as CategoricalAccuracy
from train.metrics.accuracy import (
    SparseCategoricalAccuracy as SparseCategoricalAccuracy,
)
from train.metrics.accuracy import (
    SparseTopKCategoricalAccuracy as SparseTopKCategoricalAccuracy,
)
from train.metrics.accuracy import TopKCategoricalAccuracy as TopKCategoricalAccuracy
from train.metrics.accuracy import accuracy as accuracy
from train.metrics.accuracy import binary_accuracy as binary_accuracy
from train.metrics.accuracy import categorical_accuracy as categorical_accuracy
from train.metrics.accuracy import (
    sparse_categorical_accuracy as sparse_categorical_accuracy,
)
from train.metrics.accuracy import (
    sparse_top_k_categorical_accuracy as sparse_top_k_categorical_accuracy,
)
from train.metrics.accuracy import (
    top_k_categorical_accuracy as top_k_categorical_accuracy,
)
from train.metrics.auc import AUC as AUC
from train.metrics.confusion import FalseNegatives as FalseNegatives
from train.metrics.confusion import FalsePositives as FalsePositives
from train.metrics.confusion import Precision as Precision
from train.metrics.confusion import Recall as Recall
from train.metrics.confusion import TrueNegatives as TrueNegatives
from train.metrics.confusion import TruePositives as TruePositives
from train.metrics.correlation import ConcordanceCorrelation as ConcordanceCorrelation
from train.metrics.correlation import PearsonCorrelation as PearsonCorrelation
from train.metrics.correlation import (
    concordance_correlation as concordance_correlation,
)
from train.metrics.correlation import pearson_correlation as pearson_correlation
from train.metrics.f_score import F1Score as F1Score
from train.metrics.f_score import FBetaScore as FBetaScore
from train.metrics.iou import BinaryIoU as BinaryIoU
from train.metrics.iou import IoU as IoU
from train.metrics.iou import MeanIoU as MeanIoU
from train.metrics.iou import OneHotIoU as OneHotIoU
from train.metrics.iou import OneHotMeanIoU as OneHotMeanIoU
from train.metrics.loss_means import BinaryCrossentropy as BinaryCrossentropy
from train.metrics.loss_means import CategoricalCrossentropy as CategoricalCrossentropy
from train.metrics.loss_means import CategoricalHinge as CategoricalHinge
from train.metrics.loss_means import CosineSimilarity as CosineSimilarity
from train.metrics.loss_means import Hinge as Hinge
from train.metrics.loss_means import KLDivergence as KLDivergence
from train.metrics.loss_means import LogCoshError as LogCoshError
from train.metrics.loss_means import MeanAbsoluteError as MeanAbsoluteError
from train.metrics.loss_means import (
    MeanAbsolutePercentageError as MeanAbsolutePercentageError,
)
from train.metrics.loss_means import MeanSquaredError as MeanSquaredError
from train.metrics.loss_means import (
    MeanSquaredLogarithmicError as MeanSquaredLogarithmicError,
)
from train.metrics.loss_means import Poisson as Poisson
from train.metrics.loss_means import RootMeanSquaredError as RootMeanSquaredError
from train.metrics.loss_means import (
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy,
)
from train.metrics.loss_means import SquaredHinge as SquaredHinge
from train.metrics.means import Mean as Mean
from train.metrics.means import MeanMetricWrapper as MeanMetricWrapper
from train.metrics.means import Sum as Sum
from train.metrics.operating_point import PrecisionAtRecall as PrecisionAtRecall
from train.metrics.operating_point import RecallAtPrecision as RecallAtPrecision
from train.metrics.operating_point import (
    SensitivityAtSpecificity as SensitivityAtSpecificity,
)
from train.metrics.operating_point import (
    SpecificityAtSensitivity as SpecificityAtSensitivity,
)
from train.metrics.r2_score import R2Score as R2Score

CLASSES = (
    Mean,
    Sum,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
    LogCoshError,
    CosineSimilarity,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    PearsonCorrelation,
    ConcordanceCorrelation,
    TruePositives,
    FalsePositives,
    TrueNegatives,
    FalseNegatives,
    Precision,
    Recall,
    AUC,
    F1Score,
    FBetaScore,
    R2Score,
    BinaryIoU,
)
# Built with a required argument: by name or config only, not with defaults.
_REQUIRING = (
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    PrecisionAtRecall,
    RecallAtPrecision,
    IoU,
    MeanIoU,
    OneHotIoU,
    OneHotMeanIoU,
)
# Keras's short and legacy names.
_ALIASES = {
    "acc": Accuracy,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "rmse": RootMeanSquaredError,
    "log_cosh": LogCoshError,
    "kld": KLDivergence,
    "KLD": KLDivergence,
    "top_k_accuracy": TopKCategoricalAccuracy,
}
_REGISTRY: dict[str, type[Metric]] = {
    **{cls.__name__: cls for cls in CLASSES},
    **{cls.default_name: cls for cls in CLASSES},
    **_ALIASES,
    "MeanMetricWrapper": MeanMetricWrapper,  # by its config only: it needs a fn
    **{cls.__name__: cls for cls in _REQUIRING},
}


def _lookup(name: str) -> type[Metric]:
    return lookup("metric", name, _REGISTRY)


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
      Accuracy(name='acc', dtype=None)
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


def serialize(metric: Metric) -> dict[str, Any]:
    """A metric as `{"class_name", "config"}` data, which `deserialize` (or
    `get`) turns back into an equal metric.

    Example:
      >>> deserialize(serialize(BinaryAccuracy(threshold=0.3))).threshold
      0.3
    """
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict[str, Any]) -> Metric:
    """The metric `serialize` described (see `get`)."""
    return get(config)


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
      SparseCategoricalAccuracy(name='accuracy', dtype=None)
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
