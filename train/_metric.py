"""The metric contract: a frozen config with pure `init`/`update`/`result`/`merge`.

Shared by the `train.metrics` package; the public names are re-exported
from `train.metrics`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import jax

from stateless import ops
from stateless.errors import owner_name
from train import _keras_metric
from train.hyperparameters import check_config
from train.stateless_metric import KerasStateless

State = dict[str, jax.Array]


@dataclass(frozen=True)
class Metric(KerasStateless, ABC):
    """Base class: hyperparameters in the object, accumulators in a state dict.

    The four functions are pure, so they run under `jax.jit`, `lax.scan` and
    `shard_map`:

    * `init() -> state`: a dict of float32 accumulators, all zero;
    * `update(state, y_true, y_pred, sample_weight=None) -> state`;
    * `result(state) -> value`: a float32 scalar (or one per threshold);
    * `merge(state_a, state_b) -> state`: the elementwise sum, so that states
      from several batches or devices combine (`lax.psum(state, axis)` too).

    Keras's stateless methods (`stateless_update_state`, `stateless_result`,
    `stateless_reset_state`, `variables`) work on the same state as a flat
    list (see `train.stateless_metric`).

    Args:
      name: the key of the metric in logs; defaults to Keras's snake-case name
        (keyword-only).
      dtype: None or "float32", the dtype of the accumulators (keyword-only).

    Example:
      >>> from train.metrics import Mean
      >>> m = Mean()
      >>> state = m.merge(m.update(m.init(), jnp.ones(3)), m.init())
      >>> jax.tree.map(jnp.shape, state)
      {'count': (), 'total': ()}
    """

    name: str | None = field(default=None, kw_only=True)
    dtype: Any = field(default=None, kw_only=True)
    default_name: ClassVar[str] = "metric"

    def __init__(self, *, name: str | None = None, dtype: Any = None):
        """Keras's signature, for a subclass written Keras's way (built-in
        metrics are dataclasses with their own `__init__`)."""
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", dtype)
        self.__post_init__()

    def __post_init__(self):
        if self.name is None:
            object.__setattr__(self, "name", self.default_name)
        if self.dtype not in (None, "float32"):
            raise ValueError(
                f"{owner_name(self)}: dtype={self.dtype!r}: accumulators and "
                "results are float32 here (under a mixed-precision policy too, as "
                "in Keras). Hint: leave dtype unset."
            )

    def __init_subclass__(cls, **kwargs: Any):
        """A subclass with `update_state` is written Keras's way: its pure
        `init` / `update` / `result` come from `train._keras_metric`."""
        super().__init_subclass__(**kwargs)
        if "update_state" not in cls.__dict__:
            return
        keras_result = cls.__dict__.get("result")
        cls.init = lambda self: _keras_metric.init(self)
        cls.update = lambda self, state, *a, **k: _keras_metric.update(
            self, state, *a, **k
        )
        if keras_result is not None:
            cls.result = lambda self, state=None: _keras_metric.result(
                self, keras_result, state
            )
        if "reset_state" not in cls.__dict__:
            cls.reset_state = lambda self: vars(self).pop("_held_state", None)
        cls.__hash__ = object.__hash__
        cls.__eq__ = object.__eq__

    def read_held(self, variable: Any) -> Any:
        """A variable's value, kept by a metric used eagerly."""
        return _keras_metric.held(self)[variable.name]

    def assign_held(self, variable: Any, value: Any) -> None:
        """Replaces a variable's value, kept by a metric used eagerly."""
        _keras_metric.held(self)[variable.name] = value

    def add_variable(
        self,
        shape: Any = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> Any:
        """Declares a variable of a metric written Keras's way (see
        `train._keras_metric`); `aggregation` is always a sum here."""
        del aggregation
        return _keras_metric.add_variable(self, shape, initializer, dtype, name)

    add_weight = add_variable

    @abstractmethod
    def init(self) -> State:
        """Zeroed accumulators."""

    @abstractmethod
    def update(self, state: State, *args: Any, **kwargs: Any) -> State:
        """The state after one more batch."""

    @abstractmethod
    def result(self, state: State) -> jax.Array:
        """The metric's value for everything accumulated in `state`."""

    def merge(self, state_a: State, state_b: State) -> State:
        """The accumulators of both states, summed."""
        return jax.tree.map(ops.add, state_a, state_b)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-ready data."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """Rebuilds the metric from `get_config()`'s output (its numbers
        checked: see `train.hyperparameters`)."""
        check_config(cls.__name__, config)
        return cls(**config)


def zeros(*names: str, shape: tuple[int, ...] = ()) -> State:
    """A state of float32 zeros under each name."""
    return {n: ops.zeros(shape, "float32") for n in names}
