"""Normalization by a norm alone, without centering: RMSNormalization (by
the root mean square, then a learned scale) and UnitNormalization (to unit
L2 norm, with `l2_normalized`, which Dot and SpectralNormalization use as
well). Computed in float32, returned in the input's dtype."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nn.layers.base import Layer, set_fields
from nn.layers.normalization import axes_of, axis_field, check_sizes, on_axes
from nn.registry import register
from stateless import ops


def l2_normalized(x: Any, axis: Any = None, max_inverse: float = 1e7) -> Any:
    """`x` over its L2 norm along `axis` (all axes if None), as Keras's
    `ops.normalize`: the inverse norm is capped at `max_inverse` (1 over
    Keras's epsilon), so a zero slice stays zero.

    Example:
      >>> l2_normalized(jnp.array([[3.0, 4.0], [0.0, 0.0]]), axis=1).tolist()
      [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    inverse = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return x * ops.minimum(inverse, max_inverse)


@register()
@dataclass(frozen=True)
class RMSNormalization(Layer):
    """`x / sqrt(mean(x**2 over axis) + epsilon) * scale`, with a learned
    `scale` sized like the input on `axis` (as in T5 and Llama).

    Example:
      >>> layer = RMSNormalization()
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> y, _ = layer.apply(v, jnp.array([[3.0, -3.0, 3.0, -3.0]]))
      >>> [round(value, 4) for value in y[0].tolist()]
      [1.0, -1.0, 1.0, -1.0]
    """

    axis: int | tuple[int, ...] = -1
    epsilon: float = 1e-6

    def __post_init__(self):
        super().__post_init__()
        set_fields(self, axis=axis_field(self, self.axis))

    def init(self, key, x):
        shape = tuple(x.shape[a] for a in axes_of(self, x, self.axis))
        return {"params": {"scale": ops.ones(shape)}, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        axes = axes_of(self, x, self.axis)
        scale = variables["params"]["scale"]
        check_sizes(self, x, axes, scale.shape)
        x32 = ops.cast(x, "float32")
        mean_square = ops.mean(ops.square(x32), axis=axes, keepdims=True)
        y = x32 * ops.rsqrt(mean_square + self.epsilon) * on_axes(scale, x32, axes)
        return ops.cast(y, x.dtype), variables["state"]


@register()
@dataclass(frozen=True)
class UnitNormalization(Layer):
    """Scales each slice along `axis` to unit L2 norm (a zero slice stays
    zero: the inverse norm is capped at 1e12).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> UnitNormalization().apply(v, jnp.array([[3.0, 4.0]]))[0].tolist()
      [[0.6000000238418579, 0.800000011920929]]
    """

    supports_masking = True

    axis: int | tuple[int, ...] = -1

    def __post_init__(self):
        super().__post_init__()
        set_fields(self, axis=axis_field(self, self.axis))

    def apply(self, variables, x, *, training=False, rng=None):
        axes = axes_of(self, x, self.axis)
        y = l2_normalized(ops.cast(x, "float32"), axes, max_inverse=1e12)
        return ops.cast(y, x.dtype), variables["state"]
