"""Convolution layers: Conv1D, Conv2D.

Both share `_Conv`, which is written once for any number of spatial axes.
Layouts follow Keras: inputs are `(batch, *spatial, channels)`, or
`(batch, channels, *spatial)` with `data_format="channels_first"`; kernels are
always `(*kernel_size, in_channels // groups, filters)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from nn import activations, initializers
from nn.layers.base import Layer, check_positive_int, set_fields
from nn.registry import register
from stateless import ops, random
from stateless.errors import ShapeError, check_shape, owner_name
from stateless.window_args import check_data_format, check_padding, spatial_tuple


@dataclass(frozen=True)
class _Conv(Layer):
    """An N-D convolution layer; subclasses set `rank`, the number of spatial axes."""

    rank: ClassVar[int]

    filters: int
    kernel_size: int | tuple[int, ...]
    strides: int | tuple[int, ...] = 1
    padding: str = "valid"
    data_format: str = "channels_last"
    dilation_rate: int | tuple[int, ...] = 1
    groups: int = 1
    activation: str | None = None
    use_bias: bool = True
    kernel_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    bias_regularizer: Any = None

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, filters=self.filters, groups=self.groups)
        if self.filters % self.groups:
            raise ValueError(
                f"{type(self).__name__}: filters ({self.filters}) must be a multiple "
                f"of groups ({self.groups})."
            )
        check_data_format(self, self.data_format)
        set_fields(
            self,
            padding=check_padding(self, self.padding),
            **{
                arg: spatial_tuple(self, arg, getattr(self, arg), self.rank)
                for arg in ("kernel_size", "strides", "dilation_rate")
            },
        )

    def _input_shape(self, channels: int | None) -> tuple[int | None, ...]:
        """The input shape this layer takes, `None` for any size."""
        spatial = (None,) * self.rank
        if self.data_format == "channels_last":
            return (None, *spatial, channels)
        return (None, channels, *spatial)

    def init(self, key, x):
        check_shape(self, "x", x, self._input_shape(None))
        channels = x.shape[-1 if self.data_format == "channels_last" else 1]
        if channels % self.groups:
            raise ShapeError(
                f"{owner_name(self)}, argument 'x': {channels} input channels are "
                f"not a multiple of groups={self.groups} (shape {tuple(x.shape)})."
            )
        k_kernel, k_bias = random.split(key)
        shape = (*self.kernel_size, channels // self.groups, self.filters)
        params = {"kernel": initializers.get(self.kernel_initializer)(k_kernel, shape)}
        if self.use_bias:
            params["bias"] = initializers.get(self.bias_initializer)(
                k_bias, (self.filters,)
            )
        return {"params": params, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        p = variables["params"]
        channels = p["kernel"].shape[-2] * self.groups
        check_shape(
            self,
            "x",
            x,
            self._input_shape(channels),
            f"the kernel takes {channels} input channels ({self.data_format}); "
            "call init again for inputs of another shape.",
        )
        y = ops.conv(
            x,
            p["kernel"],
            self.strides,
            self.padding,
            self.data_format,
            self.dilation_rate,
        )
        if self.use_bias:
            bias = p["bias"]
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (self.filters, *(1,) * self.rank))
            y = y + bias
        return activations.get(self.activation)(y), variables["state"]


@register()
@dataclass(frozen=True)
class Conv1D(_Conv):
    """A 1-D convolution over `(batch, steps, channels)` inputs.

    Args: as `Conv2D`, with one spatial axis (`kernel_size`, `strides` and
    `dilation_rate` are an int or a 1-tuple).

    Raises:
      ValueError: a bad hyperparameter, named.
      ShapeError: an input of the wrong rank or channel count.

    Example:
      >>> layer = Conv1D(8, 3, padding="same")
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 10, 4)))
      >>> jax.tree.map(jnp.shape, v)
      {'params': {'bias': (8,), 'kernel': (3, 4, 8)}, 'state': {}}
      >>> layer.apply(v, jnp.ones((2, 10, 4)))[0].shape
      (2, 10, 8)
    """

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class Conv2D(_Conv):
    """A 2-D convolution, `activation(conv(x, kernel) + bias)`.

    Args:
      filters: the number of output channels.
      kernel_size: the window, an int or `(height, width)`.
      strides: the step per spatial axis, an int or a tuple (default 1).
      padding: `"valid"` (no padding) or `"same"` (output size
        `ceil(size / stride)`, padded as TensorFlow does).
      data_format: `"channels_last"` (`(batch, height, width, channels)`) or
        `"channels_first"` (`(batch, channels, height, width)`).
      dilation_rate: the kernel dilation per spatial axis (default 1).
      groups: split the channels into this many independent groups; both the
        input channels and `filters` must be multiples of it.
      activation: an activation name, or None for linear.
      use_bias: whether to add a bias per output channel.
      kernel_initializer, bias_initializer: names or `Initializer`s.
      kernel_regularizer, bias_regularizer: names or `L1L2`, or None.

    Returns:
      `(batch, out_height, out_width, filters)`, or channels first.

    Raises:
      ValueError: a bad hyperparameter, named.
      ShapeError: an input of the wrong rank or channel count.

    Example:
      >>> layer = Conv2D(32, 3, activation="relu")
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 28, 28, 1)))
      >>> jax.tree.map(jnp.shape, v)
      {'params': {'bias': (32,), 'kernel': (3, 3, 1, 32)}, 'state': {}}
      >>> layer.apply(v, jnp.ones((2, 28, 28, 1)))[0].shape
      (2, 26, 26, 32)
    """

    rank: ClassVar[int] = 2
