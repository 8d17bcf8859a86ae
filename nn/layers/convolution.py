"""Convolution layers: Conv1D, Conv2D, Conv3D (and Keras's Convolution* names).

All share `_Conv`, which is written once for any number of spatial axes.
Layouts follow Keras: inputs are `(batch, *spatial, channels)`, or
`(batch, channels, *spatial)` with `data_format="channels_first"` (None means
channels last, as Keras's default); kernels are always
`(*kernel_size, in_channels // groups, filters)`. Conv1D also takes
`padding="causal"`: zeros before the sequence only, so step `t` of the output
sees steps up to `t`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from nn import activations, initializers
from nn.layers.base import Layer, check_positive_int, set_fields
from nn.registry import register
from stateless import ops, random
from stateless.errors import ShapeError, check_shape, owner_name
from stateless.window_args import check_padding, layer_data_format, spatial_tuple


def causal_pad(x: Any, kernel_size: tuple[int], dilation: tuple[int], data_format: str):
    """`x` with `(kernel - 1) * dilation` zeros before its one spatial axis."""
    axis = 1 if data_format == "channels_last" else 2
    widths = [(0, 0)] * 3
    widths[axis] = ((kernel_size[0] - 1) * dilation[0], 0)
    return ops.pad(x, widths)


class Windowed(Layer):
    """What the convolution layers share: `rank` spatial axes, Keras's layouts,
    the window arguments normalized, the input checked, the bias added."""

    rank: ClassVar[int]

    def _normalize(self, *window_args: str, causal: bool = False) -> None:
        """Normalizes `data_format`, `padding` ("causal" too when allowed) and
        each of `window_args` to one int per spatial axis (from `__post_init__`)."""
        causal = causal and str(self.padding).lower() == "causal"
        set_fields(
            self,
            data_format=layer_data_format(self, self.data_format),
            padding="causal" if causal else check_padding(self, self.padding),
            **{
                a: spatial_tuple(self, a, getattr(self, a), self.rank)
                for a in window_args
            },
        )

    def _input_shape(self, channels: int | None) -> tuple[int | None, ...]:
        """The input shape this layer takes, `None` for any size."""
        spatial = (None,) * self.rank
        if self.data_format == "channels_last":
            return (None, *spatial, channels)
        return (None, channels, *spatial)

    def _channels(self, x: Any) -> int:
        check_shape(self, "x", x, self._input_shape(None))
        return x.shape[-1 if self.data_format == "channels_last" else 1]

    def _check_channels(self, x: Any, channels: int) -> None:
        check_shape(
            self, "x", x, self._input_shape(channels),
            f"the kernel takes {channels} input channels ({self.data_format}); "
            "call init again for inputs of another shape.",
        )  # fmt: skip

    def _bias_and_activation(self, y: Any, params: dict[str, Any]) -> Any:
        if self.use_bias:
            bias = params["bias"]
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (bias.shape[0], *(1,) * self.rank))
            y = y + bias
        return activations.get(self.activation)(y)


def make_weights(key: Any, **shapes_and_initializers: Any) -> dict[str, Any]:
    """`{name: initializer(key_i, shape)}` for `name=(shape, initializer)`
    pairs (a None pair is left out), one key per name in order."""
    given = {n: v for n, v in shapes_and_initializers.items() if v is not None}
    keys = random.split(key, max(2, len(given)))  # two, as layers always drew
    return {
        name: initializers.get(initializer)(k, shape)
        for k, (name, (shape, initializer)) in zip(keys, given.items())
    }


@dataclass(frozen=True)
class _Conv(Windowed):
    """An N-D convolution layer; subclasses set `rank`, the number of spatial axes."""

    filters: int
    kernel_size: int | tuple[int, ...]
    strides: int | tuple[int, ...] = 1
    padding: str = "valid"
    data_format: str | None = "channels_last"
    dilation_rate: int | tuple[int, ...] = 1
    groups: int = 1
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
        check_positive_int(self, filters=self.filters, groups=self.groups)
        if self.filters % self.groups:
            raise ValueError(
                f"{type(self).__name__}: filters ({self.filters}) must be a multiple "
                f"of groups ({self.groups})."
            )
        self._normalize(
            "kernel_size", "strides", "dilation_rate", causal=self.rank == 1
        )

    def init(self, key, x):
        channels = self._channels(x)
        if channels % self.groups:
            raise ShapeError(
                f"{owner_name(self)}, argument 'x': {channels} input channels are "
                f"not a multiple of groups={self.groups} (shape {tuple(x.shape)})."
            )
        shape = (*self.kernel_size, channels // self.groups, self.filters)
        bias = ((self.filters,), self.bias_initializer) if self.use_bias else None
        params = make_weights(key, kernel=(shape, self.kernel_initializer), bias=bias)
        return {"params": params, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        p = variables["params"]
        self._check_channels(x, p["kernel"].shape[-2] * self.groups)
        padding = self.padding
        if padding == "causal":
            x, padding = causal_pad(x, self.kernel_size, self.dilation_rate,
                                    self.data_format), "valid"  # fmt: skip
        y = ops.conv(
            x, p["kernel"], self.strides, padding, self.data_format, self.dilation_rate
        )
        return self._bias_and_activation(y, p), variables["state"]


@register()
@dataclass(frozen=True)
class Conv1D(_Conv):
    """A 1-D convolution over `(batch, steps, channels)` inputs.

    Args: as `Conv2D`, with one spatial axis (`kernel_size`, `strides` and
    `dilation_rate` are an int or a 1-tuple), and `padding="causal"` besides
    `"valid"` and `"same"`.

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
      kernel_constraint, bias_constraint: names or `Constraint`s, applied
        after each update in fit.

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


@register()
@dataclass(frozen=True)
class Conv3D(_Conv):
    """A 3-D convolution over `(batch, depth, height, width, channels)` inputs.

    Args: as `Conv2D`, with three spatial axes.

    Example:
      >>> layer = Conv3D(4, 3, padding="same")
      >>> v = layer.init(sl.random.key(0), jnp.ones((1, 6, 6, 6, 2)))
      >>> layer.apply(v, jnp.ones((1, 6, 6, 6, 2)))[0].shape
      (1, 6, 6, 6, 4)
    """

    rank: ClassVar[int] = 3


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D  # Keras's aliases
