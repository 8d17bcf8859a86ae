"""Keras's `keras.saving`: registering classes, naming them in configs,
and saving and loading whole models.

A config names classes by registered names only and never holds code, so
reading one constructs nothing that was not registered on purpose:
`register_keras_serializable` (or `nn.register`), `custom_object_scope`,
`get_custom_objects()` and `custom_objects=` arguments are the four ways to
name a class of one's own.

Example:
  >>> from nn import saving
  >>> @saving.register_keras_serializable(package="docs")
  ... class Twice(layers.Layer):
  ...     def call(self, x):
  ...         return 2 * x
  >>> saving.get_registered_name(Twice)
  'docs>Twice'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from nn import archive, registry
from nn.registry import custom_object_scope as custom_object_scope
from nn.registry import get_custom_objects as get_custom_objects
from nn.registry import register as register

CustomObjectScope = custom_object_scope  # Keras's other name


def register_keras_serializable(
    package: str = "Custom", name: str | None = None
) -> Callable[[Any], Any]:
    """Registers a class (or function) as `"<package>><name>"`, Keras's
    registered name (`name` defaults to the class's)."""

    def decorate(obj: Any) -> Any:
        return register(f"{package}>{name or obj.__name__}")(obj)

    return decorate


def get_registered_name(obj: Any) -> str:
    """The name a config uses for `obj` (a class or function): its registered
    name, else its own `__name__`, as Keras answers."""
    return getattr(obj, "registered_name", None) or obj.__name__


def get_registered_object(
    name: str, custom_objects: dict[str, Any] | None = None, module_objects: Any = None
) -> Any:
    """The class or function a config's `name` stands for, or None."""
    del module_objects  # Keras searches a module's names; configs here never do
    try:
        return registry.lookup(name, custom_objects)
    except ValueError:
        return None


def serialize_keras_object(obj: Any) -> Any:
    """`{"class_name", "config"}` for a registered object with `get_config`;
    a registered function's name; numbers, strings, None and lists as they are."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, list | tuple):
        return [serialize_keras_object(item) for item in obj]
    if callable(obj) and not hasattr(obj, "get_config"):
        return registry.function_name(obj, "serialize_keras_object")
    return registry.serialize(obj)


def deserialize_keras_object(
    config: Any,
    custom_objects: dict[str, Any] | None = None,
    safe_mode: bool = True,
    **kwargs: Any,
) -> Any:
    """The object `serialize_keras_object` described: rebuilt from
    `{"class_name", "config"}`, looked up by a name, or the value itself.
    `safe_mode` is always on here: configs never hold code."""
    del safe_mode, kwargs
    if isinstance(config, dict):
        return registry.deserialize(config, custom_objects)
    if isinstance(config, str):
        return registry.lookup(config, custom_objects)
    if isinstance(config, list):
        return [deserialize_keras_object(item, custom_objects) for item in config]
    return config


def save_model(
    model: Any, filepath: str | os.PathLike, overwrite: bool = True, **kwargs: Any
) -> None:
    """`model.save(filepath, overwrite)`: the whole model in one archive."""
    if kwargs:
        raise ValueError(f"save_model: unknown keywords {sorted(kwargs)}.")
    model.save(filepath, overwrite=overwrite)


load_model = archive.load_model
