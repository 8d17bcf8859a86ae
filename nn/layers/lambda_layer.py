"""Lambda: a layer around a Python function.

A config can name a function only by a registered name (`nn.register`),
never carry its code: saving a Lambda whose function is not registered
fails, with a hint, and loading one looks the name up in the registry or in
`custom_objects`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nn import registry
from nn.layers.base import Layer, set_fields
from nn.registry import register


@register()
@dataclass(frozen=True)
class Lambda(Layer):
    """Applies `function(inputs, **arguments)`.

    Args:
      function: a function of the layer's input (a list of inputs when the
        layer is called on several), written with `stateless.ops` or
        `jax.numpy`; it must hold no variables.
      output_shape: Keras's hint of the output shape; kept in the config,
        not needed here (shapes are traced).
      mask: a registered function `(inputs, mask) -> output mask`, or None
        (then the input's mask stops here, as in Keras).
      arguments: keyword arguments passed to `function`.

    Example:
      >>> import nn
      >>> @nn.register("docs>double")
      ... def double(x):
      ...     return 2.0 * x
      >>> layer = Lambda(double)
      >>> layer.apply({"params": {}, "state": {}}, jnp.ones(2))[0].tolist()
      [2.0, 2.0]
      >>> layer.get_config()["function"]
      'docs>double'
    """

    function: Callable[..., Any]
    output_shape: Any = None
    mask: Any = None
    arguments: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        if not callable(self.function):
            raise TypeError(
                f"Lambda: function must be callable, received "
                f"{type(self.function).__name__}."
            )
        set_fields(self, arguments=dict(self.arguments or {}))

    def apply(self, variables, *inputs, training=False, rng=None):
        x = inputs[0] if len(inputs) == 1 else list(inputs)
        return self.function(x, **self.arguments), variables["state"]

    def compute_mask(self, inputs, mask=None):
        """Keras's: `mask(inputs, mask)` when `mask` is a function, else
        None (the input's mask stops here)."""
        return self.mask(inputs, mask) if callable(self.mask) else None

    def get_config(self) -> dict[str, Any]:
        try:
            json.dumps(self.arguments)
        except TypeError as error:
            raise TypeError(
                f"Lambda {self.default_name!r}: arguments must be JSON data "
                f"(numbers, strings, lists, dicts) to be saved: {error}."
            ) from None
        shape, mask = self.output_shape, self.mask
        return {
            "name": self.name,
            "function": registry.function_name(self.function, "Lambda"),
            "output_shape": list(shape) if isinstance(shape, tuple) else shape,
            "mask": None if mask is None else registry.function_name(mask, "Lambda"),
            "arguments": self.arguments,
            **self._base_config(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Lambda:
        named = {
            key: registry.lookup(config[key], custom_objects)
            for key in ("function", "mask")
            if config.get(key) is not None
        }
        return cls(**{**config, **named})
