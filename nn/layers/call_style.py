"""The pure pair of a layer written in the stateful style (Keras's way).

A layer that defines `call` instead of `apply` (every subclassed `nn.Model`,
and every Keras-style `layers.Layer` with `build` / `add_weight` / `call`)
gets `init` and `apply` from here:

* `init(key, *inputs)` builds the layer once for these input shapes (its
  `build(input_shape)` declares weights with `add_weight`), initializes each
  declared weight with `fold_in(key, i)`, then, when the layer has sub-layers,
  runs `call` once so that each sub-layer is initialized on its first call.
* `apply(variables, *inputs)` runs `call` inside a `LayerScope` over
  `variables`: weight handles and sub-layers read their slices from it, and
  assignments to non-trainable weights come back as the new state.

A layer's variables keep its own weights by name and each sub-layer's under
the sub-layer's name: `{"params": {"w": ..., "dense": {"kernel": ...}}, ...}`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import jax
import jax.numpy as jnp

from nn.layer_scope import LayerScope
from nn.models.naming import assign_names
from stateless import random
from stateless.added_losses import collect_losses, shapes_of
from stateless.variable import Variable


def sub_layers(layer: Any) -> dict[str, Any]:
    """The layers held as attributes (or in lists, tuples and dicts of them),
    by the names their variables are kept under."""
    from nn.layers.base import Layer

    found: list[Any] = []

    def visit(value: Any) -> None:
        if isinstance(value, Layer):
            found.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    for attr, value in vars(layer).items():
        if not attr.startswith("_") and attr not in ("variables", "input_specs"):
            visit(value)
    names = assign_names(found, type(layer).__name__)
    return {names[id(sub)]: sub for sub in found}


def own_weights(layer: Any) -> list[Variable]:
    """The weights `add_weight` declared on `layer`, in declaration order.

    A weight declared without a name takes the attribute it is kept in
    (`self.kernel = self.add_weight(...)` is `"kernel"`), else `"variable"`,
    `"variable_1"`... A `SeedGenerator` kept as an attribute is one too: its
    key, in the state collection under the attribute's name.
    """
    declared: list[Variable] = vars(layer).setdefault("_declared_weights", [])
    for attr, value in list(vars(layer).items()):
        if isinstance(value, random.SeedGenerator) and value.variable is None:
            value.variable = _generator_state(value, attr, layer)
            declared.append(value.variable)
    for attr, value in vars(layer).items():
        if isinstance(value, Variable) and value.owner is layer and value.name is None:
            value.name = attr
    taken = {w.name for w in declared if w.name is not None}
    for weight in declared:
        if weight.name is None:
            weight.name = _free_name("variable", taken)
            taken.add(weight.name)
    return declared


def _generator_state(generator: Any, name: str, layer: Any) -> Variable:
    """A kept `SeedGenerator`'s key, as a non-trainable weight of the layer."""

    def initial(key, shape, dtype):
        del key, shape, dtype  # the generator's own seed fixes its first key
        return random.key(generator.seed)

    state = Variable((2,), "uint32", initial, trainable=False, name=name, owner=layer)
    state.seed_state = True  # not a weight to Keras: left out of `weights`
    return state


def _free_name(base: str, taken: set[str]) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def spec_of(x: Any) -> Any:
    """An array's `ShapeDtypeStruct` (anything else as it is)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return jax.ShapeDtypeStruct(tuple(x.shape), x.dtype)
    return x


def _zeros(x: Any) -> Any:
    if isinstance(x, jax.ShapeDtypeStruct):
        return jnp.zeros(x.shape, x.dtype)
    return x


def _build_shape(inputs: tuple[Any, ...]) -> Any:
    """What `build` receives: the first input's shape (a structure of shapes
    when the first input is a list, tuple or dict of arrays)."""
    first = inputs[0] if inputs else None
    return jax.tree.map(
        lambda x: tuple(x.shape), first, is_leaf=lambda x: hasattr(x, "shape")
    )


def build_once(layer: Any, inputs: tuple[Any, ...]) -> None:
    """Runs the layer's own `build` for these inputs, unless it has run."""
    if getattr(type(layer).build, "declares_weights", False) and not layer.built:
        layer.build(_build_shape(inputs))


def _scope(layer: Any, values: Any, training: bool, rng: Any, initialize=None):
    names = {id(sub): name for name, sub in sub_layers(layer).items()}
    return LayerScope(
        values, names, training=training, rng=rng, initialize=initialize, owner=layer
    )


