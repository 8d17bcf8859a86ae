"""ConvLSTM1D/2D/3D: an LSTM whose matmuls are convolutions, over a time
axis of images (or sequences, or volumes), as Keras's ConvLSTM layers.

Inputs are `(B, T, *spatial, C)` (`(B, T, C, *spatial)` channels first);
the states `h` and `c` are `(B, *spatial_out, filters)`. The input
convolution takes `strides`, `padding` and `dilation_rate`; the recurrent
one is always stride 1 and `"same"`. The whole sequence is convolved with
the input kernel at once, before the scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax

from nn import initializers
from nn.layers.base import check_positive_int
from nn.layers.convolution import Windowed
from nn.layers.core import check_rates
from nn.layers.recurrent import OverOwnCell
from nn.layers.rnn_cells import SplitStep, lstm_bias, lstm_update
from nn.registry import register
from stateless import ops, random


@dataclass(frozen=True)
class _ConvLSTMCell(SplitStep, Windowed):
    """One step of a ConvLSTM; subclasses set `rank`."""

    filters: int
    kernel_size: int | tuple[int, ...]
    strides: int | tuple[int, ...] = 1
    padding: str = "valid"
    data_format: str | None = None
    dilation_rate: int | tuple[int, ...] = 1
    activation: Any = "tanh"
    recurrent_activation: Any = "sigmoid"
    use_bias: bool = True
    kernel_initializer: Any = "glorot_uniform"
    recurrent_initializer: Any = "orthogonal"
    bias_initializer: Any = "zeros"
    unit_forget_bias: bool = True
    kernel_regularizer: Any = None
    recurrent_regularizer: Any = None
    bias_regularizer: Any = None
    kernel_constraint: Any = None
    recurrent_constraint: Any = None
    bias_constraint: Any = None
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    seed: int | None = None

    rank: ClassVar[int]
    weight_aliases: ClassVar[dict[str, str]] = {"recurrent": "recurrent_kernel"}

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, filters=self.filters)
        check_rates(
            self, dropout=self.dropout, recurrent_dropout=self.recurrent_dropout
        )
        self._normalize("kernel_size", "strides", "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{type(self).__name__}: strides > 1 and dilation_rate > 1 do not "
                f"go together (as in Keras); received strides={self.strides}, "
                f"dilation_rate={self.dilation_rate}."
            )

    @property
    def state_size(self) -> list[int]:
        return [self.filters, self.filters]

    @property
    def output_size(self) -> int:
        return self.filters

    def init(self, key, inputs, states=None):
        del states
        channels = self._channels(inputs)
        k_kernel, k_recurrent, k_bias = random.split(key, 3)
        width = 4 * self.filters
        params = {
            "kernel": initializers.get(self.kernel_initializer)(
                k_kernel, (*self.kernel_size, channels, width)
            ),
            "recurrent_kernel": initializers.get(self.recurrent_initializer)(
                k_recurrent, (*self.kernel_size, self.filters, width)
            ),
        }
        if self.use_bias:
            params["bias"] = self._bias(k_bias)
        return {"params": params, "state": {}}

    def _bias(self, key):
        return lstm_bias(self, key, self.filters)

    def check_step(self, params, inputs):
        self._check_channels(inputs, params["kernel"].shape[-2])

    def initial_states(self, step):
        kernel = jax.ShapeDtypeStruct(
            (*self.kernel_size, self._channels(step), 4 * self.filters), step.dtype
        )
        projected = jax.eval_shape(
            lambda x, k: self.project({"kernel": k}, x), step, kernel
        )
        shape = list(projected.shape)
        shape[self._channel_axis()] = self.filters
        return [ops.zeros(tuple(shape), step.dtype) for _ in range(2)]

    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def project(self, params, x):
        """The input convolution (with the bias) of `x` `(..., *step)`."""
        lead, step = (
            x.shape[: x.ndim - self.rank - 1],
            x.shape[x.ndim - self.rank - 1 :],
        )
        y = ops.conv(
            ops.reshape(x, (-1, *step)),
            params["kernel"],
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
        )
        if "bias" in params:
            bias = params["bias"]
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (bias.shape[0], *(1,) * self.rank))
            y = y + bias
        return ops.reshape(y, (*lead, *y.shape[1:]))

    def recur(self, params, projected, states, recurrent_mask):
        h, c = states
        h_in = h if recurrent_mask is None else h * recurrent_mask
        z = projected + ops.conv(
            h_in,
            params["recurrent_kernel"],
            padding="same",
            data_format=self.data_format,
        )
        return lstm_update(self, z, c, axis=self._channel_axis())


@register()
@dataclass(frozen=True)
class ConvLSTM1DCell(_ConvLSTMCell):
    """One ConvLSTM1D step: inputs `(B, steps, C)`."""

    rank: ClassVar[int] = 1


@register()
@dataclass(frozen=True)
class ConvLSTM2DCell(_ConvLSTMCell):
    """One ConvLSTM2D step: inputs `(B, H, W, C)`.

    Example:
      >>> cell = ConvLSTM2DCell(4, 3, padding="same")
      >>> v = cell.init(sl.random.key(0), jnp.ones((2, 8, 8, 3)))
      >>> v["params"]["recurrent_kernel"].shape
      (3, 3, 4, 16)
    """

    rank: ClassVar[int] = 2


@register()
@dataclass(frozen=True)
class ConvLSTM3DCell(_ConvLSTMCell):
    """One ConvLSTM3D step: inputs `(B, D, H, W, C)`."""

    rank: ClassVar[int] = 3


@register()
@dataclass(frozen=True)
class ConvLSTM1D(OverOwnCell, ConvLSTM1DCell):
    """`ConvLSTM2D` over sequences of sequences `(B, T, steps, C)`."""

    cell_type: ClassVar[type] = ConvLSTM1DCell


@register()
@dataclass(frozen=True)
class ConvLSTM2D(OverOwnCell, ConvLSTM2DCell):
    """A convolutional LSTM over sequences of images `(B, T, H, W, C)`, as
    `keras.layers.ConvLSTM2D`.

    Args:
      filters: the channels of `h` and `c`.
      kernel_size, strides, padding, data_format, dilation_rate: the input
        convolution's (the recurrent one is stride 1 and `"same"`).
      activation, recurrent_activation, use_bias, unit_forget_bias,
        initializers, regularizers, constraints, dropout,
        recurrent_dropout, seed: as `LSTM`'s.
      return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: the loop's (`RNN`).

    Example:
      >>> layer = ConvLSTM2D(4, 3, padding="same", return_sequences=True)
      >>> x = jnp.ones((2, 5, 8, 8, 3))
      >>> v = layer.init(sl.random.key(0), x)
      >>> layer.apply(v, x)[0].shape
      (2, 5, 8, 8, 4)
    """

    cell_type: ClassVar[type] = ConvLSTM2DCell


@register()
@dataclass(frozen=True)
class ConvLSTM3D(OverOwnCell, ConvLSTM3DCell):
    """`ConvLSTM2D` over sequences of volumes `(B, T, D, H, W, C)`."""

    cell_type: ClassVar[type] = ConvLSTM3DCell
