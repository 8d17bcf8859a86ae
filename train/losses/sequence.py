"""Connectionist temporal classification (CTC, Graves et al. 2006): the loss
of a label sequence under per-frame class scores, summed over every
alignment, for speech and handwriting recognition. Computed by optax.

`y_true`: integer labels `(batch, max_label_length)`, 0 is the blank and pads
the end; `y_pred`: logits `(batch, frames, classes)`.

Example:
  >>> labels = jnp.array([[1, 2, 0]])
  >>> ctc(labels, jnp.zeros((1, 5, 3))).shape
  (1,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import optax

from stateless import ops
from train.losses.base import Loss, as_floats

BLANK = 0  # Keras's mask_index: the blank class, and the label padding
LOG_EPSILON = -1e5  # the log of an impossible path, as Keras's JAX backend


def ctc(y_true: Any, y_pred: Any) -> Any:
    """The per-sequence negative log-likelihood of `y_true` under `y_pred`."""
    labels = ops.cast(ops.convert_to_tensor(y_true), "int32")
    _, logits = as_floats(y_pred, y_pred)
    if labels.ndim != 2 or logits.ndim != 3:
        raise ValueError(
            "ctc: expected integer labels (batch, max_label_length) and logits "
            f"(batch, frames, classes), received y_true {tuple(labels.shape)} and "
            f"y_pred {tuple(logits.shape)}."
        )
    lengths = ops.sum(ops.cast(labels != BLANK, "int32"), axis=-1, keepdims=True)
    positions = ops.arange(labels.shape[1])[None, :]
    label_paddings = ops.cast(positions >= lengths, logits.dtype)
    frame_paddings = ops.zeros(logits.shape[:2], logits.dtype)
    return optax.ctc_loss(
        logits, frame_paddings, labels, label_paddings, blank_id=BLANK,
        log_epsilon=LOG_EPSILON,
    )  # fmt: skip


@dataclass(frozen=True)
class CTC(Loss):
    """The CTC loss (see `ctc`).

    Example:
      >>> CTC()(jnp.array([[1, 2, 0]]), jnp.zeros((1, 5, 3))).shape
      ()
    """

    default_name: ClassVar[str] = "ctc"

    def call(self, y_true, y_pred):
        return ctc(y_true, y_pred)
