"""Activations by name, each an op of `stateless.ops`.

Layers keep the name (not the function) in their config, so configs stay data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stateless import ops


def _linear(x: Any) -> Any:
    return x


_NAMED: dict[str, Callable[[Any], Any]] = {
    "linear": _linear,
    "relu": ops.relu,
    "gelu": ops.gelu,
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "softmax": ops.softmax,
    "log_softmax": ops.log_softmax,
    "silu": ops.silu,
    "swish": ops.silu,
    "softplus": ops.softplus,
    "elu": ops.elu,
    "leaky_relu": ops.leaky_relu,
    "exponential": ops.exp,
}


def get(identifier: str | None) -> Callable[[Any], Any]:
    """The function an activation name stands for (None means linear).

    Raises:
      ValueError: an unknown name, or a function passed instead of a name (it
        could not be saved in a config); the message lists the valid names.

    Example:
      >>> get("relu")(jnp.array([-1.0, 2.0])).tolist()
      [0.0, 2.0]
    """
    if identifier is None:
        return _linear
    if isinstance(identifier, str) and identifier in _NAMED:
        return _NAMED[identifier]
    raise ValueError(
        f"unknown activation {identifier!r}: pass one of the names "
        f"{', '.join(_NAMED)} (a function could not be saved in a config; "
        "wrap it in a layer of your own instead)."
    )
