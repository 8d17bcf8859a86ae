"""Losses: frozen configs whose call is a pure, jittable function of arrays.

A loss is a frozen dataclass of Keras's hyperparameters, under Keras's names
and defaults. `loss(y_true, y_pred, sample_weight=None)` computes in float32
(half-precision predictions are cast up first) one value per example, weights
it, then reduces as `reduction` says:

* `"sum_over_batch_size"` (default) and `"mean"`: the sum of the weighted
  per-example values over how many there are (Keras 3 treats the two alike);
* `"mean_with_sample_weight"`: that sum over the sum of the weights;
* `"sum"`: the sum; `"none"`: the weighted per-example values themselves.

Per-example values, label smoothing, the 1e-7 clipping of probabilities and the
rank alignment of `y_true`, `y_pred` and `sample_weight` follow `keras.losses`.

Example:
  >>> loss = get("mse")
  >>> loss(jnp.zeros((4, 3)), jnp.ones((4, 3))).shape
  ()
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from stateless import ops
from stateless.errors import ShapeError, owner_name
from train.hyperparameters import check_config
from train.label_checks import check_class_ids, class_id_flag
from train.loss_reduction import REDUCTIONS as REDUCTIONS
from train.loss_reduction import reduce_weighted_values as reduce_weighted_values
from train.loss_reduction import (
    squeeze_or_expand_to_same_rank as squeeze_or_expand_to_same_rank,
)

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to it.


def _shape_error(owner: Any, what: str, y_true: Any, y_pred: Any, hint: str) -> None:
    raise ShapeError(
        f"{owner_name(owner)}: {what}, received y_true {tuple(y_true.shape)} and "
        f"y_pred {tuple(y_pred.shape)}. Hint: {hint}"
    )


def _same_shape(owner: Any, y_true: Any, y_pred: Any) -> tuple:
    """Aligns ranks as Keras does, then insists on equal shapes of rank >= 1."""
    a, b = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if a.shape != b.shape or b.ndim == 0:
        what = "expected y_true and y_pred of the same shape, of rank >= 1"
        hint = "pass targets shaped like the predictions (a trailing 1 may differ)."
        _shape_error(owner, what, y_true, y_pred, hint)
    return a, b


@dataclass(frozen=True)
class Loss(ABC):
    """Base class: a config whose `__call__` is a pure function of arrays.

    Subclasses implement `call(y_true, y_pred) -> (values, mask)`, the float32
    per-example values and an optional boolean mask of the entries that count.

    Args:
      reduction: one of `REDUCTIONS` (keyword-only).
      name: defaults to Keras's snake-case name (keyword-only).

    Example:
      >>> loss = MeanAbsoluteError(reduction="none")
      >>> loss(jnp.zeros((4, 3)), jnp.ones((4, 3)), jnp.ones(4)).shape
      (4,)
    """

    reduction: str = field(default="sum_over_batch_size", kw_only=True)
    name: str | None = field(default=None, kw_only=True)
    default_name: ClassVar[str] = "loss"
    reads_masks: ClassVar[bool] = True  # __call__ takes the output's mask

    def __post_init__(self):
        if self.reduction not in REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: unknown reduction {self.reduction!r}. "
                f"Valid reductions: {', '.join(REDUCTIONS)}."
            )
        if self.name is None:
            object.__setattr__(self, "name", self.default_name)

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, mask: Any = None
    ) -> Any:
        """The reduced loss. `mask`: the entries of `y_pred` that count, as the
        model's output mask gives them (Keras reads it from `y_pred`); it
        combines with the loss's own mask and with `sample_weight`."""
        y_pred = ops.cast(y_pred, "float32")
        out = self.call(ops.convert_to_tensor(y_true), y_pred)
        values, own = out if isinstance(out, tuple) else (out, None)
        if mask is not None and own is not None:
            mask = ops.logical_and(mask, own)
        elif own is not None:
            mask = own
        return reduce_weighted_values(self, values, sample_weight, mask, self.reduction)

    @abstractmethod
    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-example float32 values, or `(values, mask)` with a boolean mask
        of the entries that count.

        A subclass written Keras's way (`super().__init__(name=...)` in its
        `__init__`, then `call` returning the per-example values) works as is.
        """

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-ready data."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Rebuilds the loss from `get_config()`'s output (its numbers
        checked: see `train.hyperparameters`)."""
        check_config(cls.__name__, config)
        return cls(**config)


