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
from nn.layers.core import check_rates, layer_key
from nn.registry import register
from stateless import ops, random
from stateless.errors import check_shape


def as_state_list(states: Any) -> tuple[list[Any], bool]:
    """`(states as a list, whether they came as a list)`: Keras's cells take
    one array or a list, and answer in the same form."""
    if isinstance(states, list | tuple):
        return list(states), True
    return [states], False


class SplitStep:
    """The step of a built-in cell in two parts, so that `RNN` projects the
    whole sequence at once: `project(params, x)` (any leading axes) and
    `recur(params, projected_t, states, recurrent_mask)`. A cell with it
    draws its dropout masks once per sequence (`dropout_masks`) and makes
    its own zero states (`initial_states`)."""

    dropout: float
    recurrent_dropout: float
    seed: int | None

    def apply(self, variables, inputs, states, *, training=False, rng=None):
        """One step: `((output, new_states), state)` for `inputs` `(B, ...)`
        and `states` (an array or a list, answered in the same form)."""
        p = variables["params"]
        self.check_step(p, inputs)
        listed, as_list = as_state_list(states)
        in_mask, rec_mask = self.dropout_masks(
            rng, training, inputs.shape, listed[0].shape, inputs.dtype
        )
        if in_mask is not None:
            inputs = inputs * in_mask
        output, new = self.recur(p, self.project(p, inputs), listed, rec_mask)
        return (output, new if as_list else new[0]), variables["state"]

    def dropout_masks(self, rng, training, step_shape, state_shape, dtype):
        """`(input mask, recurrent mask)` of the step input's and the
        state's shapes, each None when its rate is 0 or not training: drawn
        once, used at every step."""
        if not training or (self.dropout == 0.0 and self.recurrent_dropout == 0.0):
            return None, None
        k_in, k_rec = random.split(layer_key(self, rng, self.seed))
        masks = []
        for key, rate, shape in (
            (k_in, self.dropout, step_shape),
            (k_rec, self.recurrent_dropout, state_shape),
        ):
            ones = ops.ones(tuple(shape), dtype)
            masks.append(random.dropout(ones, rate, seed=key) if rate else None)
        return tuple(masks)

    @abstractmethod
    def check_step(self, params, inputs):
        """Raises a `ShapeError` naming the cell for inputs it cannot take."""

    @abstractmethod
    def initial_states(self, step: Any) -> list[Any]:
        """Zeros for each state, for step inputs like `step` `(B, ...)`."""

    @abstractmethod
    def project(self, params, x):
        """The input part of a step, for `x` with any leading axes."""

    @abstractmethod
    def recur(self, params, projected, states, recurrent_mask):
        """`(output, new_states)` from the projected inputs of one step."""


@dataclass(frozen=True)
class Cell(SplitStep, Layer):
    """What the dense built-in cells share: weights `kernel` `(D, G)`,
    `recurrent_kernel` `(U, G)` and `bias`; subclasses set `gates` and
    write `_bias`, `_input_bias` and `recur`.
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
        check_rates(
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

    def check_step(self, params, inputs):
        check_shape(self, "inputs", inputs, (None, params["kernel"].shape[0]))

    def initial_states(self, step: Any) -> list[Any]:
        sizes = self.state_size if isinstance(self.state_size, list) else [self.units]
        return [ops.zeros((step.shape[0], size), step.dtype) for size in sizes]

    def project(self, params, x):
        """`x @ kernel` plus the part of the bias that goes with it."""
        return ops.matmul(x, params["kernel"]) + self._input_bias(params)

    def _bias(self, key):
        return initializers.get(self.bias_initializer)(key, (self.gates * self.units,))

    def _input_bias(self, params):
        return params["bias"] if self.use_bias else 0.0


def lstm_bias(cell: Any, key: Any, units: int) -> Any:
    """An LSTM's initial bias `(4 * units,)`: the forget gate's block is
    ones with `unit_forget_bias`."""
    init = initializers.get(cell.bias_initializer)
    if not cell.unit_forget_bias:
        return init(key, (4 * units,))
    k_input, k_rest = random.split(key)
    return ops.concatenate(
        [init(k_input, (units,)), ops.ones((units,)), init(k_rest, (2 * units,))]
    )


def lstm_update(cell: Any, z: Any, c: Any, axis: int) -> tuple[Any, list[Any]]:
    """`(h, [h, c])` from the gates' sums `z` (i, f, c, o along `axis`)."""
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=axis)
    act = activations.get(cell.activation)
    sig = activations.get(cell.recurrent_activation)
    c = sig(z_f) * c + sig(z_i) * act(z_c)
    h = sig(z_o) * act(c)
    return h, [h, c]


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
        return lstm_bias(self, key, self.units)

    def recur(self, params, projected, states, recurrent_mask):
        h, c = states
        z = projected + ops.matmul(
            _dropped(h, recurrent_mask), params["recurrent_kernel"]
        )
        return lstm_update(self, z, c, axis=-1)


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
