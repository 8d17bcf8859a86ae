"""The `Loss` base class, the wrapper for plain functions, and the shape checks
every family of losses shares.

A loss is a frozen dataclass of Keras's hyperparameters, under Keras's names
and defaults. `loss(y_true, y_pred, sample_weight=None)` computes in `dtype`
(float32 unless asked; half-precision predictions are cast up first) one
value per example, weights it, then reduces as `reduction` says:

* `"sum_over_batch_size"` (default) and `"mean"`: the sum of the weighted
  per-example values over how many there are (Keras 3 treats the two alike);
* `"mean_with_sample_weight"`: that sum over the sum of the weights;
* `"sum"`: the sum; `"none"` (or None): the weighted per-example values.

Example:
  >>> loss = LossFunctionWrapper(fn=lambda t, p: abs(p - t), reduction="none")
  >>> loss(jnp.zeros((4, 3)), jnp.ones((4, 3)), jnp.ones(4)).shape
  (4, 3)
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from stateless import dtypes, ops
from stateless.errors import ShapeError, owner_name
from train.hyperparameters import check_config
from train.loss_reduction import REDUCTIONS, reduce_weighted_values
from train.targets import same_shape

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to it.


def shape_error(owner: Any, what: str, y_true: Any, y_pred: Any, hint: str) -> None:
    """Raises a ShapeError naming `owner`, both shapes and what to do."""
    raise ShapeError(
        f"{owner_name(owner)}: {what}, received y_true {tuple(y_true.shape)} and "
        f"y_pred {tuple(y_pred.shape)}. Hint: {hint}"
    )


def as_floats(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """`y_pred` as a float array (float32 unless it is one already) and
    `y_true` cast to its dtype: what Keras's function forms start with."""
    y_pred = ops.convert_to_tensor(y_pred)
    if not dtypes.is_float(y_pred.dtype):
        y_pred = ops.cast(y_pred, "float32")
    return ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype), y_pred


@dataclass(frozen=True)
class Loss(ABC):
    """Base class: a config whose `__call__` is a pure function of arrays.

    Subclasses implement `call(y_true, y_pred) -> values` or `(values, mask)`:
    the per-example values and an optional boolean mask of the entries that
    count.

    Args:
      reduction: one of `REDUCTIONS`, or None for `"none"` (keyword-only).
      name: defaults to Keras's snake-case name (keyword-only).
      dtype: the dtype the loss computes in; None means float32
        (keyword-only).

    Example:
      >>> class Cubed(Loss):
      ...     def call(self, y_true, y_pred):
      ...         return ops.mean((y_pred - y_true) ** 3, axis=-1)
      >>> float(Cubed()(jnp.zeros((2, 3)), jnp.full((2, 3), 2.0)))
      8.0
    """

    reduction: str | None = field(default="sum_over_batch_size", kw_only=True)
    name: str | None = field(default=None, kw_only=True)
    dtype: str | None = field(default=None, kw_only=True)
    default_name: ClassVar[str] = "loss"
    reads_masks: ClassVar[bool] = True  # __call__ takes the output's mask

    def __post_init__(self):
        if self.reduction is not None and self.reduction not in REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: unknown reduction {self.reduction!r}. "
                f"Valid reductions: {', '.join(REDUCTIONS)}, None."
            )
        if self.name is None:
            object.__setattr__(self, "name", self.default_name)

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, mask: Any = None
    ) -> Any:
        """The reduced loss. `mask`: the entries of `y_pred` that count, as the
        model's output mask gives them (Keras reads it from `y_pred`); it
        combines with the loss's own mask and with `sample_weight`."""
        y_pred = ops.cast(y_pred, self.dtype or "float32")
        out = self.call(ops.convert_to_tensor(y_true), y_pred)
        values, own = out if isinstance(out, tuple) else (out, None)
        if mask is not None and own is not None:
            mask = ops.logical_and(mask, own)
        elif own is not None:
            mask = own
        reduction = "none" if self.reduction is None else self.reduction
        return reduce_weighted_values(self, values, sample_weight, mask, reduction)

    @abstractmethod
    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-example values, or `(values, mask)` with a boolean mask of the
        entries that count.

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
class LossFunctionWrapper(Loss):
    """A plain function `fn(y_true, y_pred) -> per-example values` as a loss,
    weighted and reduced like the built-in ones (Keras's wrapper).

    Example:
      >>> def squared(y_true, y_pred):
      ...     return ops.mean(ops.square(y_true - y_pred), axis=-1)
      >>> loss = LossFunctionWrapper(fn=squared)
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


def takes_sample_weight(fn: Any) -> bool:
    """Whether `fn` can be called as `fn(y_true, y_pred, sample_weight)`."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return True
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def elementwise(owner: Any, fn: Any, y_true: Any, y_pred: Any, **options: Any) -> Any:
    """`fn(y_true, y_pred, **options)` after casting `y_true` to `y_pred`'s
    dtype and checking that the two align (see `same_shape`): how a class
    calls the function form of a loss that compares entry by entry."""
    y_true, y_pred = same_shape(
        owner, ops.cast(y_true, y_pred.dtype), y_pred, min_rank=1
    )
    return fn(y_true, y_pred, **options)
