"""Losses: frozen configs whose call is a pure, jittable function of arrays,
and Keras's function forms that return the per-example values.

Every one of Keras 3's losses is here under its name, by family: regression
(`MeanSquaredError`, `Huber`, `LogCosh`, `CosineSimilarity`...), probabilistic
(the cross-entropies, focal and generalized ones included, `KLDivergence`,
`Poisson`), hinge, overlap (`Dice`, `Tversky`), metric learning (`Circle`) and
sequence (`CTC`). See `train.losses.base` for how a loss weights and reduces.

Example:
  >>> loss = get("mse")
  >>> loss(jnp.zeros((4, 3)), jnp.ones((4, 3))).shape
  ()
  >>> mean_squared_error(jnp.zeros((4, 3)), jnp.ones((4, 3))).shape
  (4,)
"""

from __future__ import annotations

from typing import Any

from stateless.lookup import lookup
from train.loss_reduction import REDUCTIONS as REDUCTIONS
from train.loss_reduction import reduce_weighted_values as reduce_weighted_values
from train.losses.base import EPSILON as EPSILON
from train.losses.base import Loss as Loss
from train.losses.base import LossFunctionWrapper as LossFunctionWrapper
from train.losses.base import takes_sample_weight
from train.losses.embedding import Circle as Circle
from train.losses.embedding import circle as circle
from train.losses.hinge import CategoricalHinge as CategoricalHinge
from train.losses.hinge import Hinge as Hinge
from train.losses.hinge import SquaredHinge as SquaredHinge
from train.losses.hinge import categorical_hinge as categorical_hinge
from train.losses.hinge import hinge as hinge
from train.losses.hinge import squared_hinge as squared_hinge
from train.losses.overlap import Dice as Dice
from train.losses.overlap import Tversky as Tversky
from train.losses.overlap import dice as dice
from train.losses.overlap import tversky as tversky
from train.losses.probabilistic import BinaryCrossentropy as BinaryCrossentropy
from train.losses.probabilistic import (
    BinaryFocalCrossentropy as BinaryFocalCrossentropy,
)
from train.losses.probabilistic import (
    CategoricalCrossentropy as CategoricalCrossentropy,
)
from train.losses.probabilistic import (
    CategoricalFocalCrossentropy as CategoricalFocalCrossentropy,
)
from train.losses.probabilistic import (
    CategoricalGeneralizedCrossEntropy as CategoricalGeneralizedCrossEntropy,
)
from train.losses.probabilistic import KLDivergence as KLDivergence
from train.losses.probabilistic import Poisson as Poisson
from train.losses.probabilistic import (
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy,
)
from train.losses.probabilistic import binary_crossentropy as binary_crossentropy
from train.losses.probabilistic import (
    binary_focal_crossentropy as binary_focal_crossentropy,
)
from train.losses.probabilistic import (
    categorical_crossentropy as categorical_crossentropy,
)
from train.losses.probabilistic import (
    categorical_focal_crossentropy as categorical_focal_crossentropy,
)
from train.losses.probabilistic import (
    categorical_generalized_cross_entropy as categorical_generalized_cross_entropy,
)
from train.losses.probabilistic import kl_divergence as kl_divergence
from train.losses.probabilistic import poisson as poisson
from train.losses.probabilistic import (
    sparse_categorical_crossentropy as sparse_categorical_crossentropy,
)
from train.losses.regression import CosineSimilarity as CosineSimilarity
from train.losses.regression import Huber as Huber
from train.losses.regression import LogCosh as LogCosh
from train.losses.regression import MeanAbsoluteError as MeanAbsoluteError
from train.losses.regression import (
    MeanAbsolutePercentageError as MeanAbsolutePercentageError,
)
from train.losses.regression import MeanSquaredError as MeanSquaredError
from train.losses.regression import (
    MeanSquaredLogarithmicError as MeanSquaredLogarithmicError,
)
from train.losses.regression import cosine_similarity as cosine_similarity
from train.losses.regression import huber as huber
from train.losses.regression import log_cosh as log_cosh
from train.losses.regression import mean_absolute_error as mean_absolute_error
from train.losses.regression import (
    mean_absolute_percentage_error as mean_absolute_percentage_error,
)
from train.losses.regression import mean_squared_error as mean_squared_error
from train.losses.regression import (
    mean_squared_logarithmic_error as mean_squared_logarithmic_error,
)
from train.losses.sequence import CTC as CTC
from train.losses.sequence import ctc as ctc

CLASSES = (
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Huber,
    LogCosh,
    CosineSimilarity,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    Dice,
    Tversky,
    Circle,
    CTC,
)
# Keras's short and legacy names.
_ALIASES = {
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "huber": Huber,
    "logcosh": LogCosh,
    "kld": KLDivergence,
    "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
}
_REGISTRY: dict[str, type[Loss]] = {
    **{cls.__name__: cls for cls in CLASSES},
    **{cls.default_name: cls for cls in CLASSES},
    **_ALIASES,
}


def _lookup(name: str) -> type[Loss]:
    return lookup("loss", name, _REGISTRY)


def get(identifier: Any) -> Any:
    """A loss from a name, a `{"class_name", "config"}` dict, or a loss object.

    Args:
      identifier: a name (`"mse"`, `"mean_squared_error"`, `"MeanSquaredError"`,
        `"huber"`, `"sparse_categorical_crossentropy"`, ...), a config dict, a
        `Loss` class (built with its defaults), a `Loss`, a function
        `loss(y_true, y_pred, sample_weight)` (returned as is), a function
        `loss(y_true, y_pred)` of per-example values (wrapped in
        `LossFunctionWrapper`, so it is weighted and reduced), or None.

    Raises:
      ValueError: an unknown name; the message lists the valid ones.
      TypeError: anything else.

    Example:
      >>> get("sparse_categorical_crossentropy").name
      'sparse_categorical_crossentropy'
      >>> get(Huber(delta=2.0)).delta
      2.0
    """
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if callable(identifier):
        if takes_sample_weight(identifier):
            return identifier
        return LossFunctionWrapper(fn=identifier)
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        return _lookup(identifier["class_name"]).from_config(identifier["config"])
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise TypeError(
        f"cannot interpret {identifier!r:.80} as a loss: pass a name, a config "
        "dict, or a callable loss(y_true, y_pred, sample_weight=None)."
    )


def serialize(loss: Loss) -> dict[str, Any]:
    """A loss as `{"class_name", "config"}` data, which `deserialize` (or
    `get`) turns back into an equal loss.

    Example:
      >>> deserialize(serialize(Huber(delta=2.0))) == Huber(delta=2.0)
      True
    """
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any]) -> Loss:
    """The loss `serialize` described (see `get`)."""
    return get(config)
