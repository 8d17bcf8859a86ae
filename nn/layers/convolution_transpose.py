"""Transposed convolutions: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose.

Each upsamples as the gradient of a convolution with the same window would
(`ops.conv_transpose`), with Keras's output sizes and kernel layout
`(*kernel_size, filters, in_channels)`, so Keras's weights load as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from nn.layers.base import check_positive_int, set_fields
from nn.layers.convolution import Windowed, make_weights
from nn.registry import register
from stateless import ops


@dataclass(frozen=True)
class _ConvTranspose(Windowed):
    """An N-D transposed convolution; subclasses set `rank`."""

    filters: int
    kernel_size: int | tuple[int, ...]
    strides: int | tuple[int, ...] = 1
    padding: str = "valid"
    output_padding: int | tuple[int, ...] | None = None
    data_format: str | None = "channels_last"
    dilation_rate: int | tuple[int, ...] = 1
    activation: str | None = None
    use_bias: bool = True
    kernel_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    bias_regularizer: Any = None
    kernel_constraint: Any = None
    bias_constraint: Any = None

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, filters=self.filters)
        self._normalize("kernel_size", "strides", "dilation_rate")
        if self.output_padding is not None:
            extra = self.output_padding
            extra = (extra,) * self.rank if isinstance(extra, int) else tuple(extra)
            if len(extra) != self.rank or not all(
                isinstance(e, int) and 0 <= e < s for e, s in zip(extra, self.strides)
            ):
                raise ValueError(
                    f"{type(self).__name__}: output_padding must be {self.rank} "
                    f"int(s), each in [0, stride) for strides {self.strides}; "
                    f"received {self.output_padding!r}."
                )
            set_fields(self, output_padding=extra)

    def init(self, key, x):
        shape = (*self.kernel_size, self.filters, self._channels(x))
        bias = ((self.filters,), self.bias_initializer) if self.use_bias else None
        params = make_weights(key, kernel=(shape, self.kernel_initializer), bias=bias)
        return {"params": params, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        p = variables["params"]
        self._check_channels(x, p["kernel"].shape[-1])
        y = ops.conv_transpose(
            x, p["kernel"], self.strides, self.padding, self.output_padding,
            self.data_format, self.dilation_rate,
        )  # fmt: skip
        return self._bias_and_activation(y, p), variables["state"]


@register()
@dataclass(frozen=True)
class Conv1DTranspose(_ConvTranspose):
    """A 1-D transposed convolution over `(batch, steps, channels)`.

    Args: as `Conv2DTranspose`, with one spatial axis.

    Example:
      >>> layer = Conv1DTranspose(4, 3, strides=2, padding="same")
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 5, 3)))
      >>> layer.apply(v, jnp.ones((2, 5, 3)))[0].shape
      (2, 10, 4)
    """

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class Conv2DTranspose(_ConvTranspose):
    """A 2-D transposed convolution, the upsampling half of an autoencoder.

    Args:
      filters: the number of output channels.
      kernel_size: the window, an int or `(height, width)`.
      strides: the upsampling factor per spatial axis (default 1).
      padding: `"valid"` (each output size `input * stride + max(kernel -
        stride, 0)`) or `"same"` (`input * stride`).
      output_padding: extra size per spatial axis, each less than its stride;
        None for the sizes above.
      data_format: `"channels_last"` (or None) or `"channels_first"`.
      dilation_rate: the kernel dilation per spatial axis.
      activation, use_bias, kernel_initializer, bias_initializer,
      kernel_regularizer, bias_regularizer, kernel_constraint,
        bias_constraint: as `Conv2D`.

    Raises:
      ValueError: a bad hyperparameter, named.
      ShapeError: an input of the wrong rank or channel count.

    Example:
      >>> layer = Conv2DTranspose(8, 3, strides=2)
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 7, 7, 16)))
      >>> jax.tree.map(jnp.shape, v["params"])
      {'bias': (8,), 'kernel': (3, 3, 8, 16)}
      >>> layer.apply(v, jnp.ones((2, 7, 7, 16)))[0].shape
      (2, 15, 15, 8)
    """

    rank: ClassVar[int] = 2


@register()
@dataclass(frozen=True)
class Conv3DTranspose(_ConvTranspose):
    """A 3-D transposed convolution over `(batch, depth, height, width, channels)`.

    Args: as `Conv2DTranspose`, with three spatial axes.

    Example:
      >>> layer = Conv3DTranspose(2, 2, strides=2)
      >>> v = layer.init(sl.random.key(0), jnp.ones((1, 3, 3, 3, 4)))
      >>> layer.apply(v, jnp.ones((1, 3, 3, 3, 4)))[0].shape
      (1, 6, 6, 6, 2)
    """

    rank: ClassVar[int] = 3


# Keras's aliases
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
