"""Metric learning: the Circle loss (Sun et al. 2020) pulls embeddings of the
same label together and pushes the others apart, each pair weighted by how
far it is from its optimum.

`y_true` holds integer labels `(batch,)`, `y_pred` L2-normalized embeddings
`(batch, dim)`; by default every example is compared with the others of the
batch.

Example:
  >>> labels = jnp.array([0, 0, 1])
  >>> embeddings = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
  >>> circle(labels, embeddings).shape
  (3,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from train.losses.base import Loss, as_floats


def pair_masks(
    labels: Any, ref_labels: Any, remove_diagonal: bool = True
) -> tuple[Any, Any]:
    """Boolean `(n, m)` masks of the pairs with equal labels and of the
    others; an example is not its own positive under `remove_diagonal`."""
    positive = ops.reshape(labels, (-1, 1)) == ops.reshape(ref_labels, (1, -1))
    negative = ops.logical_not(positive)
    if remove_diagonal:
        eye = ops.eye(positive.shape[0], positive.shape[1], dtype="bool")
        positive = ops.logical_and(positive, ops.logical_not(eye))
    return positive, negative


def circle(
    y_true: Any,
    y_pred: Any,
    ref_labels: Any = None,
    ref_embeddings: Any = None,
    remove_diagonal: bool = True,
    gamma: float = 80,
    margin: float = 0.4,
) -> Any:
    """The per-example Circle loss of `y_pred` against `ref_embeddings`
    (default: the batch itself), on cosine distances.

    Args:
      gamma: the scale of the similarities.
      margin: the relaxation; the optimum is distance `margin` for positives
        and `1 + margin` for negatives (as Keras sets them).
    """
    _, y_pred = as_floats(y_pred, y_pred)
    labels = ops.cast(ops.convert_to_tensor(y_true), "int32")
    refs = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref_labels = labels if ref_labels is None else ops.cast(ref_labels, "int32")
    distance = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(refs)), 0.0)
    positive, negative = pair_masks(labels, ref_labels, remove_diagonal)
    pos_weight = ops.maximum((margin + distance) * positive, 0.0)
    neg_weight = ops.maximum((1.0 + margin - distance) * negative, 0.0)
    pos_logits = -gamma * pos_weight * (margin - distance)
    neg_logits = gamma * neg_weight * (1.0 - margin - distance)
    p_loss = ops.logsumexp(ops.where(positive, pos_logits, -float("inf")), axis=1)
    n_loss = ops.logsumexp(ops.where(negative, neg_logits, -float("inf")), axis=1)
    return ops.softplus(p_loss + n_loss)


@dataclass(frozen=True)
class Circle(Loss):
    """The Circle loss over a batch of labelled embeddings (see `circle`);
    examples whose loss is zero are not counted in the mean.

    Args:
      gamma: the scale of the similarities.
      margin: the relaxation of the optima.
      remove_diagonal: whether an example is left out of its own positives.

    Example:
      >>> loss = Circle()(jnp.array([0, 1]), jnp.array([[1.0, 0.0], [0.0, 1.0]]))
      >>> loss.shape
      ()
    """

    gamma: float = 80.0
    margin: float = 0.4
    remove_diagonal: bool = True
    default_name: ClassVar[str] = "circle"

    def call(self, y_true, y_pred):
        values = circle(
            y_true, y_pred, remove_diagonal=self.remove_diagonal, gamma=self.gamma,
            margin=self.margin,
        )  # fmt: skip
        return values, values > 0
