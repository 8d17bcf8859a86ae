"""Keras 3's `config.json` as this project's configs, checked as data.

Keras serializes an object as `{"module", "class_name", "config",
"registered_name", "build_config"...}`, tuples as `__tuple__`, dtype policies
as `DTypePolicy` objects and a functional model's calls as `inbound_nodes`
of `__keras_tensor__` references. `model_spec` turns that into the
`{"class_name", "config"}` specs `nn.registry.deserialize` builds, so the
same rule holds as for our own archives: only registered classes are built
(a class of one's own must be registered, e.g. with
`nn.saving.register_keras_serializable`), and nothing in the file is code:
a `Lambda` holding Python bytecode is refused, never run. A Keras option
with no counterpart here is dropped when it holds Keras's neutral value
(`None`, `False`, empty) and refused, by name, otherwise.

Example:
  >>> spec = {"module": "keras.layers", "class_name": "Dense",
  ...         "config": {"name": "head", "units": 2, "lora_rank": None,
  ...                    "dtype": {"class_name": "DTypePolicy",
  ...                              "config": {"name": "float32"}}},
  ...         "registered_name": None}
  >>> layer_spec(spec, None, "config.json")
  {'class_name': 'Dense', 'config': {'name': 'head', 'units': 2, 'dtype': 'float32'}}
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from nn import registry
from nn.keras_files.h5_weights import KerasFileError
from nn.keras_files.layout import snake_case
from nn.layers.base import BASE_KEYWORDS

POLICIES = ("DTypePolicy", "FloatDTypePolicy")
CODE = ("__lambda__", "__bytes__")
MODELS = ("Sequential", "Functional")
OPS_MODULES = ("keras.src.ops", "keras.ops")
LAYER_MODULES = ("keras.layers", "keras.src.layers", "keras.models", "keras.src.models")


# Options that tune a Keras feature this project lacks, at Keras's default
# (the feature itself is refused unless off: BatchNormalization's renorm).
KERAS_DEFAULTS = {"renorm_momentum": 0.99}


def _neutral(key: str, value: Any) -> bool:
    if key in KERAS_DEFAULTS and value == KERAS_DEFAULTS[key]:
        return True
    return value is None or value is False or value in ([], {}, "")


def plain(value: Any, where: str, custom_objects: Any = None) -> Any:
    """Keras's serialized values as plain data and `{"class_name", "config"}`
    specs (tuples as lists, dtype policies as their names; a layer inside,
    such as `Bidirectional`'s, through `layer_spec`)."""
    if isinstance(value, list):
        return [plain(v, where, custom_objects) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" not in value or "config" not in value:
        return {k: plain(v, where, custom_objects) for k, v in value.items()}
    if str(value.get("module")).startswith(LAYER_MODULES):
        return layer_spec(value, custom_objects, where)
    name, config = value["class_name"], value["config"]
    if name in CODE:
        raise KerasFileError(
            f"{where}: holds Python code ({name}); code in a file is never run. "
            "Hint: rebuild the model here with a registered layer or function "
            "instead of a Lambda."
        )
    if name == "__tuple__":
        return [plain(v, where, custom_objects) for v in config["value"]]
    if name in POLICIES:
        return config["name"]
    if name == "function":  # a function by its (registered) name
        return config
    if not isinstance(name, str) or name.startswith("__"):
        raise KerasFileError(f"{where}: cannot read the Keras object {name!r:.80}.")
    inner = plain(config, where, custom_objects)
    if isinstance(inner, dict):  # an initializer's, regularizer's... options
        inner = {k: v for k, v in inner.items() if v is not None}
    return {"class_name": value.get("registered_name") or name, "config": inner}


def accepted_keys(cls: type) -> set[str] | None:
    """The keywords `cls` takes, or None when it takes any (`**kwargs`
    handed to a class of the user's own)."""
    if "__dataclass_params__" in cls.__dict__:  # a built-in layer's fields
        return {f.name for f in dataclasses.fields(cls)} | set(BASE_KEYWORDS)
    parameters = inspect.signature(cls.__init__).parameters.values()
    keys = {p.name for p in parameters if p.kind is not p.VAR_POSITIONAL} - {"self"}
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return keys


def _lookup(name: str, custom_objects: Any, where: str) -> type:
    try:
        return registry.lookup(name, custom_objects)
    except ValueError:
        raise KerasFileError(
            f"{where}: the Keras class {name!r:.80} has no registered counterpart "
            "here; refusing to load. Hint: if it is a class of your own, write it "
            "here and register it (nn.saving.register_keras_serializable, "
            "custom_objects= or custom_object_scope)."
        ) from None


def _fit(cls: type, config: dict[str, Any], class_name: str, where: str) -> dict:
    accepted = accepted_keys(cls)
    if accepted is None:
        return config
    fitted = {}
    for key, value in config.items():
        if key in accepted:
            fitted[key] = value
        elif not _neutral(key, value):
            raise KerasFileError(
                f"{where}: {class_name} option {key}={value!r:.80} has no "
                f"counterpart here (it takes {', '.join(sorted(accepted))})."
            )
    return fitted


def _input_layer(config: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("sparse", "ragged", "optional"):
        if config.get(key):
            raise KerasFileError(
                f"{where}: InputLayer option {key}=True is not supported."
            )
    batch, *shape = config.get("batch_shape") or [None, *config["shape"]]
    dtype = config.get("dtype", "float32")
    return {
        "class_name": "InputLayer",
        "config": {
            "name": config.get("name"),
            "shape": shape,
            "batch_size": batch,
            "dtype": dtype,
        },  # fmt: skip
    }


def layer_spec(spec: Any, custom_objects: Any, where: str) -> dict[str, Any]:
    """One serialized Keras layer (or model) as our `{"class_name", "config"}`."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise KerasFileError(
            f"{where}: expected a serialized layer, found {spec!r:.120}."
        )
    class_name = spec.get("class_name")
    where = f"{where}: layer {spec['config'].get('name', class_name)!r}"
    if class_name in MODELS and spec.get("registered_name") in (None, class_name):
        return _sequential(spec, custom_objects, where) if class_name == "Sequential" \
            else _functional(spec, custom_objects, where)  # fmt: skip
    config = plain(spec["config"], where, custom_objects)
    if str(spec.get("module")).startswith(OPS_MODULES):  # a keras.ops call
        name = config.pop("name", None)
        return {
            "class_name": "Operation",
            "config": {"name": name, "op": snake_case(class_name), "options": config},
        }
    if class_name == "InputLayer":
        return _input_layer(config, where)
    name = spec.get("registered_name") or class_name
    cls = _lookup(name, custom_objects, where)
    return {"class_name": name, "config": _fit(cls, config, class_name, where)}


def build_shape(spec: dict[str, Any]) -> list[Any] | None:
    """The input shape (batch first) a Keras model or layer was built with,
    if saved (a subclassed model's only record of its inputs)."""
    build = spec.get("build_config") or {}
    shape = build.get("input_shape")
    return plain(shape, "build_config") if isinstance(shape, list) else None


def _sequential(spec: dict[str, Any], custom_objects: Any, where: str) -> dict:
    config = spec["config"]
    items = list(config.get("layers", []))
    ours: dict[str, Any] = {"name": config.get("name"), "layers": []}
    if items and items[0].get("class_name") == "InputLayer":
        first = _input_layer(plain(items.pop(0)["config"], where), where)["config"]
        ours |= {"input_shape": first["shape"], "input_dtype": first["dtype"]}
    elif (shape := build_shape(spec)) is not None:
        ours |= {"input_shape": shape[1:], "input_dtype": "float32"}
    ours["layers"] = _layer_specs(items, custom_objects, where)
    return {"class_name": "Sequential", "config": ours}


def _layer_specs(items: list[Any], custom_objects: Any, where: str) -> list[dict]:
    """`layer_spec` of each item; one error naming every layer that fails."""
    specs, problems = [], []
    for item in items:
        try:
            specs.append(layer_spec(item, custom_objects, where))
        except KerasFileError as error:
            problems.append(str(error))
    if len(problems) == 1:
        raise KerasFileError(problems[0])
    if problems:
        raise KerasFileError(
            f"{len(problems)} layers cannot be read:\n- " + "\n- ".join(problems)
        )
    return specs


def _history(tree: Any, made: dict[tuple[str, int], int], where: str) -> Any:
    """Keras's tensor references (`keras_history`: layer, call, output) as
    ours (`{"tensor": [node, output]}`); KeyError while a parent is unmade."""
    if isinstance(tree, list):
        return [_history(t, made, where) for t in tree]
    if not isinstance(tree, dict):
        return tree
    if tree.get("class_name") == "__keras_tensor__":
        layer, call, index = tree["config"]["keras_history"]
        return {"tensor": [made[(layer, call)], index]}
    if tree.get("class_name") == "__tuple__":
        return [_history(t, made, where) for t in tree["config"]["value"]]
    if "class_name" in tree and "config" in tree:
        return plain(tree, where)
    return {k: _history(v, made, where) for k, v in tree.items()}


def _functional(spec: dict[str, Any], custom_objects: Any, where: str) -> dict:
    config = spec["config"]
    items = config.get("layers", [])
    layers, calls = _layer_specs(items, custom_objects, where), []
    for item, layer in zip(items, layers, strict=True):
        name = layer["config"]["name"] = item.get("name", item["config"].get("name"))
        nodes = item.get("inbound_nodes") or []
        if item.get("class_name") == "InputLayer":  # called once, on nothing
            nodes = [{"args": [], "kwargs": {}}]
        calls += [(name, k, node) for k, node in enumerate(nodes)]
    made: dict[tuple[str, int], int] = {}
    nodes: list[dict[str, Any]] = []
    while calls:  # a shared layer's later calls may wait on later layers
        waiting = []
        for name, k, node in calls:
            try:
                args = _history(node.get("args", []), made, where)
                kwargs = _history(node.get("kwargs", {}), made, where)
            except KeyError:
                waiting.append((name, k, node))
                continue
            kwargs = {key: v for key, v in kwargs.items() if v is not None}
            made[(name, k)] = len(nodes)
            nodes.append({"layer": name, "args": args, "kwargs": kwargs})
        if len(waiting) == len(calls):
            raise KerasFileError(f"{where}: the layer calls refer to missing layers.")
        calls = waiting

    def ends(refs: Any) -> Any:
        if isinstance(refs, list) and refs and isinstance(refs[0], str):
            return {"tensor": [made[(refs[0], refs[1])], refs[2]]}
        if isinstance(refs, dict):
            return {k: ends(v) for k, v in refs.items()}
        return [ends(r) for r in refs]

    try:
        inputs, outputs = ends(config["input_layers"]), ends(config["output_layers"])
    except (KeyError, IndexError, TypeError):
        raise KerasFileError(
            f"{where}: unreadable input_layers/output_layers."
        ) from None
    return {"class_name": "Functional",
            "config": {"name": config.get("name"), "layers": layers, "nodes": nodes,
                       "inputs": inputs, "outputs": outputs}}  # fmt: skip


def model_spec(spec: Any, custom_objects: Any) -> dict[str, Any]:
    """A Keras model's serialized config as a spec `registry.deserialize` builds."""
    return layer_spec(spec, custom_objects, "config.json")
