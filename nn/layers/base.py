"""The Layer contract: configuration in the object, arrays in explicit variables.

A layer is written one of two ways. The pure way: a frozen dataclass of
hyperparameters with its own `init` and `apply`. Keras's way: a subclass with
`__init__` (calling `super().__init__(**kwargs)`), `build(input_shape)` that
declares weights with `self.add_weight(...)`, and `call(inputs)`; it gets its
`init` and `apply` from `nn.layers.call_style`. Either way its two pure
functions are

* `init(key, *inputs) -> variables`, where `variables` is
  `{"params": {...}, "state": {...}}` and each input is an array or a
  `jax.ShapeDtypeStruct` (only shapes and dtypes are read), and
* `apply(variables, *inputs, training=False, rng=None) -> (outputs, new_state)`.

Both are safe under `jax.jit`, `grad`, `vmap` and `lax.scan`. Calling a layer,
`layer(x)`, is sugar: on symbolic tensors it draws a functional model; inside
a model's `call` it runs `apply` against the model's variables (see
`nn.layer_scope`); on arrays, outside any model, it builds the layer and
holds its variables (see `nn.layers.held`). Output shapes come from
`jax.eval_shape`, never from hand-written shape code.
"""

from __future__ import annotations

import functools
import inspect
import re
from abc import ABCMeta
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import jax

from nn import activations, constraints, registry, regularizers, symbolic
from nn.layer_scope import LayerScope
from nn.layers import call_style, held, layer_call
from nn.layers.keras_surface import KerasSurface, recording_build
from stateless import random
from stateless.added_losses import shapes_of
from stateless.mixed_precision import Policy
from stateless.scope import current_scope, flatten_paths, unflatten_paths

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
    hint = (
        " Pass a function by its name (see nn.activations), or register a class "
        "of your own (nn.registry.register) and pass an instance of it."
        if callable(value)
        else ""
    )
    raise TypeError(
        f"cannot put {type(value).__name__} {value!r:.80} in a config: only names, "
        f"numbers, lists and registered objects can be saved.{hint}"
    )


def _from_config(value: Any, custom_objects: dict[str, Any] | None) -> Any:
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        return registry.deserialize(value, custom_objects)
    if isinstance(value, list):
        return tuple(_from_config(v, custom_objects) for v in value)
    return value


_INPUT_SHAPE_ARGS = ("input_shape", "batch_input_shape", "input_dim", "batch_size")
# Keras's keywords of every layer; `nn.layers.layer_call` gives them effect.
BASE_KEYWORDS = ("trainable", "dtype", "activity_regularizer", "autocast")


def dtype_policy(dtype: Any) -> Policy | None:
    """The policy a layer's `dtype=` names: None (follow the model), a dtype
    (`"float32"`) or a policy name (`"mixed_bfloat16"`), or a `Policy`."""
    if dtype is None or isinstance(dtype, Policy):
        return dtype
    name = getattr(dtype, "name", dtype)  # a NumPy or JAX dtype
    return Policy(str(name))


def set_base_keywords(layer: Any, given: dict[str, Any]) -> None:
    """Keeps the base keywords given to a layer's constructor."""
    if "trainable" in given:
        object.__setattr__(layer, "_trainable", bool(given["trainable"]))
    if "dtype" in given:
        object.__setattr__(layer, "_dtype_policy", dtype_policy(given["dtype"]))
    if "activity_regularizer" in given:
        regularizer = regularizers.get(given["activity_regularizer"])
        object.__setattr__(layer, "activity_regularizer", regularizer)
    if "autocast" in given:
        object.__setattr__(layer, "autocast", bool(given["autocast"]))


