"""Normalization layers: BatchNormalization, LayerNormalization,
GroupNormalization.

Statistics and the normalization itself are computed in float32 whatever the
input dtype (half-precision sums lose too much), and the output is cast back
to the input dtype. Parameters and moving statistics are float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax

from nn import initializers
from nn.layers.base import Layer, set_fields
from nn.registry import register
from stateless import ops, random, replica_axis
from stateless.errors import ShapeError, check_shape, owner_name


def axes_of(layer: Layer, x: Any, axis: int | Sequence[int]) -> tuple[int, ...]:
    """`axis` (an int or ints) as sorted non-negative axes of `x`."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = len(x.shape)
    if not all(-ndim <= a < ndim for a in axes):
        raise ShapeError(
            f"{owner_name(layer)}, argument 'x': axis {axis} is out of range for an "
            f"input of shape {tuple(x.shape)}. Hint: pass the layer an input of "
            "the rank it was initialized with, or set axis."
        )
    normalized = tuple(sorted({a % ndim for a in axes}))
    if len(normalized) != len(axes):
        raise ValueError(
            f"{owner_name(layer)}: axis {axis} names an axis of the rank-{ndim} "
            "input twice."
        )
    return normalized


def axis_field(layer: Layer, axis: Any) -> int | tuple[int, ...]:
    """A layer's `axis` argument: an int, or several as a tuple; checked."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not axes or not all(isinstance(a, int) for a in axes):
        raise ValueError(
            f"{type(layer).__name__}: axis must be an int or a tuple of ints, "
            f"received {axis!r}."
        )
    return axis if isinstance(axis, int) else axes


def check_sizes(
    layer: Layer, x: Any, axes: tuple[int, ...], sizes: Sequence[int]
) -> None:
    """Raises `ShapeError` unless `x` has `sizes` on `axes`."""
    expected: list[int | None] = [None] * len(x.shape)
    for a, size in zip(axes, sizes):
        expected[a] = size
    check_shape(
        layer,
        "x",
        x,
        tuple(expected),
        "the variables were built for inputs with these sizes; "
        "call init again for inputs of another shape.",
    )


def on_axes(v: Any, x: Any, axes: tuple[int, ...]) -> Any:
    """Reshapes `v`, sized like `x` on `axes`, to broadcast against `x`."""
    shape = [1] * len(x.shape)
    for a in axes:
        shape[a] = x.shape[a]
    return ops.reshape(v, tuple(shape))


def _scale_and_center(layer, params, y, axes):
    """`y * gamma + beta`, each term only if the layer has it."""
    if layer.scale:
        y = y * on_axes(params["gamma"], y, axes)
    if layer.center:
        y = y + on_axes(params["beta"], y, axes)
    return y


def _affine_params(layer, key, shape) -> dict[str, Any]:
    """`gamma` and `beta` of `shape`, each only if the layer has it."""
    k_gamma, k_beta = random.split(key)
    params = {}
    if layer.scale:
        params["gamma"] = initializers.get(layer.gamma_initializer)(k_gamma, shape)
    if layer.center:
        params["beta"] = initializers.get(layer.beta_initializer)(k_beta, shape)
    return params


def _across_replicas(mean: Any, var: Any, axis_name: str) -> tuple[Any, Any]:
    """The whole batch's mean and variance from each replica's, for replicas
    of equal size: the variance adds the spread of the replicas' means."""
    overall = jax.lax.pmean(mean, axis_name)
    return overall, jax.lax.pmean(var + ops.square(mean - overall), axis_name)


