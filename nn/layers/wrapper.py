"""Wrapper: the base of layers that wrap one other layer.

The wrapped layer's variables live under `"layer"` in the wrapper's
`params` and `state`; its penalties and constraints are the wrapper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nn.layers.base import Layer
from nn.registry import register


@register()
@dataclass(frozen=True)
class Wrapper(Layer):
    """Runs `layer` as it is; subclasses change what happens around it.

    Args:
      layer: the layer wrapped.

    Example:
      >>> from nn.layers import Dense
      >>> wrapper = Wrapper(Dense(3))
      >>> v = wrapper.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> sorted(v["params"]["layer"])
      ['bias', 'kernel']
      >>> wrapper.apply(v, jnp.ones((2, 4)))[0].shape
      (2, 3)
    """

    layer: Layer

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.layer, Layer):
            raise TypeError(
                f"{type(self).__name__}: layer must be a layer, received "
                f"{type(self.layer).__name__}."
            )

    @staticmethod
    def wrap_variables(inner: dict[str, Any]) -> dict[str, Any]:
        """The wrapper's variables holding the wrapped layer's `inner` ones
        (an empty state is left out: it would not survive the archive)."""
        state = {"layer": inner["state"]} if inner["state"] else {}
        return {"params": {"layer": inner["params"]}, "state": state}

    @staticmethod
    def inner_variables(variables: dict[str, Any]) -> dict[str, Any]:
        """The wrapped layer's variables within the wrapper's."""
        return {
            "params": variables["params"]["layer"],
            "state": variables["state"].get("layer", {}),
        }

    def init(self, key, *inputs, **kwargs):
        return self.wrap_variables(self.layer.init(key, *inputs, **kwargs))

    def apply(self, variables, *inputs, training=False, rng=None, **kwargs):
        out, state = self.layer.apply(
            self.inner_variables(variables), *inputs, training=training, rng=rng,
            **kwargs,
        )  # fmt: skip
        return out, {"layer": state} if state else {}

    def penalty(self, params: dict[str, Any]) -> Any:
        """The wrapped layer's regularizer penalties."""
        return self.layer.penalty(params["layer"])

    def has_constraints(self) -> bool:
        """Whether the wrapped layer has weight constraints."""
        return self.layer.has_constraints()

    def constrain(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the wrapped layer's constraints applied."""
        return {"layer": self.layer.constrain(params["layer"])}