def init_by_calling(layer: Any, key: jax.Array, inputs: tuple, kwargs: dict) -> Any:
    """`init` for a layer that defines `call` (see the module docstring)."""
    specs = jax.tree.map(spec_of, inputs)
    kwargs = jax.tree.map(_zeros, kwargs)  # e.g. a mask's spec: values for call
    build_once(layer, specs)
    weights = own_weights(layer)
    values = {
        f"{w.collection}/{w.name}": _initial(w, random.fold_in(key, i))
        for i, w in enumerate(weights)
    }
    subs = sub_layers(layer)
    clash = sorted({w.name for w in weights} & set(subs))
    if clash:
        raise ValueError(
            f"{type(layer).__name__}: {clash} names both a weight and a sub-layer. "
            "Hint: give the weight another name in add_weight(name=...)."
        )
    scope = _scope(layer, values, False, key)
    if subs:
        index = {id(sub): len(weights) + i for i, sub in enumerate(subs.values())}

        def initialize(name, sub, *args, **kw):
            del name, kw
            return sub.init(
                random.fold_in(key, index[id(sub)]), *jax.tree.map(spec_of, args)
            )

        scope.initialize = initialize
        with collect_losses():  # initializing adds nothing to a loss
            run_call(layer, scope, jax.tree.map(_zeros, specs), False, kwargs)
    else:  # nothing to initialize: trace call once, to report its errors now

        def trace(xs):  # in a scope of its own: its updates are thrown away
            return run_call(layer, _scope(layer, values, False, key), xs, False, kwargs)

        shapes_of(trace, specs)
    return {"params": scope.read_tree("params"), "state": scope.read_tree("state")}


def _initial(weight: Variable, key: jax.Array) -> Any:
    value = weight.initializer(key, weight.shape, weight.dtype)
    if tuple(value.shape) != weight.shape:
        raise ValueError(
            f"{type(weight.owner).__name__}: the initializer of weight "
            f"{weight.name!r} returned shape {tuple(value.shape)}, expected "
            f"{weight.shape}."
        )
    return jnp.asarray(value, weight.dtype)


def apply_by_calling(
    layer: Any,
    variables: Any,
    inputs: tuple,
    training: bool,
    rng: Any,
    kwargs: dict,
) -> tuple[Any, dict[str, Any]]:
    """`apply` for a layer that defines `call`: `(outputs, new_state)`. A
    layer not built yet (rebuilt from its config) builds for these inputs."""
    build_once(layer, jax.tree.map(spec_of, inputs))
    scope = _scope(layer, variables, training, rng)
    outputs = run_call(layer, scope, inputs, training, kwargs)
    return outputs, scope.read_tree("state")


def run_call(
    layer: Any, scope: LayerScope, inputs: tuple, training: bool, kwargs: dict
) -> Any:
    """`layer.call(*inputs, ...)` inside `scope`, passing `training` (and a
    `mask` of None) only where `call` takes them."""
    accepts = _call_arguments(type(layer))
    kwargs = dict(kwargs)
    if "mask" in kwargs and kwargs["mask"] is None and "mask" not in accepts:
        del kwargs["mask"]
    if "training" in accepts:
        kwargs["training"] = training
    with scope:
        return layer.call(*inputs, **kwargs)


def penalty(layer: Any, params: dict[str, Any]) -> Any:
    """The regularizers of the layer's own weights on their values, plus each
    sub-layer's penalty on its slice."""
    total = 0.0
    for weight in own_weights(layer):
        if weight.regularizer is not None and weight.trainable:
            total = total + weight.regularizer(params[weight.name])
    for name, sub in children_by_name(layer).items():
        total = total + sub.penalty(params.get(name, {}))
    return total


def children_by_name(layer: Any) -> dict[str, Any]:
    """A model's layers (`layers_by_name`), a Keras-style layer's sub-layers,
    or none for a layer written the pure way."""
    if hasattr(layer, "layers_by_name"):
        return layer.layers_by_name()
    return sub_layers(layer) if hasattr(type(layer), "call") else {}


def has_constraints(layer: Any) -> bool:
    """Whether a weight of the layer, or of a sub-layer, has a constraint."""
    return any(w.constraint is not None for w in own_weights(layer)) or any(
        sub.has_constraints() for sub in children_by_name(layer).values()
    )


def constrain(layer: Any, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the constraints of the layer's trainable weights and of
    its sub-layers applied."""
    params = dict(params)
    for weight in own_weights(layer):
        if weight.constraint is not None and weight.trainable:
            params[weight.name] = weight.constraint(params[weight.name])
    for name, sub in children_by_name(layer).items():
        if name in params:
            params[name] = sub.constrain(params[name])
    return params


@functools.cache
def _call_arguments(cls: type) -> frozenset[str]:
    parameters = inspect.signature(cls.call).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is not p.VAR_KEYWORD)
