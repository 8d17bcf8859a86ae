"""Models of other JAX libraries as layers: plain functions (`JaxLayer`),
Flax linen modules (`FlaxLayer`) and Equinox modules (`EquinoxLayer`).

Their arrays become the layer's `params` (and Flax's other collections its
`state`), so they train under `fit` and save with the model's weights. Code
is never stored: a config names registered functions and module classes
(`nn.register`), as a `Lambda` does. This module imports neither Flax nor
Equinox; it reads their modules through their own `init`/`apply` and pytrees.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from nn import registry
from nn.layers.base import Layer
from nn.registry import register
from stateless import random


def _takes(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _call_by_name(fn: Callable[..., Any], **available: Any) -> Any:
    """`fn` called with those of `available` its signature names."""
    names = inspect.signature(fn).parameters
    return fn(**{k: v for k, v in available.items() if k in names})


def _concrete(tree: Any) -> Any:
    """Zeros in place of shape specs: other libraries' `init` runs the model."""
    return jax.tree.map(
        lambda t: (
            jnp.zeros(t.shape, t.dtype) if isinstance(t, jax.ShapeDtypeStruct) else t
        ),
        tree,
    )


@register()
@dataclass(frozen=True)
class JaxLayer(Layer):
    """A layer from a pure function, Keras's `JaxLayer`.

    `call_fn` names the arguments it wants among `params`, `state`, `rng`,
    `inputs` and `training`; it returns the outputs, or `(outputs,
    new_state)` when it takes `state`. `init_fn` names its own among `rng`,
    `inputs` and `training` and returns the params (a dict of arrays), or
    `(params, state)` when `call_fn` takes `state`.

    Args:
      call_fn: the forward function (registered, to be saved).
      init_fn: the function that makes the variables (registered), or None
        when `params` (and `state`) are given.
      params, state: initial variables instead of `init_fn` (not saved in a
        config: give an `init_fn` to save the layer).
      seed: the key's seed for `rng` where `apply` is given none.

    Example:
      >>> def call(params, inputs):
      ...     return inputs @ params["w"]
      >>> def init(rng, inputs):
      ...     return {"w": jax.random.normal(rng, (inputs.shape[-1], 2))}
      >>> layer = JaxLayer(call, init)
      >>> v = layer.init(sl.random.key(0), jnp.ones((3, 4)))
      >>> layer.apply(v, jnp.ones((3, 4)))[0].shape
      (3, 2)
    """

    call_fn: Callable[..., Any]
    init_fn: Callable[..., Any] | None = None
    params: Any = None
    state: Any = None
    seed: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if not _takes(self.call_fn, "inputs"):
            raise TypeError(
                "JaxLayer: call_fn must take an argument named 'inputs' (and any "
                "of params, state, rng, training)."
            )
        if self.init_fn is None and self.params is None:
            raise TypeError("JaxLayer: give init_fn, or params (and state).")

    @property
    def _stateful(self) -> bool:
        return _takes(self.call_fn, "state")

    def init(self, key, inputs, *, training=False):
        if self.params is not None:
            return {"params": self.params, "state": self.state or {}}
        made = _call_by_name(
            self.init_fn, rng=key if self.seed is None else random.key(self.seed),
            inputs=_concrete(inputs), training=training,
        )  # fmt: skip
        params, state = made if self._stateful else (made, {})
        return {"params": params, "state": state or {}}

    def apply(self, variables, inputs, *, training=False, rng=None):
        out = _call_by_name(
            self.call_fn, params=variables["params"], state=variables["state"],
            rng=rng if rng is not None else random.key(self.seed or 0),
            inputs=inputs, training=training,
        )  # fmt: skip
        if self._stateful:
            return out[0], out[1]
        return out, variables["state"]

    def get_config(self) -> dict[str, Any]:
        if self.init_fn is None:
            raise TypeError(
                f"JaxLayer {self.default_name!r}: a config cannot hold arrays; "
                "give a registered init_fn instead of params to save the layer."
            )
        return {
            "name": self.name,
            "call_fn": registry.function_name(self.call_fn, "JaxLayer"),
            "init_fn": registry.function_name(self.init_fn, "JaxLayer"),
            "seed": self.seed,
            **self._base_config(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> JaxLayer:
        named = {
            key: registry.lookup(config[key], custom_objects)
            for key in ("call_fn", "init_fn")
        }
        return cls(**{**config, **named})


@register()
@dataclass(frozen=True)
class FlaxLayer(Layer):
    """A Flax linen module as a layer, Keras's `FlaxLayer`.

    The module's `params` collection becomes the layer's params and its
    other collections (`batch_stats`...) the state, updated in training.
    The module's method gets `training=` if it names that argument, and
    `rngs={"dropout": rng}` in training.

    Args:
      module: a `flax.linen.Module` whose class is registered
        (`nn.register`), its fields plain data, to be saved.
      method: the name of the method to call, or None for `__call__`.

    Example:
      >>> import flax.linen as fnn
      >>> layer = FlaxLayer(fnn.Dense(3))
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> layer.apply(v, jnp.ones((2, 4)))[0].shape
      (2, 3)
    """

    module: Any
    method: str | None = None

    def _method(self) -> Any:
        return getattr(type(self.module), self.method or "__call__")

    def _kwargs(self, training: bool) -> dict[str, Any]:
        kwargs = {"method": self.method} if self.method else {}
        if _takes(self._method(), "training"):
            kwargs["training"] = training
        return kwargs

    def init(self, key, *inputs, training=False):
        k_params, k_dropout = random.split(key)
        rngs = {"params": k_params, "dropout": k_dropout}
        inputs = _concrete(inputs)
        made = dict(self.module.init(rngs, *inputs, **self._kwargs(training)))
        params = made.pop("params", {})
        return {"params": dict(params), "state": made}

    def apply(self, variables, *inputs, training=False, rng=None):
        state = variables["state"]
        rngs = {"dropout": rng} if training and rng is not None else {}
        mutable = list(state) if training and state else False
        out = self.module.apply(
            {"params": variables["params"], **state}, *inputs, rngs=rngs,
            mutable=mutable, **self._kwargs(training),
        )  # fmt: skip
        if mutable:
            out, updated = out
            return out, {**state, **dict(updated)}
        return out, state

    def get_config(self) -> dict[str, Any]:
        module = self.module
        spec = {
            "class_name": registry.function_name(type(module), "FlaxLayer"),
            "config": {
                f.name: getattr(module, f.name)
                for f in dataclasses.fields(module)
                if f.name not in ("parent", "name")
            },
        }
        return {"name": self.name, "module": spec, "method": self.method,
                **self._base_config()}  # fmt: skip

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> FlaxLayer:
        spec = config["module"]
        module = registry.lookup(spec["class_name"], custom_objects)(**spec["config"])
        return cls(**{**config, "module": module})


@register()
@dataclass(frozen=True)
class EquinoxLayer(Layer):
    """An Equinox module as a layer: its floating arrays are the params.

    Equinox modules hold their arrays already made, so `init` reads them
    (the key is not used). An Equinox module takes one example; with
    `vectorize=True` the layer maps it over the batch axis.

    Args:
      module: an `equinox.Module` (any pytree with a `__call__`); if its
        call takes `key`, training passes it `apply`'s rng.
      vectorize: whether to map the module over the inputs' first axis.

    To be saved, the layer is built by a registered function of JSON
    arguments, `EquinoxLayer.from_factory(make, **arguments)`: the config
    names the function and holds the arguments, the archive the weights.

    Example:
      >>> import equinox as eqx
      >>> layer = EquinoxLayer(eqx.nn.Linear(4, 3, key=jax.random.key(0)))
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> sorted(v["params"])
      ['bias', 'weight']
      >>> layer.apply(v, jnp.ones((2, 4)))[0].shape
      (2, 3)
    """

    module: Any
    vectorize: bool = True
    factory: Callable[..., Any] | None = None
    arguments: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_factory(
        cls, make: Callable[..., Any], vectorize: bool = True, **arguments: Any
    ) -> EquinoxLayer:
        """The layer around `make(**arguments)`, which a config can name."""
        return cls(make(**arguments), vectorize, make, arguments)

    def _arrays(self) -> tuple[list[str], list[int], Any, list[Any]]:
        paths, treedef = jax.tree_util.tree_flatten_with_path(self.module)
        leaves = [leaf for _, leaf in paths]
        at = [
            i for i, leaf in enumerate(leaves)
            if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.inexact)
        ]  # fmt: skip
        names = [jax.tree_util.keystr(paths[i][0]).lstrip(".") for i in at]
        return names, at, treedef, leaves

    def init(self, key, inputs, *, training=False):
        names, at, _, leaves = self._arrays()
        return {"params": {n: leaves[i] for n, i in zip(names, at)}, "state": {}}

    def apply(self, variables, inputs, *, training=False, rng=None):
        names, at, treedef, leaves = self._arrays()
        leaves = list(leaves)
        for name, i in zip(names, at):
            leaves[i] = variables["params"][name]
        module = jax.tree.unflatten(treedef, leaves)
        keyed = training and rng is not None and _takes(type(module).__call__, "key")

        def run(x, key):
            return module(x, key=key) if keyed else module(x)

        if not self.vectorize:
            return run(inputs, rng), variables["state"]
        keys = random.split(rng, inputs.shape[0]) if keyed else None
        return jax.vmap(run, in_axes=(0, 0 if keyed else None))(inputs, keys), (
            variables["state"]
        )

    def get_config(self) -> dict[str, Any]:
        if self.factory is None:
            raise TypeError(
                f"EquinoxLayer {self.default_name!r}: a config never holds code; "
                "build the layer with EquinoxLayer.from_factory(make, **arguments), "
                "make registered with nn.register, to save it (or save only the "
                "weights, model.save_weights)."
            )
        return {
            "name": self.name,
            "factory": registry.function_name(self.factory, "EquinoxLayer"),
            "arguments": self.arguments,
            "vectorize": self.vectorize,
            **self._base_config(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> EquinoxLayer:
        make, arguments = (
            registry.lookup(config["factory"], custom_objects),
            config["arguments"],
        )
        rest = {k: v for k, v in config.items() if k not in ("factory", "arguments")}
        return cls(make(**arguments), factory=make, arguments=arguments, **rest)
