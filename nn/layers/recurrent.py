"""Recurrent layers: LSTM and GRU, each one `jax.lax.scan` over time.

Shapes: B batch, T time, D input features, U units, G gates times units.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import jax

from nn import activations, initializers
from nn.layers.base import Layer, check_positive_int
from nn.registry import register
from stateless import ops, random
from stateless.errors import check_shape


@dataclass(frozen=True)
class _RNN(Layer):
    """What LSTM and GRU share: parameters, the scan, masking and the outputs.

    A subclass sets `_gates` (gate blocks per step) and `_num_states`, and
    writes `_bias` (the initial bias), `_input_bias` (the part of the bias
    added to the input projection) and `_step` (one cell update).
    """

    units: int
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    use_bias: bool = True
    kernel_initializer: Any = "glorot_uniform"
    recurrent_initializer: Any = "orthogonal"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    recurrent_regularizer: Any = None
    bias_regularizer: Any = None
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False

    _gates: ClassVar[int]
    _num_states: ClassVar[int]

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, units=self.units)

    def init(self, key, x):
        k_kernel, k_recurrent, k_bias = random.split(key, 3)
        width = self._gates * self.units
        params = {
            "kernel": initializers.get(self.kernel_initializer)(
                k_kernel, (x.shape[-1], width)
            ),
            "recurrent_kernel": initializers.get(self.recurrent_initializer)(
                k_recurrent, (self.units, width)
            ),
        }
        if self.use_bias:
            params["bias"] = self._bias(k_bias)
        return {"params": params, "state": {}}

    def apply(
        self, variables, x, *, mask=None, initial_state=None, training=False, rng=None
    ):
        """Runs the cell over the time axis of `x`.

        Args:
          variables: from `init`.
          x: `(B, T, D)`.
          mask: boolean `(B, T)`, or None. At a masked step (False) the
            state is kept unchanged and the output repeats the previous one.
          initial_state: a list of `(B, U)` arrays (`[h, c]` for LSTM, `[h]`
            or `h` for GRU); zeros by default.
          training, rng: unused (no dropout).

        Returns:
          `(outputs, state)`: outputs are the last output `(B, U)`, or all
          of them `(B, T, U)` with `return_sequences` (in processing order,
          so reversed with `go_backwards`); with `return_state`, a list of
          that and the final states.

        Raises:
          ShapeError: `x`, `mask` or `initial_state` has the wrong shape.
          ValueError: `initial_state` has the wrong number of arrays.
        """
        p = variables["params"]
        check_shape(self, "x", x, (None, None, p["kernel"].shape[0]))
        batch, steps = x.shape[:2]
        xw_TxBxG = ops.moveaxis(ops.matmul(x, p["kernel"]) + self._input_bias(p), 1, 0)
        keep_TxBx1 = None
        if mask is not None:
            check_shape(self, "mask", mask, (batch, steps))
            keep_TxBx1 = ops.expand_dims(ops.moveaxis(ops.cast(mask, "bool"), 1, 0), -1)
        if self.go_backwards:
            xw_TxBxG, keep_TxBx1 = jax.tree.map(
                lambda a: ops.flip(a, 0), (xw_TxBxG, keep_TxBx1)
            )
        states = self._initial_states(initial_state, batch, xw_TxBxG.dtype)

        def step(carry, inputs):
            xw_BxG, keep_Bx1 = inputs
            new = self._step(p, xw_BxG, carry)
            if keep_Bx1 is not None:
                new = tuple(ops.where(keep_Bx1, n, c) for n, c in zip(new, carry))
            return new, new[0]

        final, outputs_TxBxU = jax.lax.scan(step, states, (xw_TxBxG, keep_TxBx1))
        output = final[0]
        if self.return_sequences:
            output = ops.moveaxis(outputs_TxBxU, 0, 1)
        if self.return_state:
            return [output, *final], variables["state"]
        return output, variables["state"]

    def _initial_states(self, initial_state, batch, dtype) -> tuple[Any, ...]:
        if initial_state is None:
            zeros = ops.zeros((batch, self.units), dtype)
            return (zeros,) * self._num_states
        if not isinstance(initial_state, list | tuple):
            initial_state = [initial_state]
        if len(initial_state) != self._num_states:
            raise ValueError(
                f"{type(self).__name__} {self.default_name!r}, argument "
                f"'initial_state': expected {self._num_states} arrays, received "
                f"{len(initial_state)}."
            )
        for state in initial_state:
            check_shape(self, "initial_state", state, (batch, self.units))
        return tuple(ops.cast(state, dtype) for state in initial_state)

    def param_regularizers(self) -> dict[str, Any]:
        """`recurrent_regularizer` penalizes `recurrent_kernel` (Keras's names)."""
        by_name = super().param_regularizers()
        if "recurrent" in by_name:
            by_name["recurrent_kernel"] = by_name.pop("recurrent")
        return by_name

    @abstractmethod
    def _bias(self, key):
        """The initial bias."""

    @abstractmethod
    def _input_bias(self, params):
        """The part of the bias added to `x @ kernel` (0.0 without a bias)."""

    @abstractmethod
    def _step(self, params, xw_BxG, states):
        """The new states `(h, ...)` after one step, from `x_t @ kernel + bias`."""


@register()
@dataclass(frozen=True)
class LSTM(_RNN):
    """Long short-term memory, as `keras.layers.LSTM` (gates i, f, c, o).

    With `z = x_t @ kernel + h @ recurrent_kernel + bias` split into four:
    `c = sig(z_f) * c + sig(z_i) * act(z_c)`, `h = sig(z_o) * act(c)`, where
    `act` is `activation` and `sig` is `recurrent_activation`.

    Args:
      units: the size of `h` and `c`.
      activation, recurrent_activation: names (default `"tanh"`, `"sigmoid"`).
      use_bias: whether to add a bias `(4 * units,)`.
      kernel_initializer, recurrent_initializer, bias_initializer: names or
        `Initializer`s for `kernel` `(D, 4 * units)`, `recurrent_kernel`
        `(units, 4 * units)` and `bias`.
      unit_forget_bias: whether the forget gate's bias starts at 1.
      kernel_regularizer, recurrent_regularizer, bias_regularizer: names or
        `L1L2`, or None.
      return_sequences: whether to return every step's output, not the last.
      return_state: whether to return `[output, h, c]`.
      go_backwards: whether to read the sequence from its end.

    Example:
      >>> layer = LSTM(4, return_sequences=True, return_state=True)
      >>> x = jnp.ones((2, 5, 3))
      >>> variables = layer.init(sl.random.key(0), x)
      >>> jax.tree.map(jnp.shape, variables["params"])
      {'bias': (16,), 'kernel': (3, 16), 'recurrent_kernel': (4, 16)}
      >>> [a.shape for a in layer.apply(variables, x)[0]]
      [(2, 5, 4), (2, 4), (2, 4)]
    """

    unit_forget_bias: bool = True

    _gates: ClassVar[int] = 4
    _num_states: ClassVar[int] = 2

    def _bias(self, key):
        init, units = initializers.get(self.bias_initializer), self.units
        if not self.unit_forget_bias:
            return init(key, (4 * units,))
        k_input, k_rest = random.split(key)
        return ops.concatenate(
            [init(k_input, (units,)), ops.ones((units,)), init(k_rest, (2 * units,))]
        )

    def _input_bias(self, params):
        return params["bias"] if self.use_bias else 0.0

    def _step(self, params, xw_BxG, states):
        h, c = states
        z = xw_BxG + ops.matmul(h, params["recurrent_kernel"])
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        act = activations.get(self.activation)
        sig = activations.get(self.recurrent_activation)
        c = sig(z_f) * c + sig(z_i) * act(z_c)
        return sig(z_o) * act(c), c


@register()
@dataclass(frozen=True)
class GRU(_RNN):
    """Gated recurrent unit, as `keras.layers.GRU` (gates z, r, h).

    With `x_t @ kernel` split into `x_z, x_r, x_h` and `h @ recurrent_kernel`
    into `r_z, r_r, r_h` (each with its bias): `z = sig(x_z + r_z)`,
    `r = sig(x_r + r_r)`, `hh = act(x_h + r * r_h)` and
    `h = z * h + (1 - z) * hh`. With `reset_after=False` the reset gate
    applies before the matmul instead: `hh = act(x_h + (r * h) @ U_h)`.

    Args:
      units: the size of `h`.
      activation, recurrent_activation: names (default `"tanh"`, `"sigmoid"`).
      use_bias: whether to add biases: `(2, 3 * units)` (input and recurrent)
        with `reset_after`, else `(3 * units,)`.
      kernel_initializer, recurrent_initializer, bias_initializer: names or
        `Initializer`s for `kernel` `(D, 3 * units)`, `recurrent_kernel`
        `(units, 3 * units)` and `bias`.
      reset_after: whether to apply the reset gate after the recurrent
        matmul (Keras's default, cuDNN-compatible).
      kernel_regularizer, recurrent_regularizer, bias_regularizer: names or
        `L1L2`, or None.
      return_sequences: whether to return every step's output, not the last.
      return_state: whether to return `[output, h]`.
      go_backwards: whether to read the sequence from its end.

    Example:
      >>> layer = GRU(4)
      >>> x = jnp.ones((2, 5, 3))
      >>> variables = layer.init(sl.random.key(0), x)
      >>> jax.tree.map(jnp.shape, variables["params"])
      {'bias': (2, 12), 'kernel': (3, 12), 'recurrent_kernel': (4, 12)}
      >>> layer.apply(variables, x)[0].shape
      (2, 4)
    """

    reset_after: bool = True

    _gates: ClassVar[int] = 3
    _num_states: ClassVar[int] = 1

    def _bias(self, key):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return initializers.get(self.bias_initializer)(key, shape)

    def _input_bias(self, params):
        if not self.use_bias:
            return 0.0
        return params["bias"][0] if self.reset_after else params["bias"]

    def _step(self, params, xw_BxG, states):
        (h,) = states
        kernel = params["recurrent_kernel"]
        act = activations.get(self.activation)
        sig = activations.get(self.recurrent_activation)
        x_z, x_r, x_h = ops.split(xw_BxG, 3, axis=-1)
        if self.reset_after:
            inner = ops.matmul(h, kernel)
            if self.use_bias:
                inner = inner + params["bias"][1]
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
        else:
            r_z, r_r = ops.split(ops.matmul(h, kernel[:, : 2 * self.units]), 2, -1)
        z, r = sig(x_z + r_z), sig(x_r + r_r)
        if self.reset_after:
            hh = act(x_h + r * r_h)
        else:
            hh = act(x_h + ops.matmul(r * h, kernel[:, 2 * self.units :]))
        return (z * h + (1 - z) * hh,)
