"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D.

A depthwise convolution filters each input channel on its own
(`depth_multiplier` filters per channel); a separable one follows it with a
1x1 convolution that mixes the channels. Weights are named and laid out as
Keras's: `kernel` `(*kernel_size, channels, depth_multiplier)` for the
depthwise layers; `depthwise_kernel` and `pointwise_kernel` `(*1s, channels *
depth_multiplier, filters)` for the separable ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from nn.layers.base import check_positive_int
from nn.layers.convolution import Windowed, make_weights
from nn.registry import register
from stateless import ops


@dataclass(frozen=True)
class _DepthwiseConv(Windowed):
    kernel_size: int | tuple[int, ...]
    strides: int | tuple[int, ...] = 1
    padding: str = "valid"
    depth_multiplier: int = 1
    data_format: str | None = "channels_last"
    dilation_rate: int | tuple[int, ...] = 1
    activation: str | None = None
    use_bias: bool = True
    depthwise_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    depthwise_regularizer: Any = None
    bias_regularizer: Any = None
    depthwise_constraint: Any = None
    bias_constraint: Any = None

    weight_aliases: ClassVar[dict[str, str]] = {"depthwise": "kernel"}

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, depth_multiplier=self.depth_multiplier)
        self._normalize("kernel_size", "strides", "dilation_rate")

    def init(self, key, x):
        channels = self._channels(x)
        shape = (*self.kernel_size, channels, self.depth_multiplier)
        outputs = channels * self.depth_multiplier
        bias = ((outputs,), self.bias_initializer) if self.use_bias else None
        params = make_weights(
            key, kernel=(shape, self.depthwise_initializer), bias=bias
        )
        return {"params": params, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        p = variables["params"]
        self._check_channels(x, p["kernel"].shape[-2])
        y = ops.depthwise_conv(
            x, p["kernel"], self.strides, self.padding, self.data_format,
            self.dilation_rate,
        )  # fmt: skip
        return self._bias_and_activation(y, p), variables["state"]


@register()
@dataclass(frozen=True)
class DepthwiseConv1D(_DepthwiseConv):
    """A depthwise 1-D convolution over `(batch, steps, channels)`.

    Args: as `DepthwiseConv2D`, with one spatial axis.

    Example:
      >>> layer = DepthwiseConv1D(3, depth_multiplier=2)
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 8, 4)))
      >>> layer.apply(v, jnp.ones((2, 8, 4)))[0].shape
      (2, 6, 8)
    """

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class DepthwiseConv2D(_DepthwiseConv):
    """Each input channel convolved with its own `depth_multiplier` filters.

    Args:
      kernel_size, strides, padding, data_format, dilation_rate: as `Conv2D`.
      depth_multiplier: filters per input channel; the output has
        `channels * depth_multiplier` channels, grouped by input channel.
      activation, use_bias: as `Conv2D`.
      depthwise_initializer, bias_initializer: names or `Initializer`s.
      depthwise_regularizer, bias_regularizer: names or `L1L2`, or None.
      depthwise_constraint, bias_constraint: names or `Constraint`s, applied
        after each update in fit.

    Raises:
      ValueError: a bad hyperparameter, named.
      ShapeError: an input of the wrong rank or channel count.

    Example:
      >>> layer = DepthwiseConv2D(3, padding="same")
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 8, 8, 3)))
      >>> jax.tree.map(jnp.shape, v["params"])
      {'bias': (3,), 'kernel': (3, 3, 3, 1)}
    """

    rank: ClassVar[int] = 2


@dataclass(frozen=True)
class _SeparableConv(Windowed):
    filters: int
    kernel_size: int | tuple[int, ...]
    strides: int | tuple[int, ...] = 1
    padding: str = "valid"
    data_format: str | None = "channels_last"
    dilation_rate: int | tuple[int, ...] = 1
    depth_multiplier: int = 1
    activation: str | None = None
    use_bias: bool = True
    depthwise_initializer: Any = "glorot_uniform"
    pointwise_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    depthwise_regularizer: Any = None
    pointwise_regularizer: Any = None
    bias_regularizer: Any = None
    depthwise_constraint: Any = None
    pointwise_constraint: Any = None
    bias_constraint: Any = None

    weight_aliases: ClassVar[dict[str, str]] = {
        "depthwise": "depthwise_kernel",
        "pointwise": "pointwise_kernel",
    }

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(
            self, filters=self.filters, depth_multiplier=self.depth_multiplier
        )
        self._normalize("kernel_size", "strides", "dilation_rate")

    def init(self, key, x):
        channels = self._channels(x)
        middle = channels * self.depth_multiplier
        params = make_weights(
            key,
            depthwise_kernel=(
                (*self.kernel_size, channels, self.depth_multiplier),
                self.depthwise_initializer,
            ),
            pointwise_kernel=(
                ((1,) * self.rank + (middle, self.filters)),
                self.pointwise_initializer,
            ),
            bias=((self.filters,), self.bias_initializer) if self.use_bias else None,
        )
        return {"params": params, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        p = variables["params"]
        self._check_channels(x, p["depthwise_kernel"].shape[-2])
        y = ops.depthwise_conv(
            x, p["depthwise_kernel"], self.strides, self.padding, self.data_format,
            self.dilation_rate,
        )  # fmt: skip
        y = ops.conv(y, p["pointwise_kernel"], 1, "valid", self.data_format)
        return self._bias_and_activation(y, p), variables["state"]


@register()
@dataclass(frozen=True)
class SeparableConv1D(_SeparableConv):
    """A separable 1-D convolution over `(batch, steps, channels)`.

    Args: as `SeparableConv2D`, with one spatial axis.

    Example:
      >>> layer = SeparableConv1D(4, 3)
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 8, 3)))
      >>> layer.apply(v, jnp.ones((2, 8, 3)))[0].shape
      (2, 6, 4)
    """

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class SeparableConv2D(_SeparableConv):
    """A depthwise convolution, then a 1x1 convolution mixing the channels.

    Args:
      filters: the number of output channels.
      kernel_size, strides, padding, data_format, dilation_rate: as `Conv2D`
        (the strides and dilation apply to the depthwise step).
      depth_multiplier: depthwise filters per input channel.
      activation, use_bias: as `Conv2D`.
      depthwise_initializer, pointwise_initializer, bias_initializer: names or
        `Initializer`s.
      depthwise_regularizer, pointwise_regularizer, bias_regularizer: names or
        `L1L2`, or None.
      depthwise_constraint, pointwise_constraint, bias_constraint: names or
        `Constraint`s, applied after each update in fit.

    Example:
      >>> layer = SeparableConv2D(8, 3, depth_multiplier=2)
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 8, 8, 3)))
      >>> jax.tree.map(jnp.shape, v["params"])
      {'bias': (8,), 'depthwise_kernel': (3, 3, 3, 2), 'pointwise_kernel': (1, 1, 6, 8)}
    """

    rank: ClassVar[int] = 2


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
