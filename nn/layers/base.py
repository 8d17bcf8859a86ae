"""The Layer contract: configuration in the object, arrays in explicit variables.

A layer is a frozen dataclass of hyperparameters. Its two pure functions are

* `init(key, *inputs) -> variables`, where `variables` is
  `{"params": {...}, "state": {...}}` and each input is an array or a
  `jax.ShapeDtypeStruct` (only shapes and dtypes are read), and
* `apply(variables, *inputs, training=False, rng=None) -> (outputs, new_state)`.

Both are safe under `jax.jit`, `grad`, `vmap` and `lax.scan`. Calling a layer,
`layer(x)`, is sugar: on symbolic tensors it draws a functional model; inside
a model's `call` it runs `apply` against the model's variables (see
`nn.layer_scope`). Output shapes come from `jax.eval_shape`, never from
hand-written shape code.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any

import jax

from nn import activations, registry, regularizers, symbolic
from nn.layer_scope import LayerScope
from stateless import random
from stateless.scope import current_scope, flatten_paths

Variables = dict[str, Any]


def snake_case(name: str) -> str:
    """`"MultiHeadAttention"` -> `"multi_head_attention"`, `"Conv2D"` -> `"conv2d"`.

    Example:
      >>> snake_case("GlobalAveragePooling2D"), snake_case("LSTM")
      ('global_average_pooling2d', 'lstm')
    """
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def set_fields(layer: Any, **values: Any) -> None:
    """Normalizes fields of a frozen layer, from its `__post_init__`."""
    for name, value in values.items():
        object.__setattr__(layer, name, value)


def check_positive_int(layer: Any, **values: Any) -> None:
    """Raises a `ValueError` naming the layer and argument unless each is >= 1."""
    for arg, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"{type(layer).__name__}: {arg} must be a positive int, "
                f"received {value!r}."
            )


def _holds_arrays(tree: Any) -> bool:
    return any(hasattr(leaf, "shape") for leaf in jax.tree.leaves(tree))


def _to_config(value: Any) -> Any:
    if hasattr(value, "get_config"):
        return registry.serialize(value)
    if isinstance(value, tuple | list):
        return [_to_config(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(
        f"cannot put {type(value).__name__} {value!r:.80} in a config: only names, "
        "numbers, lists and registered objects can be saved."
    )


def _from_config(value: Any, custom_objects: dict[str, Any] | None) -> Any:
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        return registry.deserialize(value, custom_objects)
    if isinstance(value, list):
        return tuple(_from_config(v, custom_objects) for v in value)
    return value


@dataclass(frozen=True, eq=False)
class Layer(ABC):
    """Base class of every layer and model.

    Args:
      name: a readable name, unique within a model. By default the model
        names the layer after its class (`"dense"`, `"dense_1"`, ...).
    """

    name: str | None = field(default=None, kw_only=True)

    def __post_init__(self):
        """Resolves `*_regularizer` fields and checks `*activation` names.

        Subclasses with a `__post_init__` of their own call this one first.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_regularizer"):
                set_fields(self, **{f.name: regularizers.get(value)})
            elif f.name.endswith("activation"):
                activations.get(value)

    def init(self, key: jax.Array, *inputs: Any) -> Variables:
        """Creates the variables for inputs like these (none by default)."""
        del key, inputs
        return {"params": {}, "state": {}}

    @abstractmethod
    def apply(
        self,
        variables: Variables,
        *inputs: Any,
        training: bool = False,
        rng: Any = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Computes the outputs and the new state from explicit variables."""

    @property
    def default_name(self) -> str:
        """The name a model gives this layer when it has none of its own."""
        return self.name or snake_case(type(self).__name__)

    def output_spec(self, *inputs: Any, **kwargs: Any) -> Any:
        """Output shapes and dtypes (`jax.ShapeDtypeStruct`s) for inputs like these.

        Example:
          >>> from nn import layers
          >>> layers.Dense(4).output_spec(jax.ShapeDtypeStruct((2, 3), "float32"))
          ShapeDtypeStruct(shape=(2, 4), dtype=float32)
        """

        arrays = {k: v for k, v in kwargs.items() if _holds_arrays(v)}
        static = {k: v for k, v in kwargs.items() if k not in arrays}

        def run(key, xs, kw):
            variables = self.init(key, *xs)
            return self.apply(variables, *xs, rng=key, **static, **kw)[0]

        return jax.eval_shape(run, random.key(0), inputs, arrays)

    def param_regularizers(self) -> dict[str, Any]:
        """Which regularizer penalizes the parameters of which name.

        By default a field `<name>_regularizer` penalizes every parameter
        called `<name>`, at any depth of `params`.
        """
        return {
            f.name.removesuffix("_regularizer"): getattr(self, f.name)
            for f in fields(self)
            if f.name.endswith("_regularizer") and getattr(self, f.name) is not None
        }

    def penalty(self, params: dict[str, Any]) -> Any:
        """The sum of this layer's regularizer penalties on `params` (0.0 if none).

        Example:
          >>> from nn import layers
          >>> layer = layers.Dense(2, kernel_regularizer="l2", use_bias=False)
          >>> round(float(layer.penalty({"kernel": jnp.ones((3, 2))})), 6)
          0.06
        """
        by_name = self.param_regularizers()
        total = 0.0
        for path, value in flatten_paths(params).items():
            regularizer = by_name.get(path.rsplit("/", 1)[-1])
            if regularizer is not None:
                total = total + regularizer(value)
        return total

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-ready data."""
        return {f.name: _to_config(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Layer:
        """Rebuilds the layer from `get_config()`'s output."""
        return cls(**{k: _from_config(v, custom_objects) for k, v in config.items()})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if symbolic.is_symbolic(args):
            return symbolic.call_symbolic(self, args, kwargs)
        scope = current_scope()
        if isinstance(scope, LayerScope):
            return scope.call_layer(self, args, kwargs)
        raise TypeError(
            f"{type(self).__name__} {self.default_name!r} was called on arrays outside "
            "a model, but a layer holds no weights. Use the pure pair instead:\n"
            "    variables = layer.init(key, x)\n"
            "    y, state = layer.apply(variables, x)\n"
            "or call it on layers.Input(...) tensors, or inside a Model's call."
        )
