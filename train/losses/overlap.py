"""Overlap losses for segmentation: one minus the Dice or Tversky index of a
predicted mask (probabilities) and the true one.

With `axis=None` the index is taken over the whole batch (one number); pass
the spatial and channel axes (e.g. `axis=(1, 2, 3)`) for one value per image.

Example:
  >>> mask = jnp.array([[1.0, 1.0, 0.0, 0.0]])
  >>> round(float(dice(mask, jnp.array([[1.0, 0.0, 0.0, 0.0]]))), 4)
  0.3333
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from train.losses.base import EPSILON, Loss, as_floats

Axis = int | tuple[int, ...] | None


def _as_axis(axis: Any) -> Axis:
    """A list of axes (as JSON gives it back) as a tuple: hashable, and what
    the reductions take."""
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true: Any, y_pred: Any, axis: Axis = None) -> Any:
    """`1 - 2 |A n B| / (|A| + |B|)` over `axis` (1e-7 added below)."""
    y_true, y_pred = as_floats(y_true, y_pred)
    overlap = ops.sum(y_true * y_pred, axis=axis)
    total = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * overlap / (total + EPSILON)


def tversky(
    y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5, axis: Axis = None
) -> Any:
    """`1 - TP / (TP + alpha FP + beta FN)` over `axis`, where FP counts the
    mask's area the prediction misses and FN what it adds, as Keras counts
    them; `alpha = beta = 0.5` is the Dice loss."""
    y_true, y_pred = as_floats(y_true, y_pred)
    overlap = ops.sum(y_true * y_pred, axis=axis)
    missed = ops.sum((1.0 - y_pred) * y_true, axis=axis)
    added = ops.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - overlap / (overlap + alpha * missed + beta * added + EPSILON)


@dataclass(frozen=True)
class Dice(Loss):
    """The Dice loss (see `dice`).

    Args:
      axis: the axes the index is taken over; None: all of them.

    Example:
      >>> float(Dice()(jnp.ones((2, 4)), jnp.ones((2, 4))))
      0.0
    """

    axis: Axis = None
    default_name: ClassVar[str] = "dice"

    def __post_init__(self):
        object.__setattr__(self, "axis", _as_axis(self.axis))
        super().__post_init__()

    def call(self, y_true, y_pred):
        return dice(y_true, y_pred, self.axis)


@dataclass(frozen=True)
class Tversky(Loss):
    """The Tversky loss (see `tversky`): Dice with misses and additions
    weighted apart.

    Args:
      alpha: the weight of the mask's area the prediction misses.
      beta: the weight of the area the prediction adds.
      axis: the axes the index is taken over; None: all of them.

    Example:
      >>> float(Tversky(alpha=0.7, beta=0.3)(jnp.ones((2, 4)), jnp.ones((2, 4))))
      0.0
    """

    alpha: float = 0.5
    beta: float = 0.5
    axis: Axis = None
    default_name: ClassVar[str] = "tversky"

    def __post_init__(self):
        object.__setattr__(self, "axis", _as_axis(self.axis))
        super().__post_init__()

    def call(self, y_true, y_pred):
        return tversky(y_true, y_pred, self.alpha, self.beta, self.axis)
