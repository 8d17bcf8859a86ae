"""One name lookup for every `get(identifier)` resolver: a registry entry by
name, or an error that names the kind of thing, suggests the nearest names
and lists the valid ones.

Example:
  >>> lookup("loss", "mae", {"mae": 1, "mse": 2})
  1
  >>> lookup("loss", "msee", {"mae": 1, "mse": 2})
  Traceback (most recent call last):
  ...
  ValueError: unknown loss 'msee'. Did you mean 'mse'? Valid names: mae, mse.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def lookup(kind: str, name: str, registry: Mapping[str, T]) -> T:
    """`registry[name]`, or a ValueError saying what was asked and what is
    valid."""
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, registry, n=3)
    guess = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"unknown {kind} {name!r}.{guess} Valid names: {', '.join(sorted(registry))}."
    )
