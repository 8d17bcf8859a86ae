"""SimpleRNN, LSTM and GRU: `RNN`'s loop over their cells, with the cells'
keywords on the layer, as in Keras.

Their weights are the cell's, at the top of the layer's params
(`kernel`, `recurrent_kernel`, `bias`). Shapes: B batch, T time, D input
features, U units.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from nn.layers.base import Layer
from nn.layers.rnn import Recurrence
from nn.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from nn.registry import register

_CUDNN = ("auto", True, False)


@dataclass(frozen=True, kw_only=True)
class OverOwnCell(Recurrence):
    """A recurrent layer whose fields are its cell's: `step_cell()` is its
    `cell_type` made from them, and the cell's weights are the layer's."""

    cell_type: ClassVar[type]

    def step_cell(self):
        own = {f.name: getattr(self, f.name) for f in fields(self.cell_type)}
        return self.cell_type(**{**own, "name": None})

    def cell_variables(self, variables):
        return variables

    def wrap_cell_variables(self, cell_variables):
        return cell_variables


@dataclass(frozen=True, kw_only=True)
class _CudnnSwitch(Layer):
    """`use_cudnn`: Keras's switch of its cuDNN kernel for LSTM and GRU,
    which Keras's JAX backend does not have either: here XLA compiles the
    scan on every device, whatever its value."""

    use_cudnn: Any = "auto"

    def __post_init__(self):
        super().__post_init__()
        if self.use_cudnn not in _CUDNN:
            raise ValueError(
                f"{type(self).__name__}: use_cudnn must be one of {_CUDNN}, "
                f"received {self.use_cudnn!r}."
            )


@register()
@dataclass(frozen=True)
class SimpleRNN(OverOwnCell, SimpleRNNCell):
    """A fully connected RNN, as `keras.layers.SimpleRNN`:
    `h = activation(x_t @ kernel + bias + h @ recurrent_kernel)`.

    Args:
      units: the size of `h`.
      activation, use_bias, initializers, regularizers, constraints,
        dropout, recurrent_dropout, seed: the cell's (`SimpleRNNCell`).
      return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: the loop's (`RNN`).

    Example:
      >>> layer = SimpleRNN(4, return_sequences=True)
      >>> x = jnp.ones((2, 5, 3))
      >>> v = layer.init(sl.random.key(0), x)
      >>> layer.apply(v, x)[0].shape
      (2, 5, 4)
    """

    cell_type: ClassVar[type] = SimpleRNNCell


@register()
@dataclass(frozen=True)
class LSTM(_CudnnSwitch, OverOwnCell, LSTMCell):
    """Long short-term memory, as `keras.layers.LSTM` (gates i, f, c, o).

    With `z = x_t @ kernel + h @ recurrent_kernel + bias` split into four:
    `c = sig(z_f) * c + sig(z_i) * act(z_c)`, `h = sig(z_o) * act(c)`.

    Args:
      units: the size of `h` and `c`.
      activation, recurrent_activation, use_bias, unit_forget_bias,
        initializers, regularizers, constraints, dropout,
        recurrent_dropout, seed: the cell's (`LSTMCell`).
      return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: the loop's (`RNN`); with `return_state` the
        outputs are `[output, h, c]`.
      use_cudnn: Keras's cuDNN switch; XLA compiles the scan whatever it is.

    Example:
      >>> layer = LSTM(4, return_sequences=True, return_state=True)
      >>> x = jnp.ones((2, 5, 3))
      >>> variables = layer.init(sl.random.key(0), x)
      >>> jax.tree.map(jnp.shape, variables["params"])
      {'bias': (16,), 'kernel': (3, 16), 'recurrent_kernel': (4, 16)}
      >>> [a.shape for a in layer.apply(variables, x)[0]]
      [(2, 5, 4), (2, 4), (2, 4)]
    """

    cell_type: ClassVar[type] = LSTMCell


@register()
@dataclass(frozen=True)
class GRU(_CudnnSwitch, OverOwnCell, GRUCell):
    """Gated recurrent unit, as `keras.layers.GRU` (gates z, r, h).

    Args:
      units: the size of `h`.
      activation, recurrent_activation, use_bias, reset_after,
        initializers, regularizers, constraints, dropout,
        recurrent_dropout, seed: the cell's (`GRUCell`).
      return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: the loop's (`RNN`).
      use_cudnn: Keras's cuDNN switch; XLA compiles the scan whatever it is.

    Example:
      >>> layer = GRU(4)
      >>> x = jnp.ones((2, 5, 3))
      >>> variables = layer.init(sl.random.key(0), x)
      >>> jax.tree.map(jnp.shape, variables["params"])
      {'bias': (2, 12), 'kernel': (3, 12), 'recurrent_kernel': (4, 12)}
      >>> layer.apply(variables, x)[0].shape
      (2, 4)
    """

    cell_type: ClassVar[type] = GRUCell
