"""Targets, predictions and sample weights brought into line, as Keras's
losses and metrics both do: one home for the helpers they share.

* `squeeze_or_expand_to_same_rank`: Keras's rank alignment (a trailing axis
  of size 1 dropped, or added to a rank-1 array);
* `same_shape`: that alignment, then equal shapes or a ShapeError;
* `broadcast_weights`: weights spread over the trailing axes of the values
  they weigh, or a ShapeError;
* `divide_no_nan`: a ratio that is 0 where its denominator is.

Example:
  >>> t, p = same_shape("mse", jnp.zeros(4), jnp.zeros((4, 1)))
  >>> t.shape, p.shape
  ((4, 1), (4, 1))
  >>> broadcast_weights("mse", jnp.ones(4), (4, 3)).shape
  (4, 3)
"""

from __future__ import annotations

from typing import Any

from stateless import ops
from stateless.errors import ShapeError, owner_name


def squeeze_or_expand_to_same_rank(
    x1: Any, x2: Any, expand_rank_1: bool = True
) -> tuple[Any, Any]:
    """Keras's rank alignment: drops or adds one trailing axis of size 1.

    When the ranks differ by one and the longer array ends in an axis of size
    1, that axis is squeezed, except that a rank-1 array is expanded instead
    (when `expand_rank_1`). Any other pair is returned unchanged.

    Example:
      >>> a, b = squeeze_or_expand_to_same_rank(jnp.zeros(4), jnp.zeros((4, 1)))
      >>> a.shape, b.shape
      ((4, 1), (4, 1))
    """
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def divide_no_nan(x: Any, y: Any) -> Any:
    """`x / y`, and 0 where `y` is 0.

    Example:
      >>> divide_no_nan(jnp.array([1.0, 2.0]), jnp.array([2.0, 0.0])).tolist()
      [0.5, 0.0]
    """
    return ops.where(y == 0, 0.0, x / ops.where(y == 0, 1.0, y))


def same_shape(
    owner: Any, y_true: Any, y_pred: Any, *, dtype: Any = None, min_rank: int = 0
) -> tuple[Any, Any]:
    """`y_true` and `y_pred` (cast to `dtype` when given) of equal shapes, of
    rank >= `min_rank`, after Keras's rank alignment; else a ShapeError naming
    `owner` and both shapes."""
    if dtype is not None:
        y_true, y_pred = ops.cast(y_true, dtype), ops.cast(y_pred, dtype)
    a, b = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if a.shape != b.shape or b.ndim < min_rank:
        rank = f", of rank >= {min_rank}" if min_rank else ""
        raise ShapeError(
            f"{owner_name(owner)}: expected y_true and y_pred of the same shape"
            f"{rank}, received y_true {tuple(y_true.shape)} and y_pred "
            f"{tuple(y_pred.shape)}. Hint: pass targets shaped like the "
            "predictions (a trailing axis of size 1 may differ)."
        )
    return a, b


def broadcast_weights(
    owner: Any, weights: Any, shape: tuple[int, ...], what: str = "sample_weight"
) -> Any:
    """Float32 `weights` broadcast to `shape`: a trailing axis of size 1 beyond
    it dropped, per-example weights spread over its trailing axes.

    Raises:
      ShapeError: naming `owner`, `what` and both shapes, when they do not fit.
    """
    w = ops.cast(weights, "float32")
    given = tuple(w.shape)
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = ops.squeeze(w, -1)
    while 1 <= w.ndim < len(shape):
        w = ops.expand_dims(w, -1)
    try:
        return ops.broadcast_to(w, shape)
    except ValueError:
        raise ShapeError(
            f"{owner_name(owner)}: {what} of shape {given} does not broadcast to "
            f"the values' shape {tuple(shape)}. Hint: pass one weight per example, "
            f"shape {tuple(shape[:1])}, or one per value."
        ) from None