@register()
@dataclass(frozen=True)
class BatchNormalization(Layer):
    """Normalizes each channel with batch statistics, keeping moving averages.

    With `training=True` it normalizes with the mean and (biased) variance of
    the batch, over every axis but `axis`, and returns the moving statistics
    updated as `moving = momentum * moving + (1 - momentum) * batch_stat`.
    With `training=False` it normalizes with the moving statistics and returns
    the state unchanged. Then `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    Args:
      axis: the channel axis (default -1; 1 for channels-first images).
      momentum: the moving average's decay (default 0.99).
      epsilon: added to the variance before the square root (default 1e-3).
      center: whether to add the learned offset `beta`.
      scale: whether to multiply by the learned scale `gamma`.
      beta_initializer, gamma_initializer: names or `Initializer`s
        (`"zeros"`, `"ones"`).
      moving_mean_initializer, moving_variance_initializer: names or
        `Initializer`s (`"zeros"`, `"ones"`).
      beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint:
        as for any weight (names or objects, or None).
      synchronized: in a step run per replica (`PmapDataParallel`), normalize
        with the statistics of the whole batch, averaged across replicas,
        instead of each replica's slice. Under `DataParallel` (`jax.jit` over
        a sharded batch) the statistics are the whole batch's either way.

    Returns:
      The normalized input, same shape and dtype; the state
      `{"moving_mean", "moving_variance"}`, each `(channels,)`.

    Raises:
      ShapeError: an input whose `axis` is missing or has another size.

    Example:
      >>> layer = BatchNormalization()
      >>> v = layer.init(sl.random.key(0), jnp.ones((8, 5, 5, 3)))
      >>> jax.tree.map(jnp.shape, v)
      {'params': {'beta': (3,), 'gamma': (3,)},
       'state': {'moving_mean': (3,), 'moving_variance': (3,)}}
      >>> y, state = layer.apply(v, jnp.ones((8, 5, 5, 3)), training=True)
      >>> y.shape, state["moving_mean"].shape
      ((8, 5, 5, 3), (3,))
    """

    supports_masking = True

    axis: int = -1
    momentum: float = 0.99
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    beta_initializer: Any = "zeros"
    gamma_initializer: Any = "ones"
    moving_mean_initializer: Any = "zeros"
    moving_variance_initializer: Any = "ones"
    beta_regularizer: Any = None
    gamma_regularizer: Any = None
    beta_constraint: Any = None
    gamma_constraint: Any = None
    synchronized: bool = False

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.axis, int):
            raise ValueError(
                f"BatchNormalization: axis must be an int, received {self.axis!r}."
            )

    def init(self, key, x):
        (axis,) = axes_of(self, x, self.axis)
        shape = (x.shape[axis],)
        k_affine, k_mean, k_var = random.split(key, 3)
        mean_init = initializers.get(self.moving_mean_initializer)
        var_init = initializers.get(self.moving_variance_initializer)
        return {
            "params": _affine_params(self, k_affine, shape),
            "state": {
                "moving_mean": mean_init(k_mean, shape),
                "moving_variance": var_init(k_var, shape),
            },
        }

    def apply(self, variables, x, *, training=False, rng=None):
        state = variables["state"]
        axes = axes_of(self, x, self.axis)
        check_sizes(self, x, axes, state["moving_mean"].shape)
        x32 = ops.cast(x, "float32")
        if training and self.trainable:  # a frozen one normalizes as in inference
            others = tuple(a for a in range(len(x.shape)) if a not in axes)
            mean, var = ops.mean(x32, axis=others), ops.var(x32, axis=others)
            axis_name = replica_axis.current() if self.synchronized else None
            if axis_name is not None:
                mean, var = _across_replicas(mean, var, axis_name)
            state = {
                name: self.momentum * state[name] + (1.0 - self.momentum) * stat
                for name, stat in (("moving_mean", mean), ("moving_variance", var))
            }
        else:
            mean, var = state["moving_mean"], state["moving_variance"]
        inv = ops.rsqrt(var + self.epsilon)
        y = (x32 - on_axes(mean, x32, axes)) * on_axes(inv, x32, axes)
        y = _scale_and_center(self, variables["params"], y, axes)
        return ops.cast(y, x.dtype), state


