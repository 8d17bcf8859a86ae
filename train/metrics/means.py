"""Averaging metrics: `Mean`, `Sum`, and the means of per-example values that
most of Keras's metrics are (Keras's `MeanMetricWrapper`).

Per-example values are reduced over any trailing axes (averaged, or summed
for `Sum`), weighted by `sample_weight`, and the state holds their weighted
`total` and the `count` (the sum of the weights, or the number of examples).
Entries that `y_pred`'s mask drops count for nothing.

Example:
  >>> m = Sum()
  >>> float(m.result(m.update(m.init(), jnp.ones((2, 3)))))
  6.0
"""

from __future__ import annotations

import inspect
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from stateless import ops
from stateless.errors import ShapeError, owner_name
from train._metric import Metric, State, zeros
from train.loss_reduction import fold_mask
from train.targets import divide_no_nan, squeeze_or_expand_to_same_rank


def samplewise(
    owner: Any, values: Any, sample_weight: Any, reduce: Any = ops.mean
) -> tuple[Any, Any]:
    """Keras's `reduce_to_samplewise_values`: weighted values, one per
    example, trailing axes reduced with `reduce`; and the weights, one per
    example (None when none were given)."""
    values = ops.cast(values, "float32")
    weights = None
    if sample_weight is not None:
        weights = ops.cast(sample_weight, "float32")
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        w_ndim, v_ndim = weights.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce(values, axis=tuple(range(w_ndim, v_ndim)))
        try:
            weights = ops.broadcast_to(weights, values.shape)
        except ValueError:
            raise ShapeError(
                f"{owner_name(owner)}: sample_weight of shape "
                f"{tuple(ops.shape(sample_weight))} does not broadcast to the "
                f"values of shape {values.shape}. Hint: pass one weight per example."
            ) from None
        values = values * weights
        if w_ndim > 1:
            weights = reduce(weights, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, weights


def accumulate(owner: Any, state: State, values: Any, sample_weight: Any) -> State:
    """`state` with the weighted mean's `total` and `count` of `values` added."""
    values, weights = samplewise(owner, values, sample_weight)
    if weights is not None:
        count = ops.sum(weights)
    else:
        count = float(values.shape[0]) if values.ndim else 1.0
    return {"total": state["total"] + ops.sum(values), "count": state["count"] + count}


@dataclass(frozen=True)
class Mean(Metric):
    """The weighted mean of the values given to `update(state, values, weight)`.

    Example:
      >>> m = Mean()
      >>> state = m.update(m.init(), jnp.array([1.0, 3.0]), jnp.array([1.0, 0.0]))
      >>> float(m.result(state))
      1.0
    """

    default_name: ClassVar[str] = "mean"

    def init(self) -> State:
        return zeros("total", "count")

    def update(self, state: State, values: Any, sample_weight: Any = None) -> State:
        return accumulate(self, state, values, sample_weight)

    def result(self, state: State) -> Any:
        return divide_no_nan(state["total"], state["count"])


@dataclass(frozen=True)
class Sum(Metric):
    """The weighted sum of the values given to `update(state, values, weight)`.

    Example:
      >>> m = Sum()
      >>> state = m.update(m.init(), jnp.array([1.0, 3.0]), jnp.array([2.0, 1.0]))
      >>> float(m.result(state))
      5.0
    """

    default_name: ClassVar[str] = "sum"

    def init(self) -> State:
        return zeros("total")

    def update(self, state: State, values: Any, sample_weight: Any = None) -> State:
        values, _ = samplewise(self, values, sample_weight, reduce=ops.sum)
        return {"total": state["total"] + ops.sum(values)}

    def result(self, state: State) -> Any:
        return state["total"]


@dataclass(frozen=True)
class MeanOf(Mean):
    """The weighted mean of per-example values of `(y_true, y_pred)`; entries
    that `y_pred`'s mask drops count for nothing (Keras's MeanMetricWrapper).
    Subclasses say what the values are in `_values`."""

    reads_masks: ClassVar[bool] = True

    def update(
        self,
        state: State,
        y_true: Any,
        y_pred: Any,
        sample_weight: Any = None,
        mask: Any = None,
    ) -> State:
        weights = fold_mask(sample_weight, mask, "sum")
        return accumulate(self, state, self._values(y_true, y_pred), weights)

    @abstractmethod
    def _values(self, y_true: Any, y_pred: Any) -> Any:
        """The per-example values whose weighted mean this metric reports."""


class MeanMetricWrapper(MeanOf):
    """The weighted mean of `fn(y_true, y_pred, **kwargs)` over examples: any
    function of per-example values as a metric (Keras's signature).

    A config names `fn` by its name; it round-trips when `fn` is one of
    `train.metrics`' or `train.losses`' functions.

    Example:
      >>> from train import losses
      >>> m = MeanMetricWrapper(losses.huber, delta=0.5)
      >>> state = m.update(m.init(), jnp.zeros((2, 2)), jnp.ones((2, 2)))
      >>> m.name, float(m.result(state))
      ('huber', 0.375)
    """

    def __init__(self, fn: Any, name: str | None = None, dtype: Any = None, **kwargs):
        Metric.__init__(self, name=name or getattr(fn, "__name__", "mean"), dtype=dtype)
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "fn_kwargs", tuple(sorted(kwargs.items())))

    def __repr__(self) -> str:
        fn = getattr(self.fn, "__name__", self.fn)
        return f"MeanMetricWrapper({fn!s}, name={self.name!r})"

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and (self.fn, self.fn_kwargs, self.name) == (
            other.fn, other.fn_kwargs, other.name)  # fmt: skip

    def __hash__(self) -> int:
        return hash((type(self), self.fn, self.fn_kwargs, self.name))

    def _values(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **dict(self.fn_kwargs))

    def get_config(self) -> dict[str, Any]:
        return {"fn": getattr(self.fn, "__name__", None), "name": self.name,
                **dict(self.fn_kwargs)}  # fmt: skip

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MeanMetricWrapper:
        from train import metrics  # the functions' namespace (losses' included)

        config = dict(config)
        name = config.pop("fn", None)
        fn = getattr(metrics, name, None) if isinstance(name, str) else None
        if not inspect.isfunction(fn):
            raise ValueError(
                f"MeanMetricWrapper: cannot rebuild fn={name!r} from a config: only "
                "the functions of train.metrics and train.losses are known by name. "
                "Hint: build the wrapper in code, or write a Metric subclass."
            )
        return cls(fn, **config)
