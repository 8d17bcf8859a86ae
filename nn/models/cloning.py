"""`clone_model`, `to_json` and `model_from_json`: a model's architecture
without its weights, as Keras's `keras.models` functions.

A clone has the same layers (rebuilt from their configs, or made by
`clone_function`) and links but no variables: it is initialized afresh when
built or fitted. JSON holds the same config as the archive's
`config.json`, so it names only registered classes and holds no code.

Example:
  >>> model = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
  >>> again = model_from_json(model.to_json())
  >>> again.layers[0].units, again.variables is None
  (2, True)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nn import registry
from nn.layers.base import Layer
from nn.layers.core import Input, InputLayer
from nn.models.functional import Functional, rebuild
from nn.models.sequential import Sequential


def _fresh(layer: Layer) -> Layer:
    """Keras's default clone: the layer rebuilt from its own config."""
    return type(layer).from_config(layer.get_config())


def clone_model(
    model: Any,
    input_tensors: Any = None,
    clone_function: Callable[[Layer], Layer] | None = None,
    call_function: Callable[..., Any] | None = None,
    recursive: bool = False,
    **kwargs: Any,
) -> Any:
    """A new model of the same architecture, with no weights yet.

    Args:
      model: a Sequential, functional or subclassed model.
      input_tensors: `Input` tensors to build a functional clone on (one per
        input), or one for a Sequential clone; new ones by default.
      clone_function: `layer -> layer` for each layer (the default rebuilds
        it from its config); return the layer itself to share it.
      call_function: `(layer, *args, **kwargs) -> outputs`, how each layer of
        a functional clone is called (e.g. to wrap or skip it).
      recursive: clone the models nested in this one the same way (otherwise
        `clone_function` sees them as layers).

    Raises:
      ValueError: `clone_function`, `call_function` or `input_tensors` with a
        subclassed model (rebuilt from its config as a whole), or unknown keywords.

    Example:
      >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
      >>> wider = clone_model(model, clone_function=lambda l: layers.Dense(5)
      ...                     if isinstance(l, layers.Dense) else l)
      >>> wider.output_shape
      (None, 5)
    """
    if kwargs:
        raise ValueError(f"clone_model: unknown keywords {sorted(kwargs)}.")
    clone = clone_function or _fresh
    if recursive:
        inner = clone

        def clone(layer: Layer) -> Layer:
            if isinstance(layer, Sequential | Functional):
                return clone_model(layer, None, inner, call_function, recursive=True)
            return inner(layer)

    if isinstance(model, Functional):
        config = model.get_config()
        layers = {  # an InputLayer stays: rebuild makes a fresh Input from it
            name: layer if isinstance(layer, InputLayer) else clone(layer)
            for name, layer in model.layers_by_name().items()
        }
        return rebuild(type(model), config, layers, input_tensors, call_function)
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError(
                "clone_model: call_function applies to functional models; a "
                "Sequential clone calls each layer on the previous one's output."
            )
        stack = [clone(layer) for layer in model.layers]
        if input_tensors is not None:
            stack.insert(0, input_tensors)
        elif model.input_specs is not None:
            config = model.get_config()
            stack.insert(0, Input(config["input_shape"], dtype=config["input_dtype"]))
        return Sequential(stack, name=model.name)
    if clone_function or call_function or input_tensors is not None:
        raise ValueError(
            f"clone_model: {type(model).__name__} is a subclassed model; it is "
            "rebuilt from its config as a whole, so clone_function, "
            "call_function and input_tensors do not apply. Hint: clone its "
            "layers in its own get_config / from_config."
        )
    return type(model).from_config(model.get_config())


def to_json(model: Any, **kwargs: Any) -> str:
    """The model's architecture as JSON (`kwargs` go to `json.dumps`)."""
    return json.dumps(registry.serialize(model), **kwargs)


def model_from_json(
    json_string: str, custom_objects: dict[str, Any] | None = None
) -> Any:
    """A model rebuilt from `to_json`'s text (registered classes only), with
    no weights yet."""
    try:
        spec = json.loads(json_string)
    except json.JSONDecodeError as error:
        raise ValueError(f"model_from_json: not JSON ({error}).") from None
    return registry.deserialize(spec, custom_objects)
