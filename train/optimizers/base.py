"""The optimizer contract: Keras's keywords in, an optax transformation out.

An optimizer here is a small configuration object: `transform()` gives the
optax `GradientTransformation` that does the work. The learning rate lives in
the optimizer *state* (`optax.inject_hyperparams`), so it can change between
steps without recompiling: assign `optimizer.learning_rate = 1e-4` (as
callbacks do) and the fit loop writes it into the state before the next step.
A schedule (a `train.optimizers.schedules.LearningRateSchedule`, or any
`step -> rate` callable such as `optax.cosine_decay_schedule`) may be given
instead of a float; the state then holds the rate of the current step.

Keras's keywords, common to every optimizer: `clipnorm` (per-array norm),
`clipvalue`, `global_clipnorm` (at most one of the three), `weight_decay`
(decoupled: `w -= lr * weight_decay * w`), `gradient_accumulation_steps`
(`optax.MultiSteps`: apply the mean of k gradients every k steps) and `name`.

Example:
  >>> from train.optimizers import Adam
  >>> tx = Adam(0.1, global_clipnorm=1.0).transform()
  >>> updates, _ = tx.update({"w": jnp.full(4, 10.0)}, tx.init({"w": jnp.zeros(4)}))
  >>> [round(u, 3) for u in updates["w"].tolist()]  # the norm clipped to 1
  [-0.1, -0.1, -0.1, -0.1]
"""

from __future__ import annotations

import inspect
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import optax

from train import optimizer_variables as stateless_view
from train.hyperparameters import RANGES, checked
from train.optimizers import schedules
from train.optimizers.ema import ema_of, tracking_ema, wrapped_field
from train.precision import fixed_loss_scale

Schedule = Callable[[Any], Any]
# Keras's keywords of every optimizer, with its defaults.
COMMON = {
    "weight_decay": None, "clipnorm": None, "clipvalue": None,
    "global_clipnorm": None, "use_ema": False, "ema_momentum": 0.99,
    "ema_overwrite_frequency": None, "loss_scale_factor": None,
    "gradient_accumulation_steps": None, "name": None,
}  # fmt: skip


