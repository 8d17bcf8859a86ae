"""Layers that merge several inputs: Add, Concatenate."""

from __future__ import annotations

from dataclasses import dataclass

from nn.layers.base import Layer
from nn.registry import register
from stateless import ops
from stateless.errors import ShapeError


def _check_list(layer: Layer, inputs, least: int = 2) -> None:
    if not isinstance(inputs, list | tuple) or len(inputs) < least:
        raise ValueError(
            f"{type(layer).__name__} {layer.default_name!r}: expected a list of at "
            f"least {least} inputs, received {type(inputs).__name__}."
        )


@register()
@dataclass(frozen=True)
class Add(Layer):
    """The sum of a list of inputs of one shape (broadcasting as NumPy).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Add().apply(v, [jnp.ones((2, 3)), jnp.ones((2, 3))])[0].shape
      (2, 3)
    """

    def apply(self, variables, inputs, *, training=False, rng=None):
        _check_list(self, inputs)
        total = inputs[0]
        for x in inputs[1:]:
            total = ops.add(total, x)
        return total, variables["state"]


@register()
@dataclass(frozen=True)
class Concatenate(Layer):
    """Joins a list of inputs along `axis` (the last by default).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Concatenate().apply(v, [jnp.ones((2, 3)), jnp.ones((2, 5))])[0].shape
      (2, 8)
    """

    axis: int = -1

    def apply(self, variables, inputs, *, training=False, rng=None):
        _check_list(self, inputs)
        shapes = [tuple(x.shape) for x in inputs]
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        rest = {s[:axis] + s[axis + 1 :] for s in shapes}
        if len({len(s) for s in shapes}) != 1 or len(rest) != 1:
            raise ShapeError(
                f"Concatenate {self.default_name!r}, argument 'inputs': expected equal "
                f"shapes except on axis {self.axis}, received {shapes}."
            )
        return ops.concatenate(list(inputs), axis=self.axis), variables["state"]
