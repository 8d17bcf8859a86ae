"""Regularization layers: noise while training, the identity at inference
(SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout), and
ActivityRegularization, which adds a penalty on what passes through.

Random layers draw from the `rng` key `apply` is given (the model hands each
layer its own); a `seed` is folded into that key, so two layers with
different seeds draw differently from one key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from nn.layers.base import Layer, set_fields
from nn.layers.core import check_rates, layer_key
from nn.registry import register
from nn.regularizers import L1L2
from stateless import added_losses, ops, random
from stateless.errors import check_shape
from stateless.window_args import layer_data_format

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(frozen=True)
class _SpatialDropout(Layer):
    """Dropout of whole channels: one draw per example and channel, shared
    over every spatial position; subclasses set `rank`."""

    rank: ClassVar[int]

    rate: float
    data_format: str | None = "channels_last"
    seed: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check_rates(self, rate=self.rate)
        set_fields(self, data_format=layer_data_format(self, self.data_format))

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (None,) * (self.rank + 2))
        if not training or self.rate == 0.0:
            return x, variables["state"]
        channel = -1 if self.data_format == "channels_last" else 1
        shape = [1] * len(x.shape)
        shape[0], shape[channel] = x.shape[0], x.shape[channel]
        key = layer_key(self, rng, self.seed)
        return random.dropout(x, self.rate, shape, seed=key), variables["state"]


@register()
@dataclass(frozen=True)
class SpatialDropout1D(_SpatialDropout):
    """Drops whole feature channels of `(batch, steps, channels)` sequences.

    Example:
      >>> layer, v = SpatialDropout1D(0.5), {"params": {}, "state": {}}
      >>> y, _ = layer.apply(v, jnp.ones((1, 4, 3)), training=True,
      ...                    rng=sl.random.key(1))
      >>> bool((y == y[:, :1]).all())  # each channel dropped at every step
      True
    """

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of images.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> SpatialDropout2D(0.3).apply(v, jnp.ones((2, 4, 4, 8)))[0].shape
      (2, 4, 4, 8)
    """

    rank: ClassVar[int] = 2


@register()
@dataclass(frozen=True)
class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> SpatialDropout3D(0.3).apply(v, jnp.ones((1, 2, 2, 2, 4)))[0].shape
      (1, 2, 2, 2, 4)
    """

    rank: ClassVar[int] = 3


@register()
@dataclass(frozen=True)
class GaussianNoise(Layer):
    """Adds zero-mean normal noise of `stddev` while training.

    Example:
      >>> layer, v = GaussianNoise(0.1), {"params": {}, "state": {}}
      >>> y, _ = layer.apply(v, jnp.zeros((1000,)), training=True,
      ...                    rng=sl.random.key(0))
      >>> round(float(y.std()), 1)
      0.1
    """

    supports_masking = True

    stddev: float
    seed: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if not self.stddev >= 0:
            raise ValueError(
                f"GaussianNoise: stddev must be >= 0, received {self.stddev!r}."
            )

    def apply(self, variables, x, *, training=False, rng=None):
        if not training or self.stddev == 0:
            return x, variables["state"]
        key = layer_key(self, rng, self.seed)
        noise = random.normal(x.shape, stddev=self.stddev, dtype=x.dtype, seed=key)
        return x + noise, variables["state"]


@register()
@dataclass(frozen=True)
class GaussianDropout(Layer):
    """Multiplies by normal noise of mean 1 and variance `rate / (1 - rate)`
    while training (the variance that dropout of `rate` has).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> GaussianDropout(0.2).apply(v, jnp.ones(3))[0].tolist()  # inference
      [1.0, 1.0, 1.0]
    """

    supports_masking = True

    rate: float
    seed: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check_rates(self, rate=self.rate)

    def apply(self, variables, x, *, training=False, rng=None):
        if not training or self.rate == 0.0:
            return x, variables["state"]
        key = layer_key(self, rng, self.seed)
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = random.normal(x.shape, 1.0, stddev, dtype=x.dtype, seed=key)
        return x * noise, variables["state"]


@register()
@dataclass(frozen=True)
class AlphaDropout(Layer):
    """Dropout for self-normalizing (SELU) networks: dropped entries take
    SELU's negative limit and an affine map keeps the mean and variance.

    Args:
      rate: the drop probability, in `[0, 1)`.
      noise_shape: the mask's shape, `None` entries taken from the input.
      seed: folded into the key of `apply`.

    Example:
      >>> layer, v = AlphaDropout(0.2), {"params": {}, "state": {}}
      >>> x = sl.random.normal((20000,), seed=0)
      >>> y, _ = layer.apply(v, x, training=True, rng=sl.random.key(1))
      >>> abs(round(float(y.mean()), 1)), round(float(y.std()), 1)
      (0.0, 1.0)
    """

    supports_masking = True

    rate: float
    noise_shape: tuple[int | None, ...] | None = None
    seed: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check_rates(self, rate=self.rate)
        if self.noise_shape is not None:
            set_fields(self, noise_shape=tuple(self.noise_shape))

    def apply(self, variables, x, *, training=False, rng=None):
        if not training or self.rate == 0.0:
            return x, variables["state"]
        shape = x.shape
        if self.noise_shape is not None:
            shape = tuple(
                d if n is None else n for d, n in zip(x.shape, self.noise_shape)
            )
        key = layer_key(self, rng, self.seed)
        kept = random.uniform(shape, dtype=x.dtype, seed=key) >= self.rate
        dropped_value = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * dropped_value**2)) ** -0.5
        b = -a * dropped_value * self.rate
        y = ops.where(kept, x, ops.cast(dropped_value, x.dtype))
        return a * y + b, variables["state"]


@register()
@dataclass(frozen=True)
class ActivityRegularization(Layer):
    """The identity, adding `(l1 * sum|x| + l2 * sum x**2) / batch` to the
    loss (as Keras: the penalty is averaged over the batch).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> with added_losses.collect_losses() as added:
      ...     _ = ActivityRegularization(l2=0.5).apply(v, jnp.ones((2, 3)))
      >>> [float(loss) for loss in added]
      [1.5]
    """

    supports_masking = True

    l1: float = 0.0
    l2: float = 0.0

    def apply(self, variables, x, *, training=False, rng=None):
        if self.l1 or self.l2:
            batch = x.shape[0] if len(x.shape) else 1
            penalty = L1L2(self.l1, self.l2)(ops.cast(x, "float32"))
            added_losses.add_loss(penalty / max(batch, 1))
        return x, variables["state"]