@functools.cache
def _init_takes(cls: type, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


class LayerMeta(ABCMeta):
    """Makes every layer take Keras's `input_shape=` (and `batch_input_shape=`,
    `input_dim=`): the first layer of a `Sequential` reads it as its input;
    and Keras's base keywords (`BASE_KEYWORDS`), kept outside the config
    fields so that a config lists them only where they are set."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.apply is Layer.apply and not hasattr(cls, "call"):
            raise TypeError(
                f"{cls.__name__} defines neither call nor apply. Write "
                "call(self, inputs) (with build(self, input_shape) and "
                "self.add_weight for its weights), or the pure pair "
                "init(self, key, *inputs) and apply(self, variables, *inputs, "
                "training=False, rng=None)."
            )
        _let_trainable_be_set(cls)
        given = {
            k: kwargs.pop(k)
            for k in (*_INPUT_SHAPE_ARGS, *BASE_KEYWORDS)
            if k in kwargs and not _init_takes(cls, k)
        }
        layer = super().__call__(*args, **kwargs)
        set_base_keywords(layer, {k: given.pop(k) for k in BASE_KEYWORDS if k in given})
        shape = _declared_input_shape(cls, given)
        if shape is not None:
            object.__setattr__(layer, "declared_input_shape", shape)
        return layer


def _let_trainable_be_set(cls: type) -> None:
    """A frozen dataclass refuses every assignment, but Keras's
    `layer.trainable = False` must work: each such class's `__setattr__` is
    wrapped once to let `trainable` through (to `KerasSurface.trainable`)."""
    for klass in cls.__mro__:
        refuse = klass.__dict__.get("__setattr__")
        params = klass.__dict__.get("__dataclass_params__")
        if refuse is None or params is None or not params.frozen:
            continue
        if getattr(refuse, "lets_trainable", False):
            continue

        def setattr_(self, name, value, refuse=refuse):
            if name == "trainable":
                object.__setattr__(self, name, value)
            else:
                refuse(self, name, value)

        setattr_.lets_trainable = True
        type.__setattr__(klass, "__setattr__", setattr_)


def _declared_input_shape(cls: type, given: dict[str, Any]) -> tuple | None:
    """The batch shape `input_shape=` and friends declare, or None."""
    if given.get("batch_input_shape") is not None:
        return tuple(given["batch_input_shape"])
    if given.get("input_shape") is not None:
        return (given.get("batch_size"), *given["input_shape"])
    if given.get("input_dim") is not None:
        return (given.get("batch_size"), given["input_dim"])
    if given:
        raise TypeError(
            f"{cls.__name__}: batch_size= needs input_shape= (or use "
            "layers.Input(shape, batch_size=...))."
        )
    return None


@dataclass(frozen=True, eq=False)
class Layer(KerasSurface, metaclass=LayerMeta):
    """Base class of every layer and model.

    Subclass it as a frozen dataclass with `init` and `apply`, or Keras's way
    with `__init__`, `build` and `call`.

    Args:
      name: a readable name, unique within a model. By default the model
        names the layer after its class (`"dense"`, `"dense_1"`, ...).
      trainable: whether its weights train (every layer takes it).
      dtype: a dtype or dtype policy name for this layer alone (every layer
        takes it): `"float32"` keeps it in float32 under a mixed policy; the
        default None follows the model's policy.
      activity_regularizer: a regularizer of the layer's outputs; its
        penalty over the batch joins the loss (every layer takes it).
      autocast: whether a layer with a dtype casts its float inputs to it.

    Example:
      >>> import stateless as sl
      >>> from stateless import ops
      >>> class Linear(Layer):
      ...     def __init__(self, units=4, **kwargs):
      ...         super().__init__(**kwargs)
      ...         self.units = units
      ...     def build(self, input_shape):
      ...         self.w = self.add_weight(shape=(input_shape[-1], self.units))
      ...         self.b = self.add_weight(shape=(self.units,), initializer="zeros")
      ...     def call(self, inputs):
      ...         return ops.matmul(inputs, self.w) + self.b
      >>> layer = Linear(2)
      >>> variables = layer.init(sl.random.key(0), jnp.ones((3, 5)))
      >>> jax.tree.map(jnp.shape, variables["params"])
      {'b': (2,), 'w': (5, 2)}
      >>> layer.apply(variables, jnp.ones((3, 5)))[0].shape
      (3, 2)
    """

    name: str | None = field(default=None, kw_only=True)

    # Keras's per-layer keywords, set by LayerMeta (see BASE_KEYWORDS)
    activity_regularizer = None
    autocast = True
    _dtype_policy = None
    # Which parameter a `<prefix>_regularizer`/`<prefix>_constraint` field
    # names, where the prefix is not the parameter's own name.
    weight_aliases: ClassVar[dict[str, str]] = {}

    supports_masking = False  # whether a mask passes through (nn.layers.masking)
    built = False  # whether a Keras-style build has run
    declared_input_shape = None  # a batch shape, from `input_shape=` and friends
    variables = None  # held by `build` or a first call on arrays

    def __init__(
        self,
        *,
        name: str | None = None,
        dtype: Any = None,
        trainable: bool = True,
        activity_regularizer: Any = None,
        autocast: bool = True,
        **kwargs: Any,
    ):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword arguments "
                f"{sorted(kwargs)}; Layer.__init__ takes name, dtype, trainable, "
                "activity_regularizer, autocast (and input_shape, "
                "batch_input_shape, input_dim, batch_size)."
            )
        object.__setattr__(self, "name", name)
        set_base_keywords(
            self,
            {
                "trainable": trainable,
                "dtype": dtype,
                "activity_regularizer": activity_regularizer,
                "autocast": autocast,
            },
        )

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "holds_variables", False):
            cls.build = recording_build(build)
        for method, wrap in (
            ("init", layer_call.wrap_init),
            ("apply", layer_call.wrap_apply),
        ):
            defined = cls.__dict__.get(method)
            if callable(defined) and not getattr(defined, "wraps_layer_call", False):
                setattr(cls, method, wrap(defined))

    def __post_init__(self):
        """Resolves `*_regularizer` and `*_constraint` fields, and keeps an
        `*activation` given as one of `nn.activations`' functions by name.

        Subclasses with a `__post_init__` of their own call this one first.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_regularizer"):
                set_fields(self, **{f.name: regularizers.get(value)})
            elif f.name.endswith("_constraint"):
                set_fields(self, **{f.name: constraints.get(value)})
            elif f.name.endswith("activation"):
                activations.get(value)  # a known name or a function
                set_fields(self, **{f.name: activations.name_of(value)})

    @layer_call.wrap_init
    def init(self, key: jax.Array, *inputs: Any, **kwargs: Any) -> Variables:
        """Creates the variables for inputs like these.

        A layer with `call` builds itself and initializes its weights and
        sub-layers (see `nn.layers.call_style`); other layers have none
        unless they define `init`.
        """
        if hasattr(type(self), "call"):
            return call_style.init_by_calling(self, key, inputs, kwargs)
        return {"params": {}, "state": {}}

    @layer_call.wrap_apply
    def apply(
        self,
        variables: Variables,
        *inputs: Any,
        training: bool = False,
        rng: Any = None,
        **kwargs: Any,
    ) -> tuple[Any, dict[str, Any]]:
        """Computes the outputs and the new state from explicit variables,
        by running `call` in a scope over them (for a layer with `call`)."""
        return call_style.apply_by_calling(
            self, variables, inputs, training, rng, kwargs
        )

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

        # a Keras-style layer's init traces its call: the masks go there too
        masks = [k for k in arrays if k.endswith("mask")]
        masks = masks if hasattr(type(self), "call") else []

        def run(key, xs, kw):
            given = {k: kw[k] for k in masks}
            variables = self.init(key, *xs, **given)
            return self.apply(variables, *xs, rng=key, **static, **kw)[0]

        return shapes_of(run, random.key(0), inputs, arrays)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The outputs' mask: the input's `mask` where the layer
        `supports_masking`, else None (see `nn.layers.masking`)."""
        return mask if self.supports_masking else None

    def param_regularizers(self) -> dict[str, Any]:
        """Which regularizer penalizes the parameters of which name.

        By default a field `<name>_regularizer` penalizes every parameter
        called `<name>`, at any depth of `params`.
        """
        return self._by_weight("_regularizer")

    def _by_weight(self, suffix: str) -> dict[str, Any]:
        """`{parameter name: value}` of the set fields named `<prefix><suffix>`."""
        found = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(suffix) and value is not None:
                prefix = f.name.removesuffix(suffix)
                found[self.weight_aliases.get(prefix, prefix)] = value
        return found

    def penalty(self, params: dict[str, Any]) -> Any:
        """The sum of this layer's regularizer penalties on `params` (0.0 if none).

        A layer with `call` sums its weights' regularizers and its
        sub-layers' penalties.

        Example:
          >>> from nn import layers
          >>> layer = layers.Dense(2, kernel_regularizer="l2", use_bias=False)
          >>> round(float(layer.penalty({"kernel": jnp.ones((3, 2))})), 6)
          0.06
        """
        if hasattr(type(self), "call"):
            return call_style.penalty(self, params)
        by_name = self.param_regularizers()
        total = 0.0
        for path, value in flatten_paths(params).items():
            regularizer = by_name.get(path.rsplit("/", 1)[-1])
            if regularizer is not None:
                total = total + regularizer(value)
        return total

    def param_constraints(self) -> dict[str, Any]:
        """Which constraint projects the parameters of which name: a field
        `<name>_constraint` constrains every parameter called `<name>`."""
        return self._by_weight("_constraint")

    def has_constraints(self) -> bool:
        """Whether any weight here or in a sub-layer has a constraint."""
        if hasattr(type(self), "call"):
            return call_style.has_constraints(self)
        return bool(self.param_constraints())

    def constrain(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with every weight constraint applied (what `fit` does after
        each update; see `nn.constraints`).

        Example:
          >>> from nn import layers
          >>> class Positive(layers.Layer):
          ...     def build(self, input_shape):
          ...         self.w = self.add_weight(shape=(2,), constraint="non_neg")
          ...     def call(self, x):
          ...         return x * self.w
          >>> layer = Positive()
          >>> _ = layer.init(sl.random.key(0), jnp.ones((1, 2)))  # builds it
          >>> w = layer.constrain({"w": jnp.array([-1.0, 2.0])})["w"]
          >>> bool((w >= 0).all()), float(w[1])
          (True, 2.0)
        """
        if hasattr(type(self), "call"):
            return call_style.constrain(self, params)
        by_name = self.param_constraints()
        flat = flatten_paths(params)
        for path, value in flat.items():
            constraint = by_name.get(path.rsplit("/", 1)[-1])
            if constraint is not None:
                flat[path] = constraint(value)
        return unflatten_paths(flat)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-ready data.

        A Keras-style layer returns `name`, `dtype` and `trainable`; its
        `get_config` adds its own arguments to these.
        """
        if "__dataclass_params__" not in type(self).__dict__:
            policy = self.dtype_policy
            return {
                "name": self.name,
                "dtype": policy and policy.name,
                "trainable": self.trainable,
                **self._base_config(),
            }
        config = {f.name: _to_config(getattr(self, f.name)) for f in fields(self)}
        return {**config, **self._base_config()}

    def _base_config(self) -> dict[str, Any]:
        """The base keywords set to other than their defaults."""
        config = {}
        if not self.trainable:
            config["trainable"] = False
        if self.dtype_policy is not None:
            config["dtype"] = self.dtype_policy.name
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _to_config(self.activity_regularizer)
        if self.autocast != type(self).autocast:
            config["autocast"] = self.autocast
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Layer:
        """Rebuilds the layer from `get_config()`'s output."""
        return cls(**{k: _from_config(v, custom_objects) for k, v in config.items()})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if symbolic.is_symbolic((args, kwargs)):
            return symbolic.call_symbolic(self, args, kwargs)
        scope = current_scope()
        if isinstance(scope, LayerScope):
            return scope.call_layer(self, args, kwargs)
        return held.call(self, args, kwargs)
