"""Learning-rate schedules with Keras's names: pure `step -> rate` functions.

A schedule is an object holding its numbers, called with the optimizer's step
count (a JAX integer, from 0) inside the compiled step; pass one as any
optimizer's `learning_rate`. Write your own by subclassing
`LearningRateSchedule` (`__call__(step)`, and `get_config()` to save it).
A schedule saves as data: `serialize` gives `{"class_name", "config"}`, which
`deserialize` reads back (only the classes here, and your own when passed in
`custom_objects`).

Example:
  >>> decay = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
  >>> [round(float(decay(s)), 4) for s in (0, 10, 20)]
  [0.1, 0.05, 0.025]
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from stateless.lookup import lookup
from train.hyperparameters import check_config


class LearningRateSchedule:
    """Base class: `__call__(step) -> rate`, pure and traceable.

    Example:
      >>> class Halving(LearningRateSchedule):
      ...     def __init__(self, rate):
      ...         self.rate = rate
      ...     def __call__(self, step):
      ...         return self.rate / (step + 1)
      ...     def get_config(self):
      ...         return {"rate": self.rate}
      >>> float(Halving(1.0)(1))
      0.5
    """

    def __call__(self, step: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}: a schedule defines __call__(self, step)."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"{type(self).__name__}: define get_config() to save this schedule."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _steps(owner: str, key: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{owner}: {key} must be a number > 0, received {value!r}.")
    return value


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`, the
    exponent floored with `staircase`.

    Example:
      >>> float(ExponentialDecay(1.0, 4, 0.5, staircase=True)(7))
      0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate,
                 staircase=False, name="ExponentialDecay"):  # fmt: skip
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _steps("ExponentialDecay", "decay_steps", decay_steps)
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step: Any) -> Any:
        p = jnp.asarray(step, jnp.float32) / self.decay_steps
        p = jnp.floor(p) if self.staircase else p
        return self.initial_learning_rate * jnp.power(self.decay_rate, p)

    def get_config(self) -> dict[str, Any]:
        keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase")
        return {**{k: getattr(self, k) for k in keys}, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` while
    `boundaries[i-1] < step <= boundaries[i]`, `values[-1]` after the last.

    Example:
      >>> rates = PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
      >>> [round(float(rates(s)), 4) for s in (2, 3, 5)]
      [1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"PiecewiseConstantDecay: {len(values)} values for "
                f"{len(boundaries)} boundaries; give one more value than boundaries."
            )
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"PiecewiseConstantDecay: boundaries={list(boundaries)} must "
                "increase strictly."
            )
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step: Any) -> Any:
        index = jnp.searchsorted(jnp.asarray(self.boundaries), step, side="left")
        return jnp.asarray(self.values, jnp.float32)[index]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` over `decay_steps`
    along `(1 - step / decay_steps) ** power`, then flat; with `cycle`, it
    decays again over each next multiple of `decay_steps`.

    Example:
      >>> decay = PolynomialDecay(1.0, 10, end_learning_rate=0.0)
      >>> [float(decay(s)) for s in (5, 20)]
      [0.5, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):  # fmt: skip
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _steps("PolynomialDecay", "decay_steps", decay_steps)
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = cycle, name

    def __call__(self, step: Any) -> Any:
        step = jnp.asarray(step, jnp.float32)
        span = jnp.float32(self.decay_steps)
        if self.cycle:
            span = span * jnp.where(step == 0, 1.0, jnp.ceil(step / span))
        else:
            step = jnp.minimum(step, span)
        left = jnp.power(1 - step / span, self.power)
        start, end = self.initial_learning_rate, self.end_learning_rate
        return (start - end) * left + end

    def get_config(self) -> dict[str, Any]:
        keys = ("initial_learning_rate", "decay_steps", "end_learning_rate", "power",
                "cycle", "name")  # fmt: skip
        return {k: getattr(self, k) for k in keys}


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`, the
    ratio floored with `staircase`.

    Example:
      >>> float(InverseTimeDecay(1.0, 1, 0.5)(2))
      0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate,
                 staircase=False, name="InverseTimeDecay"):  # fmt: skip
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _steps("InverseTimeDecay", "decay_steps", decay_steps)
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step: Any) -> Any:
        p = jnp.asarray(step, jnp.float32) / self.decay_steps
        p = jnp.floor(p) if self.staircase else p
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self) -> dict[str, Any]:
        keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase")
        return {**{k: getattr(self, k) for k in keys}, "name": self.name}


def _cosine(fraction: Any, alpha: float) -> Any:
    """From 1 at fraction 0 to `alpha` at fraction 1, along half a cosine."""
    return (1 - alpha) * 0.5 * (1 + jnp.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Half a cosine from the rate down to `alpha` times it over
    `decay_steps`; with `warmup_target`, first a linear rise from
    `initial_learning_rate` to it over `warmup_steps`.

    Example:
      >>> decay = CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=10)
      >>> [round(float(decay(s)), 4) for s in (5, 10, 15, 20)]
      [0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0,
                 name="CosineDecay", warmup_target=None, warmup_steps=0):  # fmt: skip
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _steps("CosineDecay", "decay_steps", decay_steps)
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step: Any) -> Any:
        step = jnp.asarray(step, jnp.float32)
        if self.warmup_target is None:
            step = jnp.minimum(step, self.decay_steps)
            fraction = step / self.decay_steps
            return self.initial_learning_rate * _cosine(fraction, self.alpha)
        warmup = jnp.float32(self.warmup_steps)
        step = jnp.minimum(step, self.decay_steps + warmup)
        start, target = self.initial_learning_rate, self.warmup_target
        rising = (target - start) * step / jnp.maximum(warmup, 1e-30) + start
        decaying = target * _cosine((step - warmup) / self.decay_steps, self.alpha)
        return jnp.where(step < warmup, rising, decaying)

    def get_config(self) -> dict[str, Any]:
        keys = ("initial_learning_rate", "decay_steps", "alpha", "name",
                "warmup_target", "warmup_steps")  # fmt: skip
        return {k: getattr(self, k) for k in keys}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay restarted (SGDR, Loshchilov & Hutter): the first period
    lasts `first_decay_steps`, each next one `t_mul` times longer and
    starting from `m_mul` times the rate.

    Example:
      >>> sgdr = CosineDecayRestarts(1.0, 10, t_mul=1.0, m_mul=0.5)
      >>> [round(float(sgdr(s)), 4) for s in (0, 5, 10)]
      [1.0, 0.5, 0.5]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0,
                 m_mul=1.0, alpha=0.0, name="SGDRDecay"):  # fmt: skip
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _steps(
            "CosineDecayRestarts", "first_decay_steps", first_decay_steps
        )
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step: Any) -> Any:
        fraction = jnp.asarray(step, jnp.float32) / self.first_decay_steps
        t_mul = self.t_mul
        if t_mul == 1.0:
            restarts = jnp.floor(fraction)
            fraction = fraction - restarts
        else:
            restarts = jnp.floor(
                jnp.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul)
            )
            before = (1.0 - jnp.power(t_mul, restarts)) / (1.0 - t_mul)
            fraction = (fraction - before) / jnp.power(t_mul, restarts)
        cosine = (
            0.5 * jnp.power(self.m_mul, restarts) * (1 + jnp.cos(math.pi * fraction))
        )
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        keys = ("initial_learning_rate", "first_decay_steps", "t_mul", "m_mul",
                "alpha", "name")  # fmt: skip
        return {k: getattr(self, k) for k in keys}


CLASSES = (
    ExponentialDecay,
    PiecewiseConstantDecay,
    PolynomialDecay,
    InverseTimeDecay,
    CosineDecay,
    CosineDecayRestarts,
)


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """`{"class_name", "config"}` data for `schedule`.

    Example:
      >>> serialize(InverseTimeDecay(0.1, 10, 0.5))["class_name"]
      'InverseTimeDecay'
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(
            f"cannot serialize {schedule!r:.80} as a learning-rate schedule: it is "
            "not a LearningRateSchedule (a plain function cannot be saved)."
        )
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(
    config: dict[str, Any], custom_objects: dict[str, type] | None = None
) -> LearningRateSchedule:
    """The schedule `serialize` (or Keras's own serialize) described.

    Args:
      config: `{"class_name", "config"}`; Keras's `module` and
        `registered_name` keys are read past.
      custom_objects: your own schedule classes by name.

    Example:
      >>> deserialize({"class_name": "CosineDecay", "config": {
      ...     "initial_learning_rate": 0.1, "decay_steps": 100}}).decay_steps
      100
    """
    if not isinstance(config, dict) or not {"class_name", "config"} <= set(config):
        raise ValueError(
            f"a schedule's config is {{class_name, config}}, received {config!r:.200}."
        )
    known = {cls.__name__: cls for cls in CLASSES}
    known.update(custom_objects or {})
    cls = lookup("learning-rate schedule", config["class_name"], known)
    check_config(cls.__name__, config["config"])
    return cls.from_config(config["config"])
