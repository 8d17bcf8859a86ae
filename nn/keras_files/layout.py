"""Where Keras's HDF5 file keeps each of a model's variables.

Keras names a model's layers in the file by class, not by layer name: the
layers of `model.layers` become `layers/<class in snake case>`, suffixed
`_1`, `_2`... per class in list order (`layers/dense`, `layers/dense_1`);
a subclassed model's layers held in attributes are saved first under the
attribute's name when it sorts before `layers`. Inside a layer's group,
`vars/0, 1, ...` are its own variables in creation order, trainable first,
and sub-layers are groups named by attribute (`cell`, `forward_layer`,
`query_dense`). Here a layer's variables are the `params` and `state`
entries of its name in the creation order of `init`; a Keras sub-group
pairs with our entry of the same name (`query_dense` with `query`), and one
we keep flat (an RNN's `cell`) lends its variables to the layer itself.

Example:
  >>> snake_case("BatchNormalization"), snake_case("Conv2D"), snake_case("LSTM")
  ('batch_normalization', 'conv2d', 'lstm')
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jax.numpy as jnp
import numpy as np

from nn.keras_files.h5_weights import Dataset, H5Tree, KerasFileError

# Keras's sub-layer attribute names that ours spell otherwise.
SUB_LAYER_NAMES = {"output_dense": "attention_output"}


def snake_case(name: str) -> str:
    """A class name as Keras names its group: words split at capitals."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    words = re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
    return words if not words.startswith("_") else "private" + words


def _list_names(layers: list[Any], visited: set[int]) -> list[tuple[Any, str]]:
    """`(layer, group name)` of a list of layers not saved before, named as
    Keras names a list's items (counting the ones saved before too)."""
    used: dict[str, int] = {}
    named = []
    for layer in layers:
        name = snake_case(type(layer).__name__)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        if id(layer) not in visited:
            visited.add(id(layer))
            named.append((layer, name))
    return named


def layer_groups(model: Any) -> list[tuple[Any, str]]:
    """`(layer, path of its group in the file)` for each of the model's layers."""
    from nn.layers.base import Layer
    from nn.layers.core import InputLayer

    visited: set[int] = set()
    found: list[tuple[Any, str]] = []
    listed = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    drawn = type(model).__name__ in ("Sequential", "Functional")
    attributes = {
        name: value
        for name, value in ({} if drawn else vars(model)).items()
        if not name.startswith("_") and isinstance(value, Layer)
        or (not name.startswith("_") and isinstance(value, list | tuple) and value
            and all(isinstance(v, Layer) for v in value))
    }  # fmt: skip
    for name in sorted({*attributes, "layers"}):
        if name == "layers":
            found += [
                (lay, f"layers/{path}") for lay, path in _list_names(listed, visited)
            ]
        elif isinstance(attributes[name], Layer):
            if id(attributes[name]) not in visited:
                visited.add(id(attributes[name]))
                found.append((attributes[name], name))
        else:
            found += [
                (lay, f"{name}/{path}")
                for lay, path in _list_names(list(attributes[name]), visited)
            ]
    return found


def _own_leaves(tree: dict[str, Any]) -> list[str]:
    return [key for key, value in tree.items() if not isinstance(value, dict)]


def _sub_name(keras_name: str, ours: list[str]) -> str | None:
    for name in (
        SUB_LAYER_NAMES.get(keras_name),
        keras_name,
        keras_name.lstrip("_"),
        keras_name.lstrip("_").removesuffix("_dense"),
    ):
        if name in ours:
            return name
    return None