@register()
@dataclass(frozen=True)
class LayerNormalization(Layer):
    """Normalizes each example over `axis`, then scales and shifts per entry.

    `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`, with the mean and
    (biased) variance taken over `axis` separately for every other index.

    Args:
      axis: the axis or axes to normalize over (default -1); `gamma` and
        `beta` have the input's sizes on them.
      epsilon: added to the variance before the square root (default 1e-3).
      center: whether to add the learned offset `beta`.
      scale: whether to multiply by the learned scale `gamma`.
      beta_initializer, gamma_initializer: names or `Initializer`s
        (`"zeros"`, `"ones"`).

    Returns:
      The normalized input, same shape and dtype.

    Raises:
      ShapeError: an input whose `axis` is missing or has other sizes.

    Example:
      >>> layer = LayerNormalization(axis=(-2, -1))
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 4, 8)))
      >>> jax.tree.map(jnp.shape, v)
      {'params': {'beta': (4, 8), 'gamma': (4, 8)}, 'state': {}}
      >>> layer.apply(v, jnp.ones((2, 4, 8)))[0].shape
      (2, 4, 8)
    """

    supports_masking = True

    axis: int | tuple[int, ...] = -1
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    beta_initializer: Any = "zeros"
    gamma_initializer: Any = "ones"
    beta_regularizer: Any = None
    gamma_regularizer: Any = None
    beta_constraint: Any = None
    gamma_constraint: Any = None

    def __post_init__(self):
        super().__post_init__()
        set_fields(self, axis=axis_field(self, self.axis))

    def init(self, key, x):
        shape = tuple(x.shape[a] for a in axes_of(self, x, self.axis))
        return {"params": _affine_params(self, key, shape), "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        params = variables["params"]
        axes = axes_of(self, x, self.axis)
        if params:
            check_sizes(self, x, axes, next(iter(params.values())).shape)
        x32 = ops.cast(x, "float32")
        mean = ops.mean(x32, axis=axes, keepdims=True)
        var = ops.var(x32, axis=axes, keepdims=True)
        y = (x32 - mean) * ops.rsqrt(var + self.epsilon)
        y = _scale_and_center(self, params, y, axes)
        return ops.cast(y, x.dtype), variables["state"]


@register()
@dataclass(frozen=True)
class GroupNormalization(Layer):
    """Normalizes each example over groups of channels: the channels on `axis`
    are split into `groups` runs of equal size, and each run is normalized
    with its mean and (biased) variance over itself and every other axis but
    the batch; then `gamma` and `beta` scale and shift each channel.

    `groups=1` normalizes over everything but the batch (as layer
    normalization of whole examples); `groups=-1` gives each channel its own
    group (instance normalization).

    Args:
      groups: how many groups; it must divide the number of channels.
      axis: the channel axis (default -1).
      epsilon: added to the variance before the square root (default 1e-3).
      center, scale: whether to add `beta` and multiply by `gamma`.
      beta_initializer, gamma_initializer: names or `Initializer`s.
      beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint:
        as for any weight (names or objects, or None).

    Example:
      >>> layer = GroupNormalization(groups=2)
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 5, 4)))
      >>> jax.tree.map(jnp.shape, v["params"])
      {'beta': (4,), 'gamma': (4,)}
      >>> y, _ = layer.apply(v, jnp.arange(40.0).reshape(2, 5, 4))
      >>> abs(round(float(y[0, :, :2].mean()), 6)), round(float(y[0, :, :2].std()), 3)
      (0.0, 1.0)
    """

    supports_masking = True

    groups: int = 32
    axis: int = -1
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    beta_initializer: Any = "zeros"
    gamma_initializer: Any = "ones"
    beta_regularizer: Any = None
    gamma_regularizer: Any = None
    beta_constraint: Any = None
    gamma_constraint: Any = None

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.groups, int) or (self.groups < 1 and self.groups != -1):
            raise ValueError(
                "GroupNormalization: groups must be a positive int or -1 (one "
                f"group per channel), received {self.groups!r}."
            )

    def _groups(self, x, axis: int) -> int:
        channels = x.shape[axis]
        groups = channels if self.groups == -1 else self.groups
        if channels % groups:
            raise ShapeError(
                f"GroupNormalization {self.default_name!r}: {groups} groups do "
                f"not divide the {channels} channels on axis {axis} of the "
                f"input of shape {tuple(x.shape)}; pick groups that divide "
                "the channels."
            )
        return groups

    def init(self, key, x):
        (axis,) = axes_of(self, x, self.axis)
        self._groups(x, axis)
        return {"params": _affine_params(self, key, (x.shape[axis],)), "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        (axis,) = axes_of(self, x, self.axis)
        groups = self._groups(x, axis)
        params = variables["params"]
        if params:
            check_sizes(self, x, (axis,), next(iter(params.values())).shape)
        shape = tuple(x.shape)
        split = shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1 :]
        grouped = ops.reshape(ops.cast(x, "float32"), split)
        over = tuple(a for a in range(1, len(split)) if a != axis)
        mean = ops.mean(grouped, axis=over, keepdims=True)
        var = ops.var(grouped, axis=over, keepdims=True)
        y = ops.reshape((grouped - mean) * ops.rsqrt(var + self.epsilon), shape)
        y = _scale_and_center(self, params, y, (axis,))
        return ops.cast(y, x.dtype), variables["state"]
