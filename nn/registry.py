"""The registry of classes that configs may name.

A config names classes only by registered names, never by module or import
path, so rebuilding a model from a config can only construct classes that were
registered on purpose. Built-in layers and models register themselves; user
classes register with the `register` decorator.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from train.hyperparameters import check_config

T = TypeVar("T", bound=type)

_REGISTERED: dict[str, type] = {}
_CUSTOM_OBJECTS: dict[str, Any] = {}  # Keras's global dict (get_custom_objects)
_SCOPES: contextvars.ContextVar[tuple[dict[str, Any], ...]] = contextvars.ContextVar(
    "custom_object_scopes", default=()
)


def get_custom_objects() -> dict[str, Any]:
    """Keras's global `{name: class or function}` dict: what is put in it is
    found by name when configs are read, as if registered.

    Example:
      >>> get_custom_objects() is get_custom_objects()
      True
    """
    return _CUSTOM_OBJECTS


@contextlib.contextmanager
def custom_object_scope(*objects: dict[str, Any]) -> Iterator[None]:
    """Within the block, configs may name the classes and functions in
    `objects` (dicts of `{name: object}`), as Keras's `custom_object_scope`.

    Example:
      >>> from nn import layers
      >>> class Mine(layers.Activation):
      ...     pass
      >>> with custom_object_scope({"Mine": Mine}):
      ...     lookup("Mine") is Mine
      True
    """
    merged = {k: v for mapping in objects if mapping for k, v in mapping.items()}
    token = _SCOPES.set((*_SCOPES.get(), merged))
    try:
        yield
    finally:
        _SCOPES.reset(token)


def register(name: str | None = None) -> Callable[[T], T]:
    """Registers a class under `name` (default: its class name).

    Raises:
      ValueError: another class is registered under that name.

    Example:
      >>> from nn import layers
      >>> @register("tests>Scale")
      ... class Scale(layers.Activation):
      ...     pass
      >>> lookup("tests>Scale") is Scale
      True
    """

    def decorate(cls: T) -> T:
        key = name or cls.__name__
        if _REGISTERED.get(key, cls) is not cls:
            raise ValueError(
                f"register: {key!r} already names {_REGISTERED[key].__qualname__}; "
                "pick another name, e.g. register('my_package>MyLayer')."
            )
        _REGISTERED[key] = cls
        cls.registered_name = key
        return cls

    return decorate


def lookup(name: str, custom_objects: dict[str, Any] | None = None) -> type:
    """The class registered under `name`, or given under it in
    `custom_objects`, an enclosing `custom_object_scope` or
    `get_custom_objects()` (the first of these that has it).

    Raises:
      ValueError: nothing is registered under `name`; the message says how to
        register it.
    """
    for source in (custom_objects or {}, *reversed(_SCOPES.get()), _CUSTOM_OBJECTS):
        if name in source:
            return source[name]
    if name not in _REGISTERED:
        raise ValueError(
            f"unknown class name {name!r} in config: it is not registered. Hint: "
            "decorate the class with @nn.register() or pass it in custom_objects."
        )
    return _REGISTERED[name]


def function_name(function: Callable[..., Any], owner: str) -> str:
    """The name `function` is registered under, for `owner`'s config.

    Raises:
      TypeError: `function` is not registered; a config names functions and
        never holds their code, and the message says how to register it.

    Example:
      >>> @register("docs>halve")
      ... def halve(x):
      ...     return x / 2
      >>> function_name(halve, "Lambda")
      'docs>halve'
    """
    name = getattr(function, "registered_name", None)
    if name is None or _REGISTERED.get(name) is not function:
        raise TypeError(
            f"{owner}: cannot save function "
            f"{getattr(function, '__name__', function)!r} in a config: a config "
            "names functions, never holds their code. Register it "
            "(@nn.register('my_package>my_function')) or write a layer of your own."
        )
    return name


def serialize(obj: Any) -> dict[str, Any]:
    """`{"class_name": ..., "config": obj.get_config()}` for a registered object.

    Example:
      >>> from nn import layers
      >>> serialize(layers.Dense(3))["class_name"]
      'Dense'
    """
    name = getattr(type(obj), "registered_name", None)
    if name is None or _REGISTERED.get(name) is not type(obj):
        raise ValueError(
            f"serialize: {type(obj).__qualname__} is not registered. "
            "Hint: decorate it with @nn.register()."
        )
    return {"class_name": name, "config": obj.get_config()}


def deserialize(
    spec: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Any:
    """Rebuilds an object from `serialize`'s output.

    Example:
      >>> from nn import layers
      >>> deserialize(serialize(layers.Dense(3))).units
      3
    """
    if not isinstance(spec, dict) or set(spec) != {"class_name", "config"}:
        raise ValueError(
            "deserialize: expected {'class_name': str, 'config': dict}, "
            f"received {spec!r:.200}."
        )
    cls = lookup(spec["class_name"], custom_objects)
    check_config(spec["class_name"], spec["config"])  # finite, in range
    return cls.from_config(spec["config"], custom_objects=custom_objects)
