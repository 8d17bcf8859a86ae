"""The masks a model's outputs carry, handed to the loss and the metrics.

A model whose outputs carry masks (`Embedding(mask_zero=True)` or `Masking`
upstream, kept by the layers in between) reports them beside its outputs;
the steps then call the loss and the metrics with `mask=` where they read
masks (`reads_masks`), as Keras reads `y_pred`'s mask:

* a loss counts only the kept entries (a mean divides by how many are kept);
* the metrics that average per-example values (accuracies, MAE, MSE...)
  count only the kept entries; the others (Precision, Recall, AUC) ignore
  masks, as Keras's do.

A plain function `loss(y_true, y_pred, sample_weight)` of one output gets
the mask folded into `sample_weight` (see `train.loss_reduction.fold_mask`).

Example:
  >>> from train.losses import MeanAbsoluteError
  >>> y, p = jnp.zeros((1, 3, 1)), jnp.array([[[1.0], [1.0], [7.0]]])
  >>> mask = jnp.array([[True, True, False]])
  >>> float(loss_with_masks(MeanAbsoluteError(), y, p, None, mask))
  1.0
"""

from __future__ import annotations

from typing import Any

import jax

from train.loss_reduction import fold_mask


def has_masks(masks: Any) -> bool:
    """Whether any output carries a mask (None marks an output without)."""
    return bool(jax.tree.leaves(masks))


def loss_with_masks(loss_fn: Any, y: Any, y_pred: Any, w: Any, masks: Any) -> Any:
    """`loss_fn(y, y_pred, w)`, honouring the outputs' masks."""
    if not has_masks(masks):
        return loss_fn(y, y_pred, w)
    if getattr(loss_fn, "reads_masks", False):
        return loss_fn(y, y_pred, w, mask=masks)
    if isinstance(masks, jax.Array):
        return loss_fn(y, y_pred, fold_mask(w, masks, "sum_over_batch_size"))
    return loss_fn(y, y_pred, w)  # a function of several outputs reads its own


def update_with_masks(
    metric: Any, state: Any, y: Any, y_pred: Any, w: Any, masks: Any
) -> Any:
    """`metric.update(state, y, y_pred, w)`, with `mask=` where it reads masks."""
    if has_masks(masks) and getattr(metric, "reads_masks", False):
        return metric.update(state, y, y_pred, w, mask=masks)
    return metric.update(state, y, y_pred, w)
