"""Metrics that report the weighted mean of a loss's per-example values over
everything seen (Keras's regression, probabilistic and hinge metrics): the
same functions as `train.losses`, accumulated instead of reduced per batch.

Example:
  >>> m = RootMeanSquaredError()
  >>> float(m.result(m.update(m.init(), jnp.zeros((2, 2)), jnp.full((2, 2), 3.0))))
  3.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from train import losses
from train._metric import State
from train.loss_reduction import fold_mask
from train.losses.probabilistic import sparse_values
from train.metrics.means import Mean, MeanOf, accumulate
from train.targets import same_shape


def _pair(owner: Any, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    return same_shape(owner, y_true, y_pred, dtype="float32")


@dataclass(frozen=True)
class MeanSquaredError(MeanOf):
    """The mean of `mean(square(y_true - y_pred), axis=-1)` over examples.

    Example:
      >>> m = MeanSquaredError()
      >>> float(m.result(m.update(m.init(), jnp.zeros((2, 3)), jnp.ones((2, 3)))))
      1.0
    """

    default_name: ClassVar[str] = "mean_squared_error"

    def _values(self, y_true, y_pred):
        return losses.mean_squared_error(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class MeanAbsoluteError(MeanOf):
    """The mean of `mean(abs(y_true - y_pred), axis=-1)` over examples.

    Example:
      >>> m = MeanAbsoluteError()
      >>> float(m.result(m.update(m.init(), jnp.zeros((2, 3)), jnp.ones((2, 3)))))
      1.0
    """

    default_name: ClassVar[str] = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        return losses.mean_absolute_error(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class MeanAbsolutePercentageError(MeanOf):
    """The mean absolute error as a percentage of the target.

    Example:
      >>> m = MeanAbsolutePercentageError()
      >>> state = m.update(m.init(), jnp.full((1, 2), 4.0), jnp.full((1, 2), 5.0))
      >>> float(m.result(state))
      25.0
    """

    default_name: ClassVar[str] = "mean_absolute_percentage_error"

    def _values(self, y_true, y_pred):
        return losses.mean_absolute_percentage_error(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class MeanSquaredLogarithmicError(MeanOf):
    """The mean squared error of `log(1 + y)`.

    Example:
      >>> m = MeanSquaredLogarithmicError()
      >>> float(m.result(m.update(m.init(), jnp.zeros((1, 2)), jnp.zeros((1, 2)))))
      0.0
    """

    default_name: ClassVar[str] = "mean_squared_logarithmic_error"

    def _values(self, y_true, y_pred):
        return losses.mean_squared_logarithmic_error(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class RootMeanSquaredError(Mean):
    """The square root of the weighted mean squared error over every entry.

    Example:
      >>> m = RootMeanSquaredError()
      >>> float(m.result(m.update(m.init(), jnp.zeros(4), jnp.array([0., 0., 0., 4.]))))
      2.0
    """

    reads_masks: ClassVar[bool] = True
    default_name: ClassVar[str] = "root_mean_squared_error"

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None,
               mask: Any = None) -> State:  # fmt: skip
        y_true, y_pred = _pair(self, y_true, y_pred)
        weights = fold_mask(sample_weight, mask, "sum")
        return accumulate(self, state, ops.square(y_pred - y_true), weights)

    def result(self, state: State) -> Any:
        return ops.sqrt(super().result(state))


@dataclass(frozen=True)
class LogCoshError(MeanOf):
    """The mean of `log(cosh(y_pred - y_true))` (see `train.losses.log_cosh`).

    Example:
      >>> m = LogCoshError()
      >>> state = m.update(m.init(), jnp.zeros((1, 1)), jnp.zeros((1, 1)))
      >>> m.name, float(m.result(state))
      ('logcosh', 0.0)
    """

    default_name: ClassVar[str] = "logcosh"

    def _values(self, y_true, y_pred):
        return losses.log_cosh(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class CosineSimilarity(MeanOf):
    """The mean cosine similarity of `y_true` and `y_pred` along `axis`: 1
    when they point the same way (the loss of that name is its negative).

    Example:
      >>> m = CosineSimilarity()
      >>> state = m.update(m.init(), jnp.array([[1.0, 0.0]]), jnp.array([[2.0, 0.0]]))
      >>> float(m.result(state))
      1.0
    """

    axis: int = -1
    default_name: ClassVar[str] = "cosine_similarity"

    def _values(self, y_true, y_pred):
        return -losses.cosine_similarity(*_pair(self, y_true, y_pred), self.axis)


@dataclass(frozen=True)
class BinaryCrossentropy(MeanOf):
    """The mean binary cross-entropy (see `train.losses.binary_crossentropy`).

    Example:
      >>> m = BinaryCrossentropy(from_logits=True)
      >>> state = m.update(m.init(), jnp.ones((1, 1)), jnp.zeros((1, 1)))
      >>> round(float(m.result(state)), 4)
      0.6931
    """

    from_logits: bool = False
    label_smoothing: float = 0
    default_name: ClassVar[str] = "binary_crossentropy"

    def _values(self, y_true, y_pred):
        return losses.binary_crossentropy(
            *_pair(self, y_true, y_pred), self.from_logits, self.label_smoothing
        )


@dataclass(frozen=True)
class CategoricalCrossentropy(MeanOf):
    """The mean categorical cross-entropy of one-hot targets.

    Example:
      >>> m = CategoricalCrossentropy()
      >>> state = m.update(m.init(), jnp.eye(2), jnp.full((2, 2), 0.5))
      >>> round(float(m.result(state)), 4)
      0.6931
    """

    from_logits: bool = False
    label_smoothing: float = 0
    axis: int = -1
    default_name: ClassVar[str] = "categorical_crossentropy"

    def _values(self, y_true, y_pred):
        return losses.CategoricalCrossentropy(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing,
            axis=self.axis,
        ).call(y_true, ops.cast(y_pred, "float32"))  # fmt: skip


@dataclass(frozen=True)
class SparseCategoricalCrossentropy(Mean):
    """The mean cross-entropy of integer class ids; labels equal to
    `ignore_class` give 0 (and, with sample weights, weigh nothing).

    Example:
      >>> m = SparseCategoricalCrossentropy(from_logits=True)
      >>> state = m.update(m.init(), jnp.array([0]), jnp.zeros((1, 2)))
      >>> round(float(m.result(state)), 4)
      0.6931
    """

    from_logits: bool = False
    ignore_class: int | None = None
    axis: int = -1
    reads_masks: ClassVar[bool] = True
    default_name: ClassVar[str] = "sparse_categorical_crossentropy"

    def update(self, state, y_true, y_pred, sample_weight=None, mask=None):
        values, ignored = sparse_values(
            self, y_true, ops.cast(y_pred, "float32"), self.from_logits,
            self.ignore_class, self.axis,
        )  # fmt: skip
        weights = fold_mask(sample_weight, mask, "sum")
        if weights is not None and ignored is not None:
            weights = fold_mask(weights, ignored, "sum")
        return accumulate(self, state, values, weights)


@dataclass(frozen=True)
class KLDivergence(MeanOf):
    """The mean Kullback-Leibler divergence (see `train.losses.kl_divergence`).

    Example:
      >>> m = KLDivergence()
      >>> float(m.result(m.update(m.init(), jnp.eye(2), jnp.eye(2))))
      0.0
    """

    default_name: ClassVar[str] = "kl_divergence"

    def _values(self, y_true, y_pred):
        return losses.kl_divergence(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class Poisson(MeanOf):
    """The mean Poisson loss (see `train.losses.poisson`).

    Example:
      >>> m = Poisson()
      >>> float(m.result(m.update(m.init(), jnp.zeros((1, 2)), jnp.ones((1, 2)))))
      1.0
    """

    default_name: ClassVar[str] = "poisson"

    def _values(self, y_true, y_pred):
        return losses.poisson(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class Hinge(MeanOf):
    """The mean hinge loss (see `train.losses.hinge`).

    Example:
      >>> m = Hinge()
      >>> float(m.result(m.update(m.init(), jnp.ones((1, 2)), jnp.ones((1, 2)))))
      0.0
    """

    default_name: ClassVar[str] = "hinge"

    def _values(self, y_true, y_pred):
        return losses.hinge(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class SquaredHinge(MeanOf):
    """The mean squared hinge loss (see `train.losses.squared_hinge`).

    Example:
      >>> m = SquaredHinge()
      >>> float(m.result(m.update(m.init(), jnp.ones((1, 2)), jnp.zeros((1, 2)))))
      1.0
    """

    default_name: ClassVar[str] = "squared_hinge"

    def _values(self, y_true, y_pred):
        return losses.squared_hinge(*_pair(self, y_true, y_pred))


@dataclass(frozen=True)
class CategoricalHinge(MeanOf):
    """The mean categorical hinge loss (see `train.losses.categorical_hinge`).

    Example:
      >>> m = CategoricalHinge()
      >>> float(m.result(m.update(m.init(), jnp.eye(2), jnp.eye(2))))
      0.0
    """

    default_name: ClassVar[str] = "categorical_hinge"

    def _values(self, y_true, y_pred):
        return losses.categorical_hinge(*_pair(self, y_true, y_pred))