@dataclass(frozen=True)
class MeanSquaredError(Loss):
    """`mean(square(y_true - y_pred), axis=-1)` per example.

    Example:
      >>> MeanSquaredError()(jnp.zeros((4, 3)), jnp.ones((4, 3))).dtype
      dtype('float32')
    """

    default_name: ClassVar[str] = "mean_squared_error"

    def call(self, y_true, y_pred):
        y_true, y_pred = _same_shape(self, ops.cast(y_true, "float32"), y_pred)
        return ops.mean(ops.square(y_pred - y_true), axis=-1), None


@dataclass(frozen=True)
class MeanAbsoluteError(Loss):
    """`mean(abs(y_true - y_pred), axis=-1)` per example.

    Example:
      >>> MeanAbsoluteError()(jnp.zeros((4, 3)), jnp.ones((4, 3))).shape
      ()
    """

    default_name: ClassVar[str] = "mean_absolute_error"

    def call(self, y_true, y_pred):
        y_true, y_pred = _same_shape(self, ops.cast(y_true, "float32"), y_pred)
        return ops.mean(ops.abs(y_pred - y_true), axis=-1), None


@dataclass(frozen=True)
class Huber(Loss):
    """Squared error within `delta`, linear beyond it; mean over the last axis.

    Args:
      delta: where the loss turns from quadratic to linear.

    Example:
      >>> Huber(delta=0.5)(jnp.zeros((4, 3)), jnp.ones((4, 3))).shape
      ()
    """

    delta: float = 1.0
    default_name: ClassVar[str] = "huber_loss"

    def call(self, y_true, y_pred):
        y_true, y_pred = _same_shape(self, ops.cast(y_true, "float32"), y_pred)
        error = ops.abs(y_pred - y_true)
        quadratic = 0.5 * ops.square(error)
        linear = self.delta * error - 0.5 * self.delta**2
        return ops.mean(ops.where(error <= self.delta, quadratic, linear), -1), None


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
        y_true, y_pred = _same_shape(self, ops.cast(y_true, "float32"), y_pred)
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:  # -log(sigmoid(x)) = softplus(-x)
            entries = y_true * ops.softplus(-y_pred) + (1 - y_true) * ops.softplus(
                y_pred
            )
        else:
            p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
            entries = -(y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p))
        return ops.mean(entries, axis=self.axis), None


def _log_probs(y_pred: Any, from_logits: bool, axis: int) -> Any:
    """Log-probabilities, as Keras: log_softmax, or normalize, clip and log."""
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    return ops.log(ops.clip(p, EPSILON, 1.0 - EPSILON))


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
        y_true = ops.cast(y_true, "float32")
        if y_true.shape != y_pred.shape or y_pred.ndim == 0:
            _shape_error(
                self,
                "expected one-hot y_true shaped like y_pred",
                y_true,
                y_pred,
                "for integer class ids, use SparseCategoricalCrossentropy.",
            )
        if self.label_smoothing:
            num_classes = y_true.shape[self.axis]  # Keras reads shape[-1]
            s = self.label_smoothing
            y_true = y_true * (1.0 - s) + s / num_classes
        log_p = _log_probs(y_pred, self.from_logits, self.axis)
        return -ops.sum(y_true * log_p, axis=self.axis), None


