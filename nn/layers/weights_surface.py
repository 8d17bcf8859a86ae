"""Keras's view of a layer's weights over the one place its arrays live.

A model that holds `variables` is the home of every array in it. A sub-layer
knows its parent (set whenever the parent lists its children), so its
`weights`, `get_weights()` and `set_weights()` read and replace its slice of
the nearest holder's variables; nothing keeps a copy that could go stale.
A model whose input shapes are known (an `Input`, `input_shape=`, `build`)
builds itself the first time its weights are asked for.

The order is Keras's: each layer's own trainable weights, then its own
non-trainable ones, then each sub-layer's in turn, so `get_weights()` lists
copy between a Keras model and ours of the same architecture.

`trainable = False` on a layer or a model freezes it and everything in it:
its parameters are listed under `non_trainable_weights`, the optimizer of a
model compiled afterwards leaves them still (`trainable_mask`), and
BatchNormalization runs in inference mode, as in Keras.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from stateless import random
from stateless.scope import flatten_paths, unflatten_paths
from stateless.variable import Variable

# Keras's order of a built-in layer's weights, by key (nested keys too).
_RANK = {
    "query": 0, "key": 1, "gate": 2, "value": 3, "attention_output": 4, "output": 4,
    "kernel": 0, "depthwise_kernel": 0, "embeddings": 0, "gamma": 0,
    "pointwise_kernel": 1, "recurrent_kernel": 1, "beta": 1,
    "bias": 2, "moving_mean": 3, "moving_variance": 4,
    "forward_layer": 0, "backward_layer": 1,
}  # fmt: skip


def children(layer: Any) -> dict[str, Any]:
    """The layer's sub-layers by name; each learns that `layer` is its parent."""
    from nn.layers import call_style

    subs = call_style.children_by_name(layer)
    for name, sub in subs.items():
        previous = vars(sub).get("_parent")
        if sub.variables is not None:  # it held its own: the new holder adopts them
            object.__setattr__(sub, "_adopt_from", (sub, ""))
        elif previous is not None and previous[0] is not layer:
            object.__setattr__(sub, "_adopt_from", (previous[0], f"{previous[1]}/"))
        object.__setattr__(sub, "_parent", (layer, name))
    return subs


def adopt(layer: Any, variables: Any) -> Any:
    """`variables`, newly made for `layer`, with each sub-layer's values taken
    from where they lived before it joined `layer` (a trained base put into
    a new model keeps its training, as in Keras). A sub-layer that held its
    own variables gives them up: from now on it reads them in `layer`'s."""
    flat = {part: flatten_paths(variables[part]) for part in ("params", "state")}

    def visit(current: Any, prefix: str) -> None:
        for name, sub in children(current).items():
            source = vars(sub).pop("_adopt_from", None)
            found = None if source is None else home(source[0], build=False)
            if found is None:
                visit(sub, f"{prefix}{name}/")
                continue
            holder, old_prefix = found[0], found[1] + source[1]
            for part in ("params", "state"):
                for path, value in flatten_paths(holder.variables[part]).items():
                    new = f"{prefix}{name}/{path[len(old_prefix) :]}"
                    if path.startswith(old_prefix) and new in flat[part]:
                        if tuple(flat[part][new].shape) == tuple(value.shape):
                            flat[part][new] = value
            if source[0] is sub:
                object.__setattr__(sub, "variables", None)

    visit(layer, "")
    return {part: unflatten_paths(flat[part]) for part in ("params", "state")}


def home(layer: Any, build: bool = True) -> tuple[Any, str] | None:
    """`(holder, path prefix)` of the variables `layer`'s arrays live in,
    building the outermost model when its input shapes are known (unless
    `build` is False)."""
    if layer.variables is not None:
        return layer, ""
    parent = vars(layer).get("_parent")
    if parent is not None:
        found = home(parent[0], build)
        return None if found is None else (found[0], f"{found[1]}{parent[1]}/")
    specs = getattr(layer, "input_specs", None)
    if specs is None or not build:
        return None
    layer.variables = layer.init(random.next_key(), *specs)  # a model: it adopts
    return layer, ""


def read(layer: Any, weight: Variable) -> Any:
    """A weight's current value, from the variables it lives in."""
    holder, prefix = _home_or_raise(layer, weight.name)
    return flatten_paths(holder.variables[weight.collection])[prefix + weight.name]


