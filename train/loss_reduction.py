"""How a loss turns per-example values into one number, as Keras 3 does.

`reduce_weighted_values` weights the values by `sample_weight` and by a
mask, then reduces them as the loss's `reduction` says. A mask is either the
loss's own (`SparseCategoricalCrossentropy(ignore_class=...)`) or the one a
model's output carries (`Embedding(mask_zero=True)` upstream); `fold_mask`
merges it into the weights the way Keras's `apply_mask` does, so a mean
counts only the entries the mask keeps.

Example:
  >>> values = jnp.array([[1.0, 2.0, 9.0]])
  >>> mask = jnp.array([[True, True, False]])
  >>> float(reduce_weighted_values("loss", values, mask=mask))
  1.5
"""

from __future__ import annotations

from typing import Any

import jax

from stateless import ops
from train.targets import (
    broadcast_weights,
    divide_no_nan,
    squeeze_or_expand_to_same_rank,
)

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")
_MEANS = ("sum_over_batch_size", "mean")  # the reductions that count entries


def _trailing(weights: Any, ndim: int) -> Any:
    """Per-example weights given trailing axes up to `ndim`."""
    while 1 <= weights.ndim < ndim:
        weights = ops.expand_dims(weights, -1)
    return weights


def fold_mask(sample_weight: Any, mask: Any, reduction: str) -> Any:
    """`sample_weight` times a mask (Keras's `apply_mask`), or the mask alone.

    Under a mean (`"sum_over_batch_size"`, `"mean"`) the kept entries weigh
    `mask.size / kept`, so that a mean over every entry is the mean over the
    kept ones; otherwise they weigh 1. Per-example weights spread over the
    mask's trailing axes. None and None give None.

    Example:
      >>> fold_mask(None, jnp.array([True, False]), "sum_over_batch_size")
      Array([2., 0.], dtype=float32)
    """
    if mask is None:
        return sample_weight
    mask_f = ops.cast(mask, "float32")
    if reduction in _MEANS:
        mask_f = mask_f * divide_no_nan(float(mask_f.size), ops.sum(mask_f))
    if sample_weight is None:
        return mask_f
    weights = ops.cast(sample_weight, "float32")
    mask_f, weights = squeeze_or_expand_to_same_rank(mask_f, weights)
    return _trailing(weights, mask_f.ndim) * mask_f


def reduce_weighted_values(
    owner: Any,
    values: Any,
    sample_weight: Any = None,
    mask: Any = None,
    reduction: str = "sum_over_batch_size",
) -> jax.Array:
    """Weights per-example `values` and reduces them as Keras 3 does.

    A boolean `mask` zeroes entries (see `fold_mask`): under
    `"sum_over_batch_size"` and `"mean"` the sum is then divided by the number
    of kept entries.

    Example:
      >>> v = jnp.array([1.0, 2.0, 3.0, 4.0])
      >>> reduce_weighted_values("loss", v, jnp.ones(4), reduction="none").shape
      (4,)
    """
    weights = fold_mask(sample_weight, mask, reduction)
    if weights is not None:
        what = "sample_weight" if mask is None else "the mask (times sample_weight)"
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        values = values * broadcast_weights(owner, weights, values.shape, what)
    if reduction == "none" or values.ndim == 0:
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        return divide_no_nan(total, ops.sum(ops.broadcast_to(weights, values.shape)))
    return divide_no_nan(total, float(values.size))
