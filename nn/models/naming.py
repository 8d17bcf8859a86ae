"""Unique, readable names for the layers of one model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def assign_names(layers: Iterable[Any], owner: str) -> dict[int, str]:
    """`id(layer) -> name`: a layer's own name, else its class in snake case,
    suffixed `_1`, `_2`... when taken (`"dense"`, `"dense_1"`). A layer seen
    twice (shared) keeps one name.

    Raises:
      ValueError: two different layers were given the same explicit name.

    Example:
      >>> from nn import layers
      >>> a, b = layers.Dense(2), layers.Dense(3)
      >>> sorted(assign_names([a, b, a], "model").values())
      ['dense', 'dense_1']
    """
    unique = list({id(layer): layer for layer in layers}.values())
    names: dict[int, str] = {}
    for layer in unique:  # explicit names first, so automatic ones avoid them
        if layer.name is not None:
            if layer.name in names.values():
                raise ValueError(
                    f"{owner}: two layers are named {layer.name!r}; names must be "
                    "unique within a model. Hint: rename one, or leave name=None."
                )
            names[id(layer)] = layer.name
    taken = set(names.values())
    for layer in unique:
        if layer.name is None:
            base, name, n = layer.default_name, layer.default_name, 0
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            names[id(layer)] = name
            taken.add(name)
    return {id(layer): names[id(layer)] for layer in unique}
