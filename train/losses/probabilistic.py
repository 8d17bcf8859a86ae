"""Probabilistic losses: cross-entropies (binary, categorical, sparse, focal,
generalized), the KL divergence and the Poisson loss.

Each loss is a class (weighted and reduced, see `train.losses.base`) and a
function of Keras's name that returns the per-example values. Probabilities
are clipped to `[1e-7, 1 - 1e-7]` as Keras clips them; `from_logits=True`
reads logits instead.

Example:
  >>> y_true, logits = jnp.array([[0.0, 1.0]]), jnp.array([[0.0, 0.0]])
  >>> categorical_crossentropy(y_true, logits, from_logits=True)
  Array([0.6931472], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from train.label_checks import check_class_ids, class_id_flag
from train.losses.base import (
    EPSILON,
    Loss,
    as_floats,
    elementwise,
    shape_error,
)
from train.targets import squeeze_or_expand_to_same_rank


def _smooth_binary(y_true: Any, label_smoothing: float) -> Any:
    if label_smoothing:
        return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return y_true


def _smooth_categorical(y_true: Any, label_smoothing: float) -> Any:
    if label_smoothing:
        classes = y_true.shape[-1]  # Keras reads the last axis, whatever `axis`
        return y_true * (1.0 - label_smoothing) + label_smoothing / classes
    return y_true


def _binary_entries(y_true: Any, y_pred: Any, from_logits: bool) -> Any:
    """Per-entry binary cross-entropy."""
    if from_logits:  # -log(sigmoid(x)) = softplus(-x)
        return y_true * ops.softplus(-y_pred) + (1 - y_true) * ops.softplus(y_pred)
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p))


def _probabilities(y_pred: Any, from_logits: bool, axis: int) -> Any:
    """Class probabilities: softmax of logits, or scores normalized to sum to
    1 and clipped."""
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    return ops.clip(p, EPSILON, 1.0 - EPSILON)


def _log_probs(y_pred: Any, from_logits: bool, axis: int) -> Any:
    """Log-probabilities, as Keras: log_softmax, or normalize, clip and log."""
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    return ops.log(_probabilities(y_pred, False, axis))


def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Cross-entropy of independent binary targets, the mean over `axis`."""
    y_true, y_pred = as_floats(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    return ops.mean(_binary_entries(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Binary cross-entropy scaled by `(1 - p_t) ** gamma`, `p_t` the
    probability given to the true outcome (and by `alpha` for positives,
    `1 - alpha` for negatives under `apply_class_balancing`); the mean over
    `axis`."""
    y_true, y_pred = as_floats(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    p = ops.sigmoid(y_pred) if from_logits else y_pred
    entries = _binary_entries(y_true, p, from_logits=False)
    p_true = y_true * p + (1 - y_true) * (1 - p)
    entries = ops.power(1.0 - p_true, gamma) * entries
    if apply_class_balancing:
        entries = (y_true * alpha + (1 - y_true) * (1 - alpha)) * entries
    return ops.mean(entries, axis=axis)


def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Cross-entropy of one-hot (or soft) targets along `axis`."""
    y_true, y_pred = as_floats(y_true, y_pred)
    y_true = _smooth_categorical(y_true, label_smoothing)
    return -ops.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Categorical cross-entropy with each class's term scaled by
    `alpha * (1 - p) ** gamma`: confident predictions count less."""
    y_true, y_pred = as_floats(y_true, y_pred)
    y_true = _smooth_categorical(y_true, label_smoothing)
    p = _probabilities(y_pred, from_logits, axis)
    terms = alpha * ops.power(1.0 - p, gamma) * (-y_true * ops.log(p))
    return ops.sum(terms, axis=axis)


def _class_ids_last(owner: Any, y_true: Any, y_pred: Any, axis: int) -> tuple[Any, Any]:
    """Integer labels shaped like `y_pred` without its class axis, and `y_pred`
    with that axis last."""
    if y_pred.ndim and axis % y_pred.ndim != y_pred.ndim - 1:
        y_pred = ops.moveaxis(y_pred, axis, -1)
    labels, _ = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, -1)
    if y_pred.ndim == 0 or labels.shape != y_pred.shape[:-1]:
        shape_error(
            owner,
            "expected y_true shaped like y_pred without its class axis",
            y_true,
            y_pred,
            "for one-hot targets, use CategoricalCrossentropy.",
        )
    return ops.cast(labels, "int32"), y_pred


def sparse_values(owner, y_true, y_pred, from_logits, ignore_class, axis):
    """Per-example values and the mask of the labels that count."""
    labels, y_pred = _class_ids_last(owner, y_true, y_pred, axis)
    mask = None
    if ignore_class is not None:
        mask = ops.not_equal(labels, ignore_class)
        labels = ops.where(mask, labels, 0)
    log_p = _log_probs(y_pred, from_logits, -1)
    values = -ops.sum(ops.one_hot(labels, y_pred.shape[-1]) * log_p, axis=-1)
    if mask is not None:
        values = ops.where(mask, values, 0.0)
    return values, mask


def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Any:
    """Cross-entropy of integer class ids against scores along `axis`; an
    `ignore_class` label gives 0."""
    y_pred = as_floats(y_pred, y_pred)[1]
    values, _ = sparse_values(
        "sparse_categorical_crossentropy", y_true, y_pred, from_logits,
        ignore_class, axis,
    )  # fmt: skip
    return values


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: Any) -> Any:
    """`(1 - p ** q) / q` with `p` the probability of the true class id:
    cross-entropy as `q` tends to 0, the mean absolute error at 1; robust to
    noisy labels in between."""
    y_pred = as_floats(y_pred, y_pred)[1]
    labels = ops.cast(ops.convert_to_tensor(y_true), "int32")
    p = ops.sum(y_pred * ops.one_hot(labels, y_pred.shape[-1]), axis=-1)
    return (1.0 - ops.power(p, q)) / q


def kl_divergence(y_true: Any, y_pred: Any) -> Any:
    """`sum(y_true * log(y_true / y_pred), axis=-1)`, both clipped to
    `[1e-7, 1]`."""
    y_true, y_pred = as_floats(y_true, y_pred)
    y_true, y_pred = ops.clip(y_true, EPSILON, 1.0), ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Any:
    """`mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`."""
    y_true, y_pred = as_floats(y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + EPSILON), axis=-1)


@dataclass(frozen=True)
class BinaryCrossentropy(Loss):
    """Cross-entropy of independent binary targets, averaged over `axis`.

    Args:
      from_logits: whether `y_pred` holds logits; if not, probabilities are
        clipped to `[1e-7, 1 - 1e-7]`.
      label_smoothing: targets become `y * (1 - s) + 0.5 * s`.
      axis: the axis averaged over.

    Example:
      >>> loss = BinaryCrossentropy(from_logits=True, reduction="none")
      >>> loss(jnp.ones((4, 1)), jnp.zeros((4, 1))).shape
      (4,)
    """

    from_logits: bool = False
    label_smoothing: float = 0.0
    axis: int = -1
    default_name: ClassVar[str] = "binary_crossentropy"

    def call(self, y_true, y_pred):
        return elementwise(
            self, binary_crossentropy, y_true, y_pred, from_logits=self.from_logits,
            label_smoothing=self.label_smoothing, axis=self.axis,
        )  # fmt: skip


@dataclass(frozen=True)
class BinaryFocalCrossentropy(Loss):
    """Binary cross-entropy that down-weights easy examples (focal loss,
    Lin et al. 2017; see `binary_focal_crossentropy`).

    Args:
      apply_class_balancing: weigh positives by `alpha`, negatives by
        `1 - alpha`.
      alpha: the balancing weight of positives.
      gamma: the focusing power; 0 gives plain binary cross-entropy.
      from_logits, label_smoothing, axis: as for `BinaryCrossentropy`.

    Example:
      >>> round(float(BinaryFocalCrossentropy(gamma=0.0)(jnp.ones((1, 1)),
      ...                                               jnp.full((1, 1), 0.5))), 6)
      0.693147
    """

    apply_class_balancing: bool = False
    alpha: float = 0.25
    gamma: float = 2.0
    from_logits: bool = False
    label_smoothing: float = 0.0
    axis: int = -1
    default_name: ClassVar[str] = "binary_focal_crossentropy"

    def call(self, y_true, y_pred):
        return elementwise(
            self, binary_focal_crossentropy, y_true, y_pred,
            apply_class_balancing=self.apply_class_balancing, alpha=self.alpha,
            gamma=self.gamma, from_logits=self.from_logits,
            label_smoothing=self.label_smoothing, axis=self.axis,
        )  # fmt: skip


def _one_hot_shapes(owner: Any, y_true: Any, y_pred: Any) -> Any:
    y_true = ops.cast(y_true, y_pred.dtype)
    if y_true.shape != y_pred.shape or y_pred.ndim == 0:
        shape_error(
            owner,
            "expected one-hot y_true shaped like y_pred",
            y_true,
            y_pred,
            "for integer class ids, use SparseCategoricalCrossentropy.",
        )
    return y_true


@dataclass(frozen=True)
class CategoricalCrossentropy(Loss):
    """Cross-entropy of one-hot (or soft) targets along `axis`.

    Args:
      from_logits: whether `y_pred` holds logits; if not, each row is
        normalized to sum to 1, then clipped to `[1e-7, 1 - 1e-7]`.
      label_smoothing: targets become `y * (1 - s) + s / num_classes`.
      axis: the class axis.

    Example:
      >>> loss = CategoricalCrossentropy(reduction="none")
      >>> loss(jnp.eye(3), jnp.full((3, 3), 1 / 3)).shape
      (3,)
    """

    from_logits: bool = False
    label_smoothing: float = 0.0
    axis: int = -1
    default_name: ClassVar[str] = "categorical_crossentropy"

    def call(self, y_true, y_pred):
        return categorical_crossentropy(
            _one_hot_shapes(self, y_true, y_pred), y_pred, self.from_logits,
            self.label_smoothing, self.axis,
        )  # fmt: skip


@dataclass(frozen=True)
class CategoricalFocalCrossentropy(Loss):
    """Categorical cross-entropy that down-weights confident classes (see
    `categorical_focal_crossentropy`).

    Args:
      alpha: the weight of every class's term.
      gamma: the focusing power; 0 gives `alpha` times cross-entropy.
      from_logits, label_smoothing, axis: as for `CategoricalCrossentropy`.

    Example:
      >>> loss = CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0)
      >>> round(float(loss(jnp.eye(2), jnp.full((2, 2), 0.5))), 6)
      0.693147
    """

    alpha: float = 0.25
    gamma: float = 2.0
    from_logits: bool = False
    label_smoothing: float = 0.0
    axis: int = -1
    default_name: ClassVar[str] = "categorical_focal_crossentropy"

    def call(self, y_true, y_pred):
        return categorical_focal_crossentropy(
            _one_hot_shapes(self, y_true, y_pred), y_pred, self.alpha, self.gamma,
            self.from_logits, self.label_smoothing, self.axis,
        )  # fmt: skip


@dataclass(frozen=True)
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy of integer class ids against scores along `axis`.

    Args:
      from_logits: whether `y_pred` holds logits (see `CategoricalCrossentropy`).
      ignore_class: a class id whose entries give no loss and, under
        `"sum_over_batch_size"`, are not counted; None ignores nothing.
      axis: the class axis of `y_pred`.

    Example:
      >>> loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
      >>> loss(jnp.array([0, 2, -1]), jnp.zeros((3, 4))).shape
      ()
    """

    from_logits: bool = False
    ignore_class: int | None = None
    axis: int = -1
    default_name: ClassVar[str] = "sparse_categorical_crossentropy"

    def check_labels(self, y_true: Any, y_pred_spec: Any) -> None:
        """Refuses labels that are not class ids of `y_pred`'s class axis (run
        once on in-memory labels, see `train.label_checks`)."""
        classes = y_pred_spec.shape[self.axis] if y_pred_spec.shape else 0
        check_class_ids(type(self).__name__, y_true, classes, self.ignore_class)

    def flag_labels(self, y_true: Any, y_pred: Any) -> Any:
        """The same check inside a compiled step (see `train.label_checks`)."""
        return class_id_flag(y_true, y_pred.shape[self.axis], self.ignore_class)

    def call(self, y_true, y_pred):
        return sparse_values(
            self, y_true, y_pred, self.from_logits, self.ignore_class, self.axis
        )


@dataclass(frozen=True)
class CategoricalGeneralizedCrossEntropy(Loss):
    """The generalized cross-entropy of Zhang and Sabuncu (2018) on integer
    class ids and probabilities: `(1 - p ** q) / q` (see
    `categorical_generalized_cross_entropy`).

    Args:
      q: in (0, 1): near 0 it behaves as cross-entropy, near 1 as the mean
        absolute error, which tolerates noisy labels better.

    Example:
      >>> loss = CategoricalGeneralizedCrossEntropy(q=0.5)
      >>> float(loss(jnp.array([0]), jnp.array([[0.25, 0.75]])))
      1.0
    """

    q: float = 0.5
    default_name: ClassVar[str] = "categorical_generalized_cross_entropy"

    def __post_init__(self):
        if not 0 < self.q < 1:
            raise ValueError(
                f"CategoricalGeneralizedCrossEntropy: q must lie in (0, 1), "
                f"received q={self.q!r}."
            )
        super().__post_init__()

    def call(self, y_true, y_pred):
        return categorical_generalized_cross_entropy(y_true, y_pred, self.q)


@dataclass(frozen=True)
class KLDivergence(Loss):
    """The Kullback-Leibler divergence of `y_pred` from `y_true`, two
    distributions along the last axis (see `kl_divergence`).

    Example:
      >>> float(KLDivergence()(jnp.array([[0.5, 0.5]]), jnp.array([[0.5, 0.5]])))
      0.0
    """

    default_name: ClassVar[str] = "kl_divergence"

    def call(self, y_true, y_pred):
        return elementwise(self, kl_divergence, y_true, y_pred)


@dataclass(frozen=True)
class Poisson(Loss):
    """The Poisson negative log-likelihood of counts `y_true` under rates
    `y_pred`, up to a constant (see `poisson`).

    Example:
      >>> float(Poisson()(jnp.zeros((1, 2)), jnp.ones((1, 2))))
      1.0
    """

    default_name: ClassVar[str] = "poisson"

    def call(self, y_true, y_pred):
        return elementwise(self, poisson, y_true, y_pred)
