"""Optimizers by name or object, built on optax.

An optimizer here is a small configuration object: `transform()` gives the
optax `GradientTransformation` that does the work. The learning rate lives in
the optimizer *state* (`optax.inject_hyperparams`), so it can change between
steps without recompiling: assign `optimizer.learning_rate = 1e-4` (as
callbacks do) and the fit loop writes it into the state before the next step.
A schedule (any `step -> rate` callable, e.g. `optax.cosine_decay_schedule`)
may be given instead of a float.

Common arguments, as in Keras: `clipnorm` (per-array norm), `clipvalue`,
`global_clipnorm`, `weight_decay` (decoupled: `w -= lr * weight_decay * w`),
and `gradient_accumulation_steps` (`optax.MultiSteps`: apply the mean of k
gradients every k steps).
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from train import optimizer_variables as stateless_view
from train.hyperparameters import RANGES, checked

Schedule = Callable[[Any], Any]


class Optimizer(ABC):
    """Base class: hyperparameters in, an optax transformation out.

    Subclasses define `_core(learning_rate) -> GradientTransformation`.
    """

    default_learning_rate = 0.001

    def __init__(
        self,
        learning_rate: float | Schedule | None = None,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        weight_decay: float | None = None,
        gradient_accumulation_steps: int | None = None,
    ):
        self._followers: weakref.WeakSet[Any] = weakref.WeakSet()
        given = self.default_learning_rate if learning_rate is None else learning_rate
        self.learning_rate = given
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.weight_decay = weight_decay
        self.gradient_accumulation_steps = gradient_accumulation_steps

    def __setattr__(self, name: str, value: Any) -> None:
        if name in RANGES and name != "learning_rate":
            value = checked(type(self).__name__, name, value)
        object.__setattr__(self, name, value)

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    @property
    def learning_rate(self) -> float | Schedule:
        """The rate (or schedule); assigning a number mid-run changes the next
        step of every run that follows this optimizer."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, rate: float | Schedule) -> None:
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

    def transform(self) -> optax.GradientTransformation:
        """The optax transformation, with the learning rate in its state."""

        def build(learning_rate):
            parts = []
            if self.clipvalue is not None:
                parts.append(optax.clip(self.clipvalue))
            if self.clipnorm is not None:
                parts.append(_clip_each_by_norm(self.clipnorm))
            if self.global_clipnorm is not None:
                parts.append(optax.clip_by_global_norm(self.global_clipnorm))
            parts.append(self._core(learning_rate))
            if self.weight_decay:
                parts.append(
                    optax.add_decayed_weights(-learning_rate * self.weight_decay)
                )
            return optax.chain(*parts)

        tx = optax.inject_hyperparams(build)(learning_rate=self.learning_rate)
        if self.gradient_accumulation_steps and self.gradient_accumulation_steps > 1:
            tx = optax.MultiSteps(tx, self.gradient_accumulation_steps)
        return tx

    def __repr__(self) -> str:
        return f"<{type(self).__name__} learning_rate={self.learning_rate!r}>"


