"""Hinge losses, for maximum-margin classifiers: targets are -1 or 1 (0 / 1
labels are converted), predictions are raw scores.

Each loss is a class (weighted and reduced, see `train.losses.base`) and a
function of Keras's name that returns the per-example values.

Example:
  >>> hinge(jnp.array([[1.0, 0.0]]), jnp.array([[0.5, -2.0]]))
  Array([0.25], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from train.losses.base import Loss, as_floats, elementwise


def signed_labels(y_true: Any) -> Any:
    """`2 * y - 1` when every label is 0 or 1; the labels unchanged otherwise
    (traceable: the choice is made on the values, inside the program).

    Example:
      >>> signed_labels(jnp.array([0.0, 1.0]))
      Array([-1.,  1.], dtype=float32)
    """
    binary = ops.all(ops.logical_or(y_true == 0, y_true == 1))
    return ops.where(binary, 2.0 * y_true - 1.0, y_true)


def _margins(y_true: Any, y_pred: Any) -> Any:
    y_true, y_pred = as_floats(y_true, y_pred)
    return ops.maximum(1.0 - signed_labels(y_true) * y_pred, 0.0)


def hinge(y_true: Any, y_pred: Any) -> Any:
    """`mean(maximum(1 - y_true * y_pred, 0), axis=-1)`."""
    return ops.mean(_margins(y_true, y_pred), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Any:
    """`mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)`."""
    return ops.mean(ops.square(_margins(y_true, y_pred)), axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Any:
    """`maximum(1 + neg - pos, 0)` with `pos` the score of the true class
    (one-hot `y_true`) and `neg` the best score of the others."""
    y_true, y_pred = as_floats(y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


@dataclass(frozen=True)
class Hinge(Loss):
    """The hinge loss (see `hinge`).

    Example:
      >>> float(Hinge()(jnp.array([[1.0, -1.0]]), jnp.array([[2.0, 0.0]])))
      0.5
    """

    default_name: ClassVar[str] = "hinge"

    def call(self, y_true, y_pred):
        return elementwise(self, hinge, y_true, y_pred)


@dataclass(frozen=True)
class SquaredHinge(Loss):
    """The squared hinge loss (see `squared_hinge`).

    Example:
      >>> float(SquaredHinge()(jnp.array([[1.0, -1.0]]), jnp.array([[2.0, 1.0]])))
      2.0
    """

    default_name: ClassVar[str] = "squared_hinge"

    def call(self, y_true, y_pred):
        return elementwise(self, squared_hinge, y_true, y_pred)


@dataclass(frozen=True)
class CategoricalHinge(Loss):
    """The multi-class hinge loss on one-hot targets (see `categorical_hinge`).

    Example:
      >>> float(CategoricalHinge()(jnp.array([[0.0, 1.0]]), jnp.array([[0.5, 1.0]])))
      0.5
    """

    default_name: ClassVar[str] = "categorical_hinge"

    def call(self, y_true, y_pred):
        return elementwise(self, categorical_hinge, y_true, y_pred)