class Optimizer(ABC):
    """Base class: hyperparameters in, an optax transformation out.

    A subclass defines `_core(learning_rate) -> GradientTransformation` and
    lists its own hyperparameters in `hyperparameters` (its config holds
    them after the common ones). Its signature is its own arguments followed
    by Keras's common keywords.
    """

    hyperparameters: ClassVar[tuple[str, ...]] = ()
    default_name: ClassVar[str] = "optimizer"  # Keras's: the class in snake case

    def __init_subclass__(cls, common_keywords: bool = True, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if not common_keywords:  # a wrapper: its own signature only
            return
        own = [
            p
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"
        ]
        taken = {p.name for p in own}
        common = [
            inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
            for k, v in COMMON.items()
            if k not in taken
        ]
        cls.__signature__ = inspect.Signature(own + common)

    def __init__(
        self,
        learning_rate: float | Schedule = 0.001,
        *,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
    ):
        owner = type(self).__name__
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(
                f"{owner}: ema_momentum must lie in [0, 1], received {ema_momentum!r}."
            )
        freq = ema_overwrite_frequency
        if freq is not None and (
            isinstance(freq, bool) or not isinstance(freq, int) or freq < 1
        ):
            raise ValueError(
                f"{owner}: ema_overwrite_frequency must be an int >= 1 or None, "
                f"received {freq!r}."
            )
        clips = [clipnorm, clipvalue, global_clipnorm]
        if sum(c is not None for c in clips) > 1:
            raise ValueError(
                f"{owner}: set at most one of clipnorm, clipvalue and "
                f"global_clipnorm; received clipnorm={clipnorm}, "
                f"clipvalue={clipvalue}, global_clipnorm={global_clipnorm}."
            )
        self._followers: weakref.WeakSet[Any] = weakref.WeakSet()
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.name = self.default_name if name is None else name

    def __setattr__(self, name: str, value: Any) -> None:
        if name in RANGES and name != "learning_rate":
            value = checked(type(self).__name__, name, value)
        object.__setattr__(self, name, value)

    @property
    def learning_rate(self) -> float | Schedule:
        """The rate (or schedule); assigning a number mid-run changes the next
        step of every run that follows this optimizer."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, rate: float | Schedule) -> None:
        if callable(vars(self).get("_learning_rate")):
            raise TypeError(
                f"{type(self).__name__}: the learning rate follows the schedule "
                f"{self._learning_rate!r:.120}, so it cannot be assigned (as in "
                "Keras). Hint: build the optimizer with a float rate to change it "
                "from a callback."
            )
        self._learning_rate = checked(type(self).__name__, "learning_rate", rate)
        for run in list(self._followers):
            run.rate_changed(rate)

    def follow(self, run: Any) -> None:
        """Tells `run` (a `train.RunContext`, held weakly) of each new rate."""
        self._followers.add(run)

    # -- Keras's stateless view (see train.optimizer_variables) ---------------

    def build(self, var_list: Any) -> None:
        """Makes the optimizer's first state over these weights (Keras's way,
        for a loop written from scratch); `variables` then holds it."""
        self._built_variables = stateless_view.initial_variables(self, var_list)

    @property
    def variables(self) -> list[Any]:
        """The state made by `build`, as a list of arrays."""
        if "_built_variables" not in vars(self):
            raise ValueError(
                f"{type(self).__name__}.variables: the optimizer is not built. "
                "Hint: optimizer.build(model.trainable_variables) first."
            )
        return list(self._built_variables)

    def stateless_apply(
        self, optimizer_variables: Any, grads: Any, trainable_variables: Any
    ) -> tuple[list[Any], list[Any]]:
        """One update, pure: `(new trainable_variables, new optimizer_variables)`.

        Each argument is a list in the order of `model.trainable_variables`
        (Keras's layout for a custom `train_step` on JAX).
        """
        return stateless_view.stateless_apply(
            self, optimizer_variables, grads, trainable_variables
        )

    @abstractmethod
    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        """The update rule, scaled by `learning_rate`."""

    def _decay(self, learning_rate: Any) -> optax.GradientTransformation | None:
        """Keras's decoupled weight decay, `w -= lr * weight_decay * w`, or None
        (a subclass with a decay of its own overrides it)."""
        if not self.weight_decay:
            return None
        return optax.add_decayed_weights(-learning_rate * self.weight_decay)

    def _rule(self) -> optax.GradientTransformation:
        """Clipping, the update rule and the weight decay, the rate in the state."""

        def build(learning_rate):
            parts = []
            if self.clipvalue is not None:
                parts.append(optax.clip(self.clipvalue))
            if self.clipnorm is not None:
                parts.append(_clip_each_by_norm(self.clipnorm))
            if self.global_clipnorm is not None:
                parts.append(optax.clip_by_global_norm(self.global_clipnorm))
            parts.append(self._core(learning_rate))
            decay = self._decay(learning_rate)
            return optax.chain(*parts, *([decay] if decay is not None else []))

        steps = self.gradient_accumulation_steps or 1
        rate = self.learning_rate
        if callable(rate) and steps > 1:  # Keras's schedule counts every batch
            rate = _at_last_batch_of_update(rate, steps)
        return optax.inject_hyperparams(build)(learning_rate=rate)

    def transform(self) -> optax.GradientTransformation:
        """The optax transformation, with the learning rate in its state.

        As Keras's: a `loss_scale_factor` divides the gradients first; with
        `gradient_accumulation_steps` k, the rule (clipping and decay included)
        runs on the mean of every k gradients, a schedule at the rate of the
        batch that completes them, and the moving average (`use_ema`) moves
        after every batch, counting updates (`optax.MultiSteps`).
        """
        tx = self._rule()
        steps = self.gradient_accumulation_steps or 1
        if steps > 1:
            tx = optax.MultiSteps(tx, steps)
        if self.use_ema:
            tx = tracking_ema(tx, self.ema_momentum, self.ema_overwrite_frequency,
                              batches_per_update=steps)  # fmt: skip
        if self.loss_scale_factor is not None:
            tx = fixed_loss_scale(tx, self.loss_scale_factor)
        return tx

    @property
    def scales_loss(self) -> bool:
        """Whether `transform()` unscales gradients of a scaled loss itself
        (so mixed float16 adds no dynamic scaling of its own)."""
        return self.loss_scale_factor is not None

    def scale_loss(self, loss: Any) -> Any:
        """`loss` times `loss_scale_factor` (unchanged without one), for a
        hand-written step whose gradients this optimizer then applies."""
        if self.loss_scale_factor is None:
            return loss
        return loss * self.loss_scale_factor

    def finalized(self, params: Any, opt_state: Any) -> Any:
        """The weights a run ends with: with `use_ema`, their moving average
        (as Keras's `finalize_variable_values`), else `params`."""
        ema = ema_of(opt_state) if self.use_ema else None
        return params if ema is None else ema

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the rate, the common keywords, then this class's
        hyperparameters (a schedule as `{"class_name", "config"}` data)."""
        rate = self.learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            rate = schedules.serialize(rate)
        keys = (*COMMON, *self.hyperparameters)
        return {"learning_rate": rate, **{k: getattr(self, k) for k in keys}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """The optimizer `get_config` described."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} learning_rate={self.learning_rate!r}>"


class AdamFamily(Optimizer):
    """An optimizer with Adam's moments' hyperparameters (Keras's defaults:
    betas 0.9 and 0.999, epsilon 1e-7); subclasses give the rule."""

    hyperparameters = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon


def _clip_each_by_norm(max_norm: float) -> optax.GradientTransformation:
    """Scales each gradient array whose L2 norm exceeds `max_norm` down to it."""

    def update(updates, state, params=None):
        del params

        def clip(g):
            norm = jnp.sqrt(jnp.sum(jnp.square(g)))
            return jnp.where(norm > max_norm, g * (max_norm / norm), g)

        return jax.tree.map(clip, updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _at_last_batch_of_update(schedule: Schedule, steps: int) -> Schedule:
    """The rate of update `count` when each takes `steps` batches: Keras
    evaluates the schedule at the batch that completes the update."""
    return lambda count: schedule(count * steps + steps - 1)


def _hyperparams(opt_state: Any) -> dict[str, Any]:
    if hasattr(opt_state, "hyperparams"):
        return opt_state.hyperparams
    field = wrapped_field(opt_state)
    if field is not None:
        return _hyperparams(getattr(opt_state, field))
    raise TypeError(
        f"no learning rate in an optimizer state of type {type(opt_state)}."
    )


def learning_rate_of(opt_state: Any) -> Any:
    """The learning rate held in an optimizer state made by `transform()`."""
    return _hyperparams(opt_state)["learning_rate"]


def with_learning_rate(opt_state: Any, value: float, slot: str | None = None) -> Any:
    """A copy of `opt_state` whose learning rate is `value` (same dtype and
    shape); in a `MultiOptimizer`'s state, the rate of its optimizer `slot`."""
    if slot is not None and hasattr(opt_state, "inner_states"):  # partitioned
        inner = with_learning_rate(opt_state.inner_states[slot], value)
        return opt_state._replace(inner_states={**opt_state.inner_states, slot: inner})
    if not hasattr(opt_state, "hyperparams"):
        field = wrapped_field(opt_state)
        inner = with_learning_rate(getattr(opt_state, field), value, slot)
        return opt_state._replace(**{field: inner})
    hyper = dict(opt_state.hyperparams)
    hyper["learning_rate"] = jnp.asarray(value, hyper["learning_rate"].dtype)
    return opt_state._replace(hyperparams=hyper)