def _clip_each_by_norm(max_norm: float) -> optax.GradientTransformation:
    """Scales each gradient array whose L2 norm exceeds `max_norm` down to it."""

    def update(updates, state, params=None):
        del params

        def clip(g):
            norm = jnp.sqrt(jnp.sum(jnp.square(g)))
            return jnp.where(norm > max_norm, g * (max_norm / norm), g)

        return jax.tree.map(clip, updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Example:
      >>> tx = SGD(0.1, momentum=0.9).transform()
      >>> state = tx.init({"w": jnp.ones(2)})
      >>> updates, _ = tx.update({"w": jnp.ones(2)}, state)
      >>> updates["w"].tolist()
      [-0.10000000149011612, -0.10000000149011612]
    """

    default_learning_rate = 0.01

    def __init__(self, learning_rate=None, momentum: float = 0.0, nesterov=False, **kw):
        super().__init__(learning_rate, **kw)
        self.momentum, self.nesterov = momentum, nesterov

    def _core(self, learning_rate):
        return optax.sgd(learning_rate, self.momentum or None, self.nesterov)


class Adam(Optimizer):
    """Adam (Keras's defaults: betas 0.9 and 0.999, epsilon 1e-7).

    Example:
      >>> Adam(3e-4).learning_rate
      0.0003
    """

    def __init__(
        self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw
    ):
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _core(self, learning_rate):
        return optax.adam(learning_rate, self.beta_1, self.beta_2, self.epsilon)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004, as Keras).

    Example:
      >>> AdamW(weight_decay=0.01).weight_decay
      0.01
    """

    def __init__(self, learning_rate=None, weight_decay=0.004, **kw):
        super().__init__(learning_rate, weight_decay=weight_decay, **kw)


class RMSprop(Optimizer):
    """RMSprop (Keras's defaults: rho 0.9, epsilon 1e-7).

    Example:
      >>> RMSprop(momentum=0.9).momentum
      0.9
    """

    def __init__(self, learning_rate=None, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kw):  # fmt: skip
        super().__init__(learning_rate, **kw)
        self.rho, self.momentum, self.epsilon, self.centered = (
            rho,
            momentum,
            epsilon,
            centered,
        )

    def _core(self, learning_rate):
        return optax.rmsprop(
            learning_rate, self.rho, self.epsilon, centered=self.centered,
            momentum=self.momentum or None,
        )  # fmt: skip


class Adagrad(Optimizer):
    """Adagrad (Keras's defaults: initial accumulator 0.1, epsilon 1e-7).

    Example:
      >>> Adagrad(0.01).learning_rate
      0.01
    """

    def __init__(self, learning_rate=None, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kw):  # fmt: skip
        super().__init__(learning_rate, **kw)
        self.initial_accumulator_value, self.epsilon = (
            initial_accumulator_value,
            epsilon,
        )

    def _core(self, learning_rate):
        return optax.adagrad(
            learning_rate, self.initial_accumulator_value, self.epsilon
        )


class Lion(Optimizer):
    """Lion (Keras's defaults: betas 0.9 and 0.99).

    Example:
      >>> Lion(1e-4).learning_rate
      0.0001
    """

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.99, **kw):
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def _core(self, learning_rate):
        return optax.lion(learning_rate, self.beta_1, self.beta_2)


_CLASSES = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Lion)}
_NAMED = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier: str | Optimizer) -> Optimizer:
    """The optimizer a name (with default hyperparameters) or object stands for.

    Example:
      >>> get("adam")
      <Adam learning_rate=0.001>
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMED:
        return _NAMED[identifier.lower()]()
    raise ValueError(
        f"unknown optimizer {identifier!r}. Valid names: {', '.join(_NAMED)}; "
        "or pass an object such as train.optimizers.Adam(1e-3)."
    )


_WRAPPERS = ("inner_opt_state", "inner_state")  # optax.MultiSteps, loss scaling


def _hyperparams(opt_state: Any) -> dict[str, Any]:
    if hasattr(opt_state, "hyperparams"):
        return opt_state.hyperparams
    for field in _WRAPPERS:
        if hasattr(opt_state, field):
            return _hyperparams(getattr(opt_state, field))
    raise TypeError(
        f"no learning rate in an optimizer state of type {type(opt_state)}."
    )


def learning_rate_of(opt_state: Any) -> Any:
    """The learning rate held in an optimizer state made by `transform()`."""
    return _hyperparams(opt_state)["learning_rate"]


def with_learning_rate(opt_state: Any, value: float) -> Any:
    """A copy of `opt_state` whose learning rate is `value` (same dtype and shape)."""
    if not hasattr(opt_state, "hyperparams"):
        field = next(f for f in _WRAPPERS if hasattr(opt_state, f))
        inner = with_learning_rate(getattr(opt_state, field), value)
        return opt_state._replace(**{field: inner})
    hyper = dict(opt_state.hyperparams)
    hyper["learning_rate"] = jnp.asarray(value, hyper["learning_rate"].dtype)
    return opt_state._replace(hyperparams=hyper)


_COMMON = ("learning_rate", "clipnorm", "clipvalue", "global_clipnorm",
           "weight_decay", "gradient_accumulation_steps")  # fmt: skip
_OWN = {"SGD": ("momentum", "nesterov"), "Adam": ("beta_1", "beta_2", "epsilon"),
        "AdamW": ("beta_1", "beta_2", "epsilon"),
        "RMSprop": ("rho", "momentum", "epsilon", "centered"),
        "Adagrad": ("initial_accumulator_value", "epsilon"),
        "Lion": ("beta_1", "beta_2")}  # fmt: skip


def _plain(owner: str, key: str, value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    hint = (
        "a learning-rate schedule cannot be saved; set a float learning_rate first."
        if key == "learning_rate" and callable(value)
        else "pass plain numbers."
    )
    raise ValueError(f"{owner}: {key}={value!r:.80} is not a number. Hint: {hint}")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """`{"class_name", "config"}` for one of the six optimizers (data only).

    Raises:
      ValueError: another class, or a hyperparameter (e.g. a schedule) that is
        not a number, bool or None.

    Example:
      >>> spec = serialize(Adam(3e-4))
      >>> spec["class_name"], spec["config"]["learning_rate"]
      ('Adam', 0.0003)
      >>> deserialize(spec)
      <Adam learning_rate=0.0003>
    """
    name = type(optimizer).__name__
    if _CLASSES.get(name) is not type(optimizer):
        raise ValueError(
            f"cannot serialize an optimizer of type {type(optimizer).__qualname__}; "
            f"only {', '.join(_CLASSES)} from train.optimizers can be."
        )
    keys = _COMMON + _OWN[name]
    return {
        "class_name": name,
        "config": {k: _plain(name, k, getattr(optimizer, k)) for k in keys},
    }


def deserialize(spec: Any) -> Optimizer:
    """Rebuilds an optimizer from `serialize`'s output, accepting data only.

    Raises:
      ValueError: an unknown class, unknown hyperparameters, or values that
        are not numbers, bools or None.
    """
    if not isinstance(spec, dict) or set(spec) != {"class_name", "config"}:
        raise ValueError(f"optimizer: expected {{class_name, config}}: {spec!r:.200}")
    name, config = spec["class_name"], spec["config"]
    if not isinstance(name, str) or name not in _CLASSES:
        raise ValueError(
            f"optimizer: refusing class {name!r:.80}; valid: {', '.join(_CLASSES)}."
        )
    if not isinstance(config, dict) or not set(config) <= set(_COMMON + _OWN[name]):
        raise ValueError(f"optimizer {name}: invalid config {config!r:.200}.")
    for key, value in config.items():
        _plain(name, key, value)
    return _CLASSES[name](**config)