def assign(layer: Any, weight: Variable, value: Any) -> None:
    """Replaces a weight's value where it lives."""
    holder, prefix = _home_or_raise(layer, weight.name)
    flat = flatten_paths(holder.variables[weight.collection])
    flat[prefix + weight.name] = jax.numpy.asarray(value, weight.dtype)
    replaced = {**holder.variables, weight.collection: unflatten_paths(flat)}
    object.__setattr__(holder, "variables", replaced)


def _home_or_raise(layer: Any, name: str | None) -> tuple[Any, str]:
    found = home(layer)
    if found is None:
        raise ValueError(
            f"{type(layer).__name__} {layer.default_name!r} is not built, so weight "
            f"{name!r} has no value yet. Hint: call it (or its model) on an array "
            "first, model.build(input_shape), or start the model with layers.Input."
        )
    return found


def _sorted_paths(paths: list[str]) -> list[str]:
    return sorted(
        paths, key=lambda p: [(_RANK.get(part, 9), part) for part in p.split("/")]
    )


def own_handles(layer: Any) -> list[Variable]:
    """The layer's own weights as handles: trainable first, Keras's order."""
    from nn.layers import call_style

    if hasattr(type(layer), "call"):
        declared = [
            w for w in call_style.own_weights(layer) if not hasattr(w, "seed_state")
        ]
        return [w for w in declared if w.trainable] + [
            w for w in declared if not w.trainable
        ]
    found = home(layer)
    if found is None:
        return []
    holder, prefix = found
    handles = []
    for collection in ("params", "state"):
        flat = flatten_paths(holder.variables[collection])
        mine = [p[len(prefix) :] for p in flat if p.startswith(prefix)]
        for path in _sorted_paths(mine):
            value = flat[prefix + path]
            handles.append(
                Variable(
                    value.shape,
                    str(value.dtype),
                    None,
                    trainable=collection == "params",
                    name=path,
                    owner=layer,
                )  # fmt: skip
            )
    return handles


def listed(layer: Any) -> list[tuple[Variable, bool]]:
    """Every weight of `layer` and its sub-layers in Keras's order, each with
    whether it trains (a trainable weight of a frozen layer does not)."""
    out: list[tuple[Variable, bool]] = []
    seen: set[int] = set()

    def visit(current: Any, frozen: bool, prefix: str) -> None:
        if id(current) in seen:
            return
        seen.add(id(current))
        frozen = frozen or not current.trainable
        for weight in own_handles(current):
            weight.path = prefix + weight.name
            out.append((weight, weight.trainable and not frozen))
        for name, sub in children(current).items():
            visit(sub, frozen, f"{prefix}{name}/")

    home(layer)  # build a model that can build itself, before listing
    visit(layer, False, "")
    return out


def set_weights(layer: Any, arrays: list[Any]) -> None:
    """Replaces every weight, in the order of `weights`."""
    weights = [w for w, _ in listed(layer)]
    if len(arrays) != len(weights):
        raise ValueError(
            f"{type(layer).__name__}.set_weights: expected {len(weights)} arrays "
            f"({', '.join(w.path for w in weights[:8])}...), received {len(arrays)}."
        )
    for weight, array in zip(weights, arrays):
        if tuple(np.shape(array)) != weight.shape:
            raise ValueError(
                f"{type(layer).__name__}.set_weights: weight {weight.path!r} has shape "
                f"{weight.shape}, received an array of shape {tuple(np.shape(array))}."
            )
    for weight, array in zip(weights, arrays):
        weight.assign(array)


def frozen_prefixes(layer: Any, prefix: str = "") -> list[str]:
    """The variable paths (`"dense_1/"`, or `""` for all) under frozen layers."""
    if not layer.trainable:
        return [prefix]
    return [
        p
        for name, sub in children(layer).items()
        for p in frozen_prefixes(sub, f"{prefix}{name}/")
    ]


def trainable_mask(prefixes: list[str]) -> Any:
    """`params -> pytree of bools`, False under any of `prefixes`."""

    def mask(params: Any) -> Any:
        def keep(path: Any, _: Any) -> bool:
            name = "/".join(str(getattr(k, "key", k)) for k in path) + "/"
            return not any(name.startswith(p) for p in prefixes)

        return jax.tree_util.tree_map_with_path(keep, params)

    return mask