@dataclass(frozen=True)
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy of integer class ids against scores over the last axis.

    Args:
      from_logits: whether `y_pred` holds logits (see `CategoricalCrossentropy`).
      ignore_class: a class id whose entries give no loss and, under
        `"sum_over_batch_size"`, are not counted; None ignores nothing.

    Example:
      >>> loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
      >>> loss(jnp.array([0, 2, -1]), jnp.zeros((3, 4))).shape
      ()
    """

    from_logits: bool = False
    ignore_class: int | None = None
    default_name: ClassVar[str] = "sparse_categorical_crossentropy"

    def check_labels(self, y_true: Any, y_pred_spec: Any) -> None:
        """Refuses labels that are not class ids of `y_pred`'s last axis (run
        once on in-memory labels, see `train.label_checks`)."""
        classes = y_pred_spec.shape[-1] if y_pred_spec.shape else 0
        check_class_ids(type(self).__name__, y_true, classes, self.ignore_class)

    def flag_labels(self, y_true: Any, y_pred: Any) -> Any:
        """The same check inside a compiled step (see `train.label_checks`)."""
        return class_id_flag(y_true, y_pred.shape[-1], self.ignore_class)

    def call(self, y_true, y_pred):
        labels, _ = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
            labels = ops.squeeze(labels, -1)
        if y_pred.ndim == 0 or labels.shape != y_pred.shape[:-1]:
            _shape_error(
                self,
                "expected y_true shaped like y_pred without its last (class) axis",
                y_true,
                y_pred,
                "for one-hot targets, use CategoricalCrossentropy.",
            )
        labels = ops.cast(labels, "int32")
        mask = None
        if self.ignore_class is not None:
            mask = ops.not_equal(labels, self.ignore_class)
            labels = ops.where(mask, labels, 0)
        log_p = _log_probs(y_pred, self.from_logits, -1)
        values = -ops.sum(ops.one_hot(labels, y_pred.shape[-1]) * log_p, axis=-1)
        if mask is not None:
            values = ops.where(mask, values, 0.0)
        return values, mask


_CLASSES = (
    MeanSquaredError,
    MeanAbsoluteError,
    Huber,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
_REGISTRY: dict[str, type[Loss]] = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{cls.default_name: cls for cls in _CLASSES},
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "huber": Huber,
}


@dataclass(frozen=True)
class LossFunctionWrapper(Loss):
    """A plain function `fn(y_true, y_pred) -> per-example values` as a loss,
    weighted and reduced like the built-in ones (Keras's wrapper).

    Example:
      >>> def squared(y_true, y_pred):
      ...     return ops.mean(ops.square(y_true - y_pred), axis=-1)
      >>> loss = get(squared)
      >>> loss.name, float(loss(jnp.zeros((2, 3)), jnp.ones((2, 3))))
      ('squared', 1.0)
    """

    fn: Any = None

    def __post_init__(self):
        if self.name is None:
            object.__setattr__(self, "name", getattr(self.fn, "__name__", "loss"))
        super().__post_init__()

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


def _takes_sample_weight(fn: Any) -> bool:
    """Whether `fn` can be called as `fn(y_true, y_pred, sample_weight)`."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return True
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def _lookup(name: str) -> type[Loss]:
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown loss {name!r}. Valid names: {', '.join(sorted(_REGISTRY))}."
        )
    return _REGISTRY[name]


def get(identifier: Any) -> Any:
    """A loss from a name, a `{"class_name", "config"}` dict, or a loss object.

    Args:
      identifier: a name (`"mse"`, `"mean_squared_error"`, `"MeanSquaredError"`,
        `"huber"`, `"sparse_categorical_crossentropy"`, ...), a config dict, a
        `Loss` class (built with its defaults), a `Loss`, a function
        `loss(y_true, y_pred, sample_weight)` (returned as is), a function
        `loss(y_true, y_pred)` of per-example values (wrapped in
        `LossFunctionWrapper`, so it is weighted and reduced), or None.

    Raises:
      ValueError: an unknown name; the message lists the valid ones.
      TypeError: anything else.

    Example:
      >>> get("sparse_categorical_crossentropy").name
      'sparse_categorical_crossentropy'
      >>> get(Huber(delta=2.0)).delta
      2.0
    """
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if callable(identifier):
        if _takes_sample_weight(identifier):
            return identifier
        return LossFunctionWrapper(fn=identifier)
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        return _lookup(identifier["class_name"]).from_config(identifier["config"])
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise TypeError(
        f"cannot interpret {identifier!r:.80} as a loss: pass a name, a config "
        "dict, or a callable loss(y_true, y_pred, sample_weight=None)."
    )
