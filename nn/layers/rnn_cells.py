"""Recurrent cells: one step of SimpleRNN, LSTM and GRU, as Keras's cells.

A cell maps `(inputs (B, D), states)` to `(output, new_states)`; `RNN`
runs it over time. Each cell here splits its step in two, so that `RNN`
can project the whole sequence with one matmul before the scan:
`project(params, x)` (`x @ kernel + input bias`, any leading axes) and
`recur(params, projected_t, states, recurrent_mask)` (the rest of a step).
`apply` is one whole step, as `keras.layers.LSTMCell()(inputs, states)`.

Dropout follows Keras: in training, `dropout` drops entries of the inputs
and `recurrent_dropout` entries of the previous output `h` fed to the
recurrent matmul, with one mask per sequence, the same at every step.

Shapes: B batch, D input features, U units, G gate blocks times units.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from nn import activations, initializers
from nn.layers.base import Layer, check_positive_int
from nn.layers.core import layer_key
from nn.registry import register
from stateless import ops, random
from stateless.errors import check_shape


def _check_rates(layer: Layer, **rates: float) -> None:
    for name, rate in rates.items():
        if not 0.0 <= rate < 1.0:
            raise ValueError(
                f"{type(layer).__name__}: {name} must be in [0, 1), received {rate!r}."
            )


def as_state_list(states: Any) -> tuple[list[Any], bool]:
    """`(states as a list, whether they came as a list)`: Keras's cells take
    one array or a list, and answer in the same form."""
    if isinstance(states, list | tuple):
        return list(states), True
    return [states], False


@dataclass(frozen=True)
class Cell(Layer):
    """What the built-in cells share: weights `kernel` `(D, G)`,
    `recurrent_kernel` `(U, G)` and `bias`, dropout, and the split step.

    A subclass sets `gates` and writes `_bias`, `_input_bias` and `recur`.
    """

    units: int
    activation: Any = "tanh"
    use_bias: bool = True
    kernel_initializer: Any = "glorot_uniform"
    recurrent_initializer: Any = "orthogonal"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    recurrent_regularizer: Any = None
    bias_regularizer: Any = None
    kernel_constraint: Any = None
    recurrent_constraint: Any = None
    bias_constraint: Any = None
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    seed: int | None = None

    gates: ClassVar[int]
    weight_aliases: ClassVar[dict[str, str]] = {"recurrent": "recurrent_kernel"}

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, units=self.units)
        _check_rates(
            self, dropout=self.dropout, recurrent_dropout=self.recurrent_dropout
        )

    @property
    def state_size(self) -> Any:
        """Keras's: the size of each state (an int for a single state)."""
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def init(self, key, inputs, states=None):
        del states  # the weights' shapes follow the inputs and units alone
        k_kernel, k_recurrent, k_bias = random.split(key, 3)
        width = self.gates * self.units
        params = {
            "kernel": initializers.get(self.kernel_initializer)(
                k_kernel, (inputs.shape[-1], width)
            ),
            "recurrent_kernel": initializers.get(self.recurrent_initializer)(
                k_recurrent, (self.units, width)
            ),
        }
        if self.use_bias:
            params["bias"] = self._bias(k_bias)
        return {"params": params, "state": {}}

    def apply(self, variables, inputs, states, *, training=False, rng=None):
        """One step: `((output, new_states), state)` for `inputs` `(B, D)`
        and `states` (an array or a list, answered in the same form)."""
        p = variables["params"]
        check_shape(self, "inputs", inputs, (None, p["kernel"].shape[0]))
        listed, as_list = as_state_list(states)
        in_mask, rec_mask = self.dropout_masks(
            rng, training, inputs.shape[0], inputs.shape[-1], inputs.dtype
        )
        if in_mask is not None:
            inputs = inputs * in_mask
        output, new = self.recur(p, self.project(p, inputs), listed, rec_mask)
        return (output, new if as_list else new[0]), variables["state"]

    def initial_states(self, batch: int, dtype: Any) -> list[Any]:
        """Zeros for each state, `(batch, size)`."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.units]
        return [ops.zeros((batch, size), dtype) for size in sizes]

    def dropout_masks(self, rng, training, batch, features, dtype):
        """`(input mask (B, D), recurrent mask (B, U))`, each None when its
        rate is 0 or not training: drawn once, used at every step."""
        if not training or (self.dropout == 0.0 and self.recurrent_dropout == 0.0):
            return None, None
        k_in, k_rec = random.split(layer_key(self, rng, self.seed))
        masks = []
        for key, rate, width in (
            (k_in, self.dropout, features),
            (k_rec, self.recurrent_dropout, self.units),
        ):
            ones = ops.ones((batch, width), dtype)
            masks.append(random.dropout(ones, rate, seed=key) if rate else None)
        return tuple(masks)

    def project(self, params, x):
        """`x @ kernel` plus the part of the bias that goes with it."""
        return ops.matmul(x, params["kernel"]) + self._input_bias(params)

    @abstractmethod
    def recur(self, params, projected, states, recurrent_mask):
        """`(output, new_states)` from the projected inputs of one step."""

    def _bias(self, key):
        return initializers.get(self.bias_initializer)(key, (self.gates * self.units,))

    def _input_bias(self, params):
        return params["bias"] if self.use_bias else 0.0


def _dropped(h, recurrent_mask):
    return h if recurrent_mask is None else h * recurrent_mask


@register()
@dataclass(frozen=True)
class SimpleRNNCell(Cell):
    """One step of a fully connected RNN, as `keras.layers.SimpleRNNCell`:
    `h = activation(x @ kernel + bias + h @ recurrent_kernel)`.

    Args:
      units: the size of `h`.
      activation: a name or function (default `"tanh"`).
      use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: Keras's.
      dropout, recurrent_dropout: drop rates of the inputs and of `h`.
      seed: folded into the key dropout draws from.

    Example:
      >>> cell = SimpleRNNCell(3)
      >>> v = cell.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> (y, h), _ = cell.apply(v, jnp.ones((2, 4)), [jnp.zeros((2, 3))])
      >>> y.shape, len(h)
      ((2, 3), 1)
    """

    gates: ClassVar[int] = 1

    def recur(self, params, projected, states, recurrent_mask):
        (h,) = states
        z = projected + ops.matmul(
            _dropped(h, recurrent_mask), params["recurrent_kernel"]
        )
        h = activations.get(self.activation)(z)
        return h, [h]


@register()
@dataclass(frozen=True)
class LSTMCell(Cell):
    """One step of a long short-term memory, as `keras.layers.LSTMCell`.

    With `z = x @ kernel + h @ recurrent_kernel + bias` split into gates
    i, f, c, o: `c = sig(z_f) * c + sig(z_i) * act(z_c)`,
    `h = sig(z_o) * act(c)`; the states are `[h, c]`.

    Args:
      units: the size of `h` and `c`.
      recurrent_activation: the gates' activation (default `"sigmoid"`).
      unit_forget_bias: whether the forget gate's bias starts at 1.
      the rest: as `SimpleRNNCell`.

    Example:
      >>> cell = LSTMCell(3)
      >>> v = cell.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> jax.tree.map(jnp.shape, v["params"])
      {'bias': (12,), 'kernel': (4, 12), 'recurrent_kernel': (3, 12)}
      >>> cell.state_size
      [3, 3]
    """

    recurrent_activation: Any = "sigmoid"
    unit_forget_bias: bool = True

    gates: ClassVar[int] = 4

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def _bias(self, key):
        init, units = initializers.get(self.bias_initializer), self.units
        if not self.unit_forget_bias:
            return init(key, (4 * units,))
        k_input, k_rest = random.split(key)
        return ops.concatenate(
            [init(k_input, (units,)), ops.ones((units,)), init(k_rest, (2 * units,))]
        )

    def recur(self, params, projected, states, recurrent_mask):
        h, c = states
        z = projected + ops.matmul(
            _dropped(h, recurrent_mask), params["recurrent_kernel"]
        )
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        act = activations.get(self.activation)
        sig = activations.get(self.recurrent_activation)
        c = sig(z_f) * c + sig(z_i) * act(z_c)
        h = sig(z_o) * act(c)
        return h, [h, c]


@register()
@dataclass(frozen=True)
class GRUCell(Cell):
    """One step of a gated recurrent unit, as `keras.layers.GRUCell`.

    With the projected inputs split into `x_z, x_r, x_h` and
    `h @ recurrent_kernel` into `r_z, r_r, r_h` (each with its bias):
    `z = sig(x_z + r_z)`, `r = sig(x_r + r_r)`, `hh = act(x_h + r * r_h)`,
    `h = z * h + (1 - z) * hh`. With `reset_after=False` the reset gate
    applies before the matmul: `hh = act(x_h + (r * h) @ U_h)`.

    Args:
      units: the size of `h`.
      recurrent_activation: the gates' activation (default `"sigmoid"`).
      reset_after: whether the reset gate applies after the recurrent
        matmul (Keras's default); the bias is then `(2, 3 * units)`, input
        and recurrent, else `(3 * units,)`.
      the rest: as `SimpleRNNCell`.

    Example:
      >>> cell = GRUCell(3)
      >>> v = cell.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> v["params"]["bias"].shape
      (2, 9)
      >>> (y, h), _ = cell.apply(v, jnp.ones((2, 4)), jnp.zeros((2, 3)))
      >>> y.shape, h.shape  # one array in, one array out
      ((2, 3), (2, 3))
    """

    recurrent_activation: Any = "sigmoid"
    reset_after: bool = True

    gates: ClassVar[int] = 3

    def _bias(self, key):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return initializers.get(self.bias_initializer)(key, shape)

    def _input_bias(self, params):
        if not self.use_bias:
            return 0.0
        return params["bias"][0] if self.reset_after else params["bias"]

    def recur(self, params, projected, states, recurrent_mask):
        (h,) = states
        kernel, units = params["recurrent_kernel"], self.units
        act = activations.get(self.activation)
        sig = activations.get(self.recurrent_activation)
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        h_in = _dropped(h, recurrent_mask)
        if self.reset_after:
            inner = ops.matmul(h_in, kernel)
            if self.use_bias:
                inner = inner + params["bias"][1]
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
        else:
            r_z, r_r = ops.split(ops.matmul(h_in, kernel[:, : 2 * units]), 2, -1)
        z, r = sig(x_z + r_z), sig(x_r + r_r)
        if self.reset_after:
            hh = act(x_h + r * r_h)
        else:
            hh = act(x_h + ops.matmul(r * h_in, kernel[:, 2 * units :]))
        h = z * h + (1 - z) * hh
        return h, [h]
