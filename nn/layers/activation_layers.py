"""Activations as layers, with Keras's options: ReLU (capped, leaky,
thresholded), LeakyReLU, PReLU (a learned slope), ELU, and Softmax over any
axes with an optional mask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nn import initializers
from nn.layers.base import Layer, set_fields
from nn.registry import register
from stateless import ops
from stateless.errors import ShapeError


def _check_at_least_zero(layer: Layer, **values: Any) -> None:
    for arg, value in values.items():
        if value is not None and not value >= 0:
            raise ValueError(
                f"{type(layer).__name__}: {arg} must be >= 0, received {value!r}."
            )


@register()
@dataclass(frozen=True)
class ReLU(Layer):
    """`max(x, 0)`, with Keras's three options.

    Args:
      max_value: cap the output at this value (None: no cap; 6 gives relu6).
      negative_slope: below `threshold` the output is
        `negative_slope * (x - threshold)` instead of 0.
      threshold: entries at or below it count as negative.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> ReLU(max_value=6).apply(v, jnp.array([-1.0, 3.0, 9.0]))[0].tolist()
      [0.0, 3.0, 6.0]
    """

    supports_masking = True

    max_value: float | None = None
    negative_slope: float = 0.0
    threshold: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _check_at_least_zero(
            self, max_value=self.max_value, negative_slope=self.negative_slope
        )

    def apply(self, variables, x, *, training=False, rng=None):
        if self.threshold:
            y = ops.where(x > self.threshold, x, ops.zeros_like(x))
        else:
            y = ops.relu(x)
        if self.max_value is not None:
            y = ops.minimum(y, ops.cast(self.max_value, x.dtype))
        if self.negative_slope:
            y = y - self.negative_slope * ops.relu(self.threshold - x)
        return y, variables["state"]


@register()
@dataclass(frozen=True)
class LeakyReLU(Layer):
    """`x` where positive, `negative_slope * x` elsewhere (Keras's default
    slope is 0.3; the `leaky_relu` activation's is 0.2).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> LeakyReLU(0.5).apply(v, jnp.array([-2.0, 2.0]))[0].tolist()
      [-1.0, 2.0]
    """

    supports_masking = True

    negative_slope: float = 0.3

    def __post_init__(self):
        super().__post_init__()
        _check_at_least_zero(self, negative_slope=self.negative_slope)

    def apply(self, variables, x, *, training=False, rng=None):
        return ops.leaky_relu(x, self.negative_slope), variables["state"]


@register()
@dataclass(frozen=True)
class PReLU(Layer):
    """A leaky ReLU whose negative slope `alpha` is learned, one per entry of
    an example, or shared along `shared_axes`.

    Args:
      alpha_initializer: the slopes' initializer (zeros: a plain ReLU).
      alpha_regularizer, alpha_constraint: as for any weight.
      shared_axes: axes (counting the batch as 0) along which one slope is
        shared, e.g. `(1, 2)` for one slope per channel of images.

    Example:
      >>> layer = PReLU(shared_axes=(1,))
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 5, 3)))
      >>> v["params"]["alpha"].shape
      (1, 3)
    """

    supports_masking = True

    alpha_initializer: Any = "zeros"
    alpha_regularizer: Any = None
    alpha_constraint: Any = None
    shared_axes: tuple[int, ...] | None = None

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.shared_axes, int):
            set_fields(self, shared_axes=(self.shared_axes,))
        elif self.shared_axes is not None:
            set_fields(self, shared_axes=tuple(self.shared_axes))

    def _alpha_shape(self, x) -> tuple[int, ...]:
        shape = list(x.shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis <= len(shape):
                raise ShapeError(
                    f"PReLU {self.default_name!r}: shared axis {axis} is not an "
                    f"axis of an example of the input of shape {tuple(x.shape)}; "
                    f"give axes in 1..{len(shape)} (0 is the batch)."
                )
            shape[axis - 1] = 1
        return tuple(shape)

    def init(self, key, x):
        alpha = initializers.get(self.alpha_initializer)(key, self._alpha_shape(x))
        return {"params": {"alpha": alpha}, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        alpha = variables["params"]["alpha"]
        if tuple(alpha.shape) != self._alpha_shape(x):
            raise ShapeError(
                f"PReLU {self.default_name!r}: its slopes have shape "
                f"{tuple(alpha.shape)}, made for examples of another shape than "
                f"{tuple(x.shape[1:])}; call it on inputs like those it was "
                "built on."
            )
        y = ops.relu(x) - ops.cast(alpha, x.dtype) * ops.relu(-x)
        return y, variables["state"]


@register()
@dataclass(frozen=True)
class ELU(Layer):
    """`x` where positive, `alpha * (exp(x) - 1)` elsewhere.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> round(ELU().apply(v, jnp.array([-1.0]))[0].tolist()[0], 4)
      -0.6321
    """

    supports_masking = True

    alpha: float = 1.0

    def apply(self, variables, x, *, training=False, rng=None):
        return ops.elu(x, self.alpha), variables["state"]


@register()
@dataclass(frozen=True)
class Softmax(Layer):
    """The softmax over `axis` (an int or several axes).

    With a `mask` (broadcastable to the input; True or > 0.5 marks what
    counts), masked entries get probability 0 and the rest sum to 1; an
    all-masked slice gives zeros.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> x, mask = jnp.zeros((1, 4)), jnp.array([[1, 1, 0, 0]])
      >>> Softmax().apply(v, x, mask)[0].tolist()
      [[0.5, 0.5, 0.0, 0.0]]
    """

    supports_masking = True

    axis: int | tuple[int, ...] = -1

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.axis, list | tuple):
            set_fields(self, axis=tuple(self.axis))

    def apply(self, variables, x, mask=None, *, training=False, rng=None):
        if mask is not None:
            if len(mask.shape) > len(x.shape) or any(
                m not in (1, n) for m, n in zip(mask.shape[::-1], x.shape[::-1])
            ):
                raise ShapeError(
                    f"Softmax {self.default_name!r}: a mask of shape "
                    f"{tuple(mask.shape)} does not broadcast to the input's "
                    f"{tuple(x.shape)}; give a mask of the input's shape or "
                    "with sizes of 1 where it is shared."
                )
            if mask.dtype != bool:
                mask = mask > 0.5
            lowest = -3e4 if x.dtype == "float16" else -1e9
            x = ops.where(mask, x, ops.cast(lowest, x.dtype))
        y = ops.softmax(x, axis=self.axis)
        if mask is not None:
            y = ops.where(mask, y, ops.zeros_like(y))
        return y, variables["state"]
