"""Layers that merge a list of inputs: entry by entry (Add, Subtract,
Multiply, Average, Maximum, Minimum), Concatenate and Dot; and Keras's
functional forms (`add([a, b])` is `Add()([a, b])`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from nn.layers.base import Layer, set_fields
from nn.layers.rms_normalization import l2_normalized
from nn.registry import register
from stateless import ops
from stateless.errors import ShapeError


def _check_list(layer: Layer, inputs, least: int = 2, most: int | None = None):
    count = len(inputs) if isinstance(inputs, list | tuple) else None
    if count is None or count < least or (most is not None and count > most):
        wanted = f"exactly {least}" if most == least else f"at least {least}"
        received = f"{count} inputs" if count is not None else type(inputs).__name__
        raise ValueError(
            f"{type(layer).__name__} {layer.default_name!r}: expected a list of "
            f"{wanted} inputs, received {received}."
        )


@dataclass(frozen=True)
class _Elementwise(Layer):
    """Combines inputs entry by entry with `combine`, left to right.

    Inputs of lower rank get size-1 axes after the batch axis, as Keras does,
    then all broadcast as NumPy: `(batch, 3)` with `(batch, 4, 3)` gives
    `(batch, 4, 3)`.
    """

    combine: ClassVar[Callable[[Any, Any], Any]]
    most: ClassVar[int | None] = None

    def apply(self, variables, inputs, *, training=False, rng=None):
        _check_list(self, inputs, 2, self.most)
        rank = max(len(x.shape) for x in inputs)
        aligned = [
            ops.reshape(x, (x.shape[0], *(1,) * (rank - len(x.shape)), *x.shape[1:]))
            for x in inputs
        ]
        try:
            total = aligned[0]
            for x in aligned[1:]:
                total = self.combine(total, x)
        except ShapeError as error:
            raise ShapeError(
                f"{type(self).__name__} {self.default_name!r}: inputs of shapes "
                f"{[tuple(x.shape) for x in inputs]} do not broadcast together; "
                "give inputs of one shape (or sizes of 1 where they differ)."
            ) from error
        return self.finish(total, len(inputs)), variables["state"]

    def finish(self, total, count):
        return total

    def compute_mask(self, inputs, mask=None):
        """Keras's: a step counts where it counts in any input (None unless
        every input has a mask)."""
        if mask is None or any(m is None for m in mask):
            return None
        combined = mask[0]
        for m in mask[1:]:
            combined = ops.logical_or(combined, m)
        return combined


@register()
@dataclass(frozen=True)
class Add(_Elementwise):
    """The sum of a list of inputs.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Add().apply(v, [jnp.ones((2, 3)), jnp.ones((2, 3))])[0].shape
      (2, 3)
    """

    combine = staticmethod(ops.add)


@register()
@dataclass(frozen=True)
class Subtract(_Elementwise):
    """The first of exactly two inputs minus the second.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Subtract().apply(v, [jnp.ones(2), jnp.ones(2) * 3])[0].tolist()
      [-2.0, -2.0]
    """

    combine = staticmethod(ops.subtract)
    most: ClassVar[int | None] = 2


@register()
@dataclass(frozen=True)
class Multiply(_Elementwise):
    """The product of a list of inputs, entry by entry.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Multiply().apply(v, [jnp.full(2, 2.0), jnp.full(2, 3.0)])[0].tolist()
      [6.0, 6.0]
    """

    combine = staticmethod(ops.multiply)


@register()
@dataclass(frozen=True)
class Average(_Elementwise):
    """The mean of a list of inputs, entry by entry.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Average().apply(v, [jnp.zeros(2), jnp.full(2, 3.0)])[0].tolist()
      [1.5, 1.5]
    """

    combine = staticmethod(ops.add)

    def finish(self, total, count):
        return total / count


@register()
@dataclass(frozen=True)
class Maximum(_Elementwise):
    """The largest of a list of inputs, entry by entry.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Maximum().apply(v, [jnp.array([1.0, 5.0]), jnp.array([3.0, 2.0])])[0]
      Array([3., 5.], dtype=float32)
    """

    combine = staticmethod(ops.maximum)


@register()
@dataclass(frozen=True)
class Minimum(_Elementwise):
    """The smallest of a list of inputs, entry by entry.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Minimum().apply(v, [jnp.array([1.0, 5.0]), jnp.array([3.0, 2.0])])[0]
      Array([1., 2.], dtype=float32)
    """

    combine = staticmethod(ops.minimum)


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

    def compute_mask(self, inputs, mask=None):
        """Keras's: the inputs' masks (all True for an input without one),
        each broadcast to its input, joined along `axis`, then any over the
        last axis."""
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = ops.ones(x.shape, "bool")
            elif len(m.shape) < len(x.shape):
                m = ops.broadcast_to(ops.expand_dims(m, -1), x.shape)
            full.append(m)
        return ops.any(ops.concatenate(full, axis=self.axis), axis=-1)


@register()
@dataclass(frozen=True)
class Dot(Layer):
    """The dot product of two inputs along one axis of each, example by example.

    The output's axes are the first input's (less `axes[0]`), then the
    second's (less the batch axis and `axes[1]`); two vectors per example
    give `(batch, 1)`.

    Args:
      axes: one axis for both inputs, or a pair `(axis of the first, axis of
        the second)`; never the batch axis 0. Negative counts from the end.
      normalize: divide each input by its L2 norm along its axis first, so
        the product is the cosine similarity.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Dot(axes=1).apply(v, [jnp.ones((2, 3)), jnp.ones((2, 3))])[0].tolist()
      [[3.0], [3.0]]
    """

    axes: Any = -1
    normalize: bool = False

    def __post_init__(self):
        super().__post_init__()
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        if len(tuple(axes)) != 2 or not all(isinstance(a, int) for a in axes):
            raise ValueError(
                f"Dot: axes must be an int or a pair of ints, received {self.axes!r}."
            )
        if isinstance(self.axes, list | tuple):
            set_fields(self, axes=tuple(self.axes))

    def apply(self, variables, inputs, *, training=False, rng=None):
        _check_list(self, inputs, 2, 2)
        x, y = inputs
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        ax, ay = (a % len(v.shape) for a, v in zip(pair, (x, y)))
        if min(len(x.shape), len(y.shape)) < 2 or 0 in (ax, ay):
            raise ShapeError(
                f"Dot {self.default_name!r}: takes two batches of rank >= 2 and "
                f"axes other than the batch axis 0, received shapes "
                f"{tuple(x.shape)} and {tuple(y.shape)} with axes {self.axes!r}."
            )
        if x.shape[0] != y.shape[0] or x.shape[ax] != y.shape[ay]:
            raise ShapeError(
                f"Dot {self.default_name!r}: the inputs' batch sizes and the "
                f"sizes along axes ({ax}, {ay}) must agree, received shapes "
                f"{tuple(x.shape)} and {tuple(y.shape)}."
            )
        if self.normalize:
            x, y = l2_normalized(x, ax), l2_normalized(y, ay)
        x_rest = [d for i, d in enumerate(x.shape) if i not in (0, ax)]
        y_rest = [d for i, d in enumerate(y.shape) if i not in (0, ay)]
        rows = ops.reshape(ops.moveaxis(x, ax, -1), (x.shape[0], -1, x.shape[ax]))
        cols = ops.reshape(ops.moveaxis(y, ay, 1), (y.shape[0], y.shape[ay], -1))
        out = ops.reshape(ops.matmul(rows, cols), (x.shape[0], *x_rest, *y_rest))
        if len(out.shape) == 1:
            out = ops.expand_dims(out, 1)
        return out, variables["state"]


def add(inputs: Any, **kwargs: Any) -> Any:
    """`Add(**kwargs)(inputs)`: the sum, on symbolic tensors or arrays.

    Example:
      >>> add([jnp.ones((1, 2)), jnp.ones((1, 2))]).tolist()
      [[2.0, 2.0]]
    """
    return Add(**kwargs)(inputs)


def subtract(inputs: Any, **kwargs: Any) -> Any:
    """`Subtract(**kwargs)(inputs)`: the first of two inputs minus the second."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Any, **kwargs: Any) -> Any:
    """`Multiply(**kwargs)(inputs)`: the product, entry by entry."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Any, **kwargs: Any) -> Any:
    """`Average(**kwargs)(inputs)`: the mean, entry by entry."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Any, **kwargs: Any) -> Any:
    """`Maximum(**kwargs)(inputs)`: the largest, entry by entry."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Any, **kwargs: Any) -> Any:
    """`Minimum(**kwargs)(inputs)`: the smallest, entry by entry."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Any, axis: int = -1, **kwargs: Any) -> Any:
    """`Concatenate(axis, **kwargs)(inputs)`: the inputs joined along `axis`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Any, axes: Any = -1, **kwargs: Any) -> Any:
    """`Dot(axes, **kwargs)(inputs)`: the dot product of two inputs."""
    return Dot(axes=axes, **kwargs)(inputs)