def pair_layer(
    group: H5Tree, params: dict[str, Any], state: dict[str, Any], where: str
) -> dict[tuple[str, ...], Dataset]:
    """`{(collection, *path): dataset}` for one layer's variables.

    `params` and `state` are the layer's entries in `init`'s variables (in
    creation order); `where` names the layer for messages.
    """
    subs = list(dict.fromkeys(
        [k for k, v in params.items() if isinstance(v, dict)]
        + [k for k, v in state.items() if isinstance(v, dict)]
    ))  # fmt: skip
    theirs = group.own()
    paired: dict[tuple[str, ...], Dataset] = {}
    matched = set()
    for name in group.names():
        ours = _sub_name(name, subs)
        if ours is None:
            theirs += group.group(name).all_datasets()
            continue
        matched.add(ours)
        inner = pair_layer(
            group.group(name), params.get(ours, {}), state.get(ours, {}),
            f"{where}/{ours}",
        )  # fmt: skip
        paired |= {(c, ours, *rest): d for (c, *rest), d in inner.items()}
    mine = [("params", k) for k in _own_leaves(params)]
    mine += [("state", k) for k in _own_leaves(state)]
    missing = [name for name in subs if name not in matched]
    if missing or len(mine) != len(theirs):
        raise KerasFileError(
            f"{group.source}: layer {where!r} has {len(mine)} variables "
            f"({', '.join(k for _, k in mine) or 'none'}"
            f"{'; sub-layers ' + ', '.join(missing) if missing else ''}), but the "
            f"file's group {group.path or '/'!r} holds {len(theirs)} "
            f"({', '.join(d.path for d in theirs) or 'none'}). Hint: the file "
            "belongs to a model of another architecture, or this layer keeps "
            "its weights in another layout than Keras's."
        )
    paired |= dict(zip(mine, theirs, strict=True))
    return paired


def in_order_of(values: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """`values` with its dicts in the key order of `like` (`init`'s creation
    order), for `read_into`."""
    return {
        k: in_order_of(values[k], v) if isinstance(v, dict) else values[k]
        for k, v in like.items()
    }


def _layer_pairs(
    root: H5Tree, path: str, params: dict, state: dict, layer: Any, where: str
) -> dict[tuple[str, ...], Dataset]:
    """`pair_layer` for the layer saved at `path`; a model inside the model
    (Keras's `layers/<name>/layers/...`) pairs layer by layer again."""
    if not root.has(path):
        raise KerasFileError(
            f"{root.source}: no weights for layer {where!r} "
            f"({type(layer).__name__}); looked for the group {path!r}."
        )
    group = root.group(path)
    if not hasattr(layer, "layers_by_name"):
        return pair_layer(group, params, state, where)
    pairs: dict[tuple[str, ...], Dataset] = {}
    for name, inner, inner_path in _weighted_layers(layer, params, state):
        found = _layer_pairs(group, inner_path, params.get(name, {}),
                             state.get(name, {}), inner, f"{where}/{name}")  # fmt: skip
        pairs |= {(c, name, *rest): d for (c, *rest), d in found.items()}
    return pairs


def _weighted_layers(model: Any, params: dict, state: dict) -> Iterator[tuple]:
    """`(name, layer, group path)` of each of the model's layers that holds
    variables, `name` keying them in `params` and `state`."""
    by_object = {id(layer): name for name, layer in model.layers_by_name().items()}
    for layer, path in layer_groups(model):
        name = by_object.get(id(layer))
        if name is not None and (name in params or name in state):
            yield name, layer, path


def read_into(
    variables: dict[str, Any], root: H5Tree, model: Any, skip_mismatch: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """`variables` (in `init`'s creation order) with every array read from
    `root`, and what was skipped: with `skip_mismatch`, a layer whose
    weights do not fit keeps its values and is named in the list."""
    params, state = variables.get("params", {}), variables.get("state", {})
    filled = _copy_dicts({"params": params, "state": state})
    skipped = []
    for name, layer, path in _weighted_layers(model, params, state):
        try:
            pairs = _layer_pairs(root, path, params.get(name, {}),
                                 state.get(name, {}), layer, name)  # fmt: skip
            arrays = [(keys, _read(filled, [name, *keys[1:]], keys[0], dataset))
                      for keys, dataset in pairs.items()]  # fmt: skip
        except KerasFileError as error:
            if not skip_mismatch:
                raise
            skipped.append(str(error))
            continue
        for (collection, *keys), array in arrays:
            _put(filled[collection], [name, *keys], array)
    return filled, skipped


def _read(filled: dict[str, Any], keys: list[str], collection: str, dataset: Dataset):
    like = filled[collection]
    for key in keys:
        like = like[key]
    where = f"variable {'/'.join(keys)!r}"
    return jnp.asarray(dataset.read(np.shape(like), like.dtype, where))


def _copy_dicts(tree: Any) -> Any:
    """`tree` with every dict new (the arrays shared), for `_put` to fill."""
    if isinstance(tree, dict):
        return {k: _copy_dicts(v) for k, v in tree.items()}
    return tree


def _put(tree: dict[str, Any], keys: list[str], array: Any) -> None:
    for key in keys[:-1]:
        tree = tree[key]
    tree[keys[-1]] = array
