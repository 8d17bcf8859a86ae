"""Regression losses: errors between real-valued targets and predictions.

Each loss is a class (weighted and reduced, see `train.losses.base`) and a
function of Keras's name that returns the per-example values, the mean over
the last axis.

Example:
  >>> y_true, y_pred = jnp.array([[1.0, 2.0]]), jnp.array([[2.0, 2.0]])
  >>> mean_absolute_percentage_error(y_true, y_pred)
  Array([50.], dtype=float32)
  >>> float(MeanAbsolutePercentageError()(y_true, y_pred))
  50.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from train.losses.base import EPSILON, Loss, as_floats, elementwise
from train.targets import squeeze_or_expand_to_same_rank


def mean_squared_error(y_true: Any, y_pred: Any) -> Any:
    """`mean(square(y_true - y_pred), axis=-1)`."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Any:
    """`mean(abs(y_true - y_pred), axis=-1)`."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Any:
    """`100 * mean(abs((y_true - y_pred) / y_true), axis=-1)`, dividing by at
    least 1e-7."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    error = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), EPSILON))
    return 100.0 * ops.mean(error, axis=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Any:
    """`mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1)`, with values
    below 1e-7 raised to it."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    log_pred = ops.log(ops.maximum(y_pred, EPSILON) + 1.0)
    log_true = ops.log(ops.maximum(y_true, EPSILON) + 1.0)
    return ops.mean(ops.square(log_pred - log_true), axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Any:
    """Half the squared error within `delta`, linear beyond it; the mean over
    the last axis."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    error = ops.abs(y_pred - y_true)
    quadratic = 0.5 * ops.square(error)
    linear = delta * error - 0.5 * delta**2
    return ops.mean(ops.where(error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Any:
    """`mean(log(cosh(y_pred - y_true)), axis=-1)`, computed without overflow
    as `x + softplus(-2x) - log(2)`."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(-2.0 * x) - ops.log(2.0), axis=-1)


def l2_normalize(x: Any, axis: int = -1) -> Any:
    """`x` over its L2 norm along `axis` (a norm below 1e-7 counts as 1e-7).

    Example:
      >>> l2_normalize(jnp.array([3.0, 4.0]))
      Array([0.6, 0.8], dtype=float32)
    """
    inverse = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return x * ops.minimum(inverse, 1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Minus the cosine of the angle between `y_true` and `y_pred` along
    `axis`: -1 when they point the same way, 0 when either is all zeros."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*as_floats(y_true, y_pred))
    return -ops.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis)


@dataclass(frozen=True)
class MeanSquaredError(Loss):
    """`mean(square(y_true - y_pred), axis=-1)` per example.

    Example:
      >>> MeanSquaredError()(jnp.zeros((4, 3)), jnp.ones((4, 3))).dtype
      dtype('float32')
    """

    default_name: ClassVar[str] = "mean_squared_error"

    def call(self, y_true, y_pred):
        return elementwise(self, mean_squared_error, y_true, y_pred)


@dataclass(frozen=True)
class MeanAbsoluteError(Loss):
    """`mean(abs(y_true - y_pred), axis=-1)` per example.

    Example:
      >>> float(MeanAbsoluteError()(jnp.zeros((4, 3)), jnp.ones((4, 3))))
      1.0
    """

    default_name: ClassVar[str] = "mean_absolute_error"

    def call(self, y_true, y_pred):
        return elementwise(self, mean_absolute_error, y_true, y_pred)


@dataclass(frozen=True)
class MeanAbsolutePercentageError(Loss):
    """The absolute error as a percentage of the target, averaged over the
    last axis (see `mean_absolute_percentage_error`).

    Example:
      >>> float(MeanAbsolutePercentageError()(jnp.full((2, 2), 4.0),
      ...                                     jnp.full((2, 2), 3.0)))
      25.0
    """

    default_name: ClassVar[str] = "mean_absolute_percentage_error"

    def call(self, y_true, y_pred):
        return elementwise(self, mean_absolute_percentage_error, y_true, y_pred)


@dataclass(frozen=True)
class MeanSquaredLogarithmicError(Loss):
    """The squared error of `log(1 + y)`, averaged over the last axis.

    Example:
      >>> round(float(MeanSquaredLogarithmicError()(jnp.zeros((1, 2)),
      ...                                           jnp.full((1, 2), np.e - 1))), 6)
      1.0
    """

    default_name: ClassVar[str] = "mean_squared_logarithmic_error"

    def call(self, y_true, y_pred):
        return elementwise(self, mean_squared_logarithmic_error, y_true, y_pred)


@dataclass(frozen=True)
class Huber(Loss):
    """Squared error within `delta`, linear beyond it; mean over the last axis.

    Args:
      delta: where the loss turns from quadratic to linear.

    Example:
      >>> float(Huber(delta=0.5)(jnp.zeros((4, 3)), jnp.ones((4, 3))))
      0.375
    """

    delta: float = 1.0
    default_name: ClassVar[str] = "huber_loss"

    def call(self, y_true, y_pred):
        return elementwise(self, huber, y_true, y_pred, delta=self.delta)


@dataclass(frozen=True)
class LogCosh(Loss):
    """`log(cosh(y_pred - y_true))`, averaged over the last axis: about half
    the squared error when small, the absolute error less log(2) when large.

    Example:
      >>> round(float(LogCosh()(jnp.zeros((1, 1)), jnp.ones((1, 1)))), 6)
      0.433781
    """

    default_name: ClassVar[str] = "log_cosh"

    def call(self, y_true, y_pred):
        return elementwise(self, log_cosh, y_true, y_pred)


@dataclass(frozen=True)
class CosineSimilarity(Loss):
    """Minus the cosine similarity along `axis` (see `cosine_similarity`).

    Args:
      axis: the axis the vectors lie along.

    Example:
      >>> float(CosineSimilarity()(jnp.array([[1.0, 0.0]]), jnp.array([[2.0, 0.0]])))
      -1.0
    """

    axis: int = -1
    default_name: ClassVar[str] = "cosine_similarity"

    def call(self, y_true, y_pred):
        return elementwise(self, cosine_similarity, y_true, y_pred, axis=self.axis)
