"""`RNN`: a cell run over the time axis with `jax.lax.scan`, as `keras.layers.RNN`.

The cell may be a built-in one (`nn.layers.rnn_cells`), a list of cells
(stacked), or a layer of one's own written Keras's way, with
`call(inputs, states)` returning `(output, new_states)` and a `state_size`.
SimpleRNN, LSTM and GRU (`nn.layers.recurrent`) are this loop over their
cells, with the cells' keywords.

A mask `(B, T)` skips steps: at a masked step the states are kept and the
output repeats the previous one (zeros with `zero_output_for_mask`). A
`stateful` layer keeps its final states in its state collection and starts
the next batch from them; `reset_states()` sets them back to zeros.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import jax

from nn import registry
from nn.layers import weights_surface
from nn.layers.base import Layer
from nn.layers.rnn_cells import SplitStep, as_state_list
from nn.models.naming import assign_names
from stateless import ops, random
from stateless.errors import ShapeError, check_shape
from stateless.scope import flatten_paths, unflatten_paths


def _keep(mask_t: Any, like: Any) -> Any:
    """A step's mask `(B,)` shaped to broadcast against `like` `(B, ...)`."""
    return ops.reshape(mask_t, (mask_t.shape[0],) + (1,) * (len(like.shape) - 1))


def zero_states(cell: Any, step: Any) -> list[Any]:
    """A cell's initial states for step inputs like `step` `(B, ...)`: its
    own `initial_states` or Keras's `get_initial_state(batch_size)` hook,
    else zeros `(B, size)` for each of its `state_size`."""
    made = getattr(cell, "initial_states", None)
    if made is not None:
        return made(step)
    batch = step.shape[0]
    get = getattr(cell, "get_initial_state", None)
    if get is not None:
        return as_state_list(get(batch_size=batch))[0]
    return [ops.zeros((batch, size), step.dtype) for size in _state_sizes(cell)]


def _step_spec(x: Any) -> jax.ShapeDtypeStruct:
    """The spec of one step of `x` `(B, T, ...)`: `(B, ...)`."""
    return jax.ShapeDtypeStruct((x.shape[0], *x.shape[2:]), x.dtype)


def reset_kept_states(layer: Any) -> None:
    """Zeroes the states that stateful recurrent layers keep within `layer`'s
    variables (`.../states/state_<i>`), where those variables live."""
    found = weights_surface.home(layer, build=False)
    if found is None:
        return
    holder, prefix = found
    flat = flatten_paths(holder.variables["state"])
    for path, value in flat.items():
        if path.startswith(prefix) and "states/state_" in path[len(prefix) :]:
            flat[path] = ops.zeros_like(value)
    object.__setattr__(
        holder, "variables", {**holder.variables, "state": unflatten_paths(flat)}
    )


def _kept(states: Any) -> dict[str, Any]:
    """A stateful layer's states as kept in its state collection:
    `{"state_0": ..., ...}`, the leaves in order."""
    return {f"state_{i}": leaf for i, leaf in enumerate(jax.tree.leaves(states))}


def _output_size(cell: Any) -> int:
    """Keras's: a cell's `output_size`, else its first state's size."""
    return getattr(cell, "output_size", None) or _state_sizes(cell)[0]


def _state_sizes(cell: Any) -> list[Any]:
    size = cell.state_size
    return list(size) if isinstance(size, list | tuple) else [size]


@dataclass(frozen=True, kw_only=True)
class Recurrence(Layer):
    """The loop over time that `RNN`, SimpleRNN, LSTM, GRU and the ConvLSTMs
    share: a subclass says which cell runs and where its variables are."""

    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    unroll: bool = False
    zero_output_for_mask: bool = False

    supports_masking = True

    @abstractmethod
    def step_cell(self) -> Any:
        """The cell run at each step."""

    @abstractmethod
    def cell_variables(self, variables: Any) -> Any:
        """The cell's variables within the layer's."""

    @abstractmethod
    def wrap_cell_variables(self, cell_variables: Any) -> Any:
        """The layer's variables holding the cell's."""

    def init(self, key, x, initial_state=None):
        del initial_state  # taken as apply takes it; the cell fixes the shapes
        check_shape(self, "x", x, (None, None, *x.shape[2:]))
        cell, step = self.step_cell(), _step_spec(x)
        states = jax.eval_shape(lambda s: zero_states(cell, s), step)
        variables = self.wrap_cell_variables(cell.init(key, step, states))
        if self.stateful:
            zeros = jax.tree.map(lambda s: ops.zeros(s.shape, s.dtype), states)
            variables["state"] = {**variables["state"], "states": _kept(zeros)}
        return variables

    def apply(
        self, variables, x, initial_state=None, *, mask=None, training=False, rng=None
    ):
        """Runs the cell over the time axis of `x`.

        Args:
          variables: from `init`.
          x: `(B, T, ...)`: `(B, T, D)` for the cells here.
          initial_state: the states to start from: one array, or a list as
            the cell's `state_size` (`[h, c]` for LSTM); zeros (or, when
            `stateful`, the kept states) by default.
          mask: `(B, T)`, True (or nonzero) where a step counts, or None.
          training, rng: dropout's switch and key.

        Returns:
          `(outputs, state)`: the last output `(B, U)`, or every step's
          `(B, T, U)` with `return_sequences` (in the order processed, so
          reversed with `go_backwards`); with `return_state`, a list of
          that and the final states.

        Raises:
          ShapeError: `x`, `mask` or `initial_state` has the wrong shape.
          ValueError: `initial_state` has the wrong number of arrays.
        """
        check_shape(self, "x", x, (None, None, *x.shape[2:]))
        cell, cell_vars = self.step_cell(), self.cell_variables(variables)
        batch, steps = x.shape[:2]
        states = self._start(variables, initial_state, cell, _step_spec(x))
        keep = None
        if mask is not None:
            check_shape(self, "mask", mask, (batch, steps))
            keep = ops.moveaxis(ops.cast(mask, "bool"), 1, 0)
        try:
            final, outputs = self._scan(cell, cell_vars, x, states, keep, training, rng)
        except ShapeError as error:
            raise ShapeError(
                f"{type(self).__name__} {self.default_name!r}: its cell "
                f"{type(cell).__name__} refused steps of shape "
                f"{tuple(_step_spec(x).shape)}: {error}"
            ) from error
        output = ops.moveaxis(outputs, 0, 1) if self.return_sequences else outputs[-1]
        state = variables["state"]
        if self.stateful:
            state = {**state, "states": _kept(final)}
        if self.return_state:
            return [output, *final], state
        return output, state

    def _scan(self, cell, cell_vars, x, states, keep, training, rng):
        """`(final states, outputs (T, B, ...))`: the cell over time."""
        xs, step = self._step_function(cell, cell_vars, x, states, training, rng)
        if self.go_backwards:
            xs, keep = jax.tree.map(lambda a: ops.flip(a, 0), (xs, keep))

        def scan_step(carry, inputs):
            x_t, keep_t = inputs
            output, new = step(x_t, carry)
            new = jax.tree.map(lambda n, c: ops.cast(n, c.dtype), new, carry)
            if keep_t is not None:
                previous = carry[0]
                if isinstance(previous, list):  # stacked: the last cell's output
                    previous = carry[-1][0]
                if self.zero_output_for_mask:
                    previous = ops.zeros_like(output)
                output = ops.where(_keep(keep_t, output), output, previous)
                new = jax.tree.map(
                    lambda n, c: ops.where(_keep(keep_t, n), n, c), new, carry
                )
            return new, output

        unroll = x.shape[1] if self.unroll else 1
        return jax.lax.scan(scan_step, states, (xs, keep), unroll=unroll)

    def _step_function(self, cell, cell_vars, x, states, training, rng):
        """`(time-major inputs, step)`: a built-in cell projects the whole
        sequence first; any other cell runs its `apply` at each step."""
        if isinstance(cell, SplitStep):
            params = cell_vars["params"]
            cell.check_step(params, x[:, 0])
            in_mask, rec_mask = cell.dropout_masks(
                rng,
                training,
                (x.shape[0], *x.shape[2:]),
                jax.tree.leaves(states)[0].shape,
                x.dtype,
            )
            if in_mask is not None:
                x = x * ops.expand_dims(in_mask, 1)
            projected = ops.moveaxis(cell.project(params, x), 1, 0)
            return projected, lambda x_t, states: cell.recur(
                params, x_t, states, rec_mask
            )

        def step(x_t, states):
            (output, new), _ = cell.apply(
                cell_vars, x_t, states, training=training, rng=rng
            )
            return output, as_state_list(new)[0]

        return ops.moveaxis(x, 1, 0), step

    def _start(self, variables, initial_state, cell, step) -> list[Any]:
        zeros, batch, dtype = zero_states(cell, step), step.shape[0], step.dtype
        if initial_state is None:
            if not self.stateful:
                return zeros
            kept = variables["state"]["states"]
            fixed = jax.tree.leaves(kept)[0].shape[0]
            if fixed != batch:
                raise ShapeError(
                    f"{type(self).__name__} {self.default_name!r}: stateful, so "
                    f"its batch size is fixed at {fixed}"
                    f" (from init), received a batch of {batch}. Hint: declare "
                    "the batch size, layers.Input(shape, batch_size=...), and "
                    "feed batches of exactly that size."
                )
            leaves = [kept[f"state_{i}"] for i in range(len(kept))]
            return jax.tree.unflatten(jax.tree.structure(zeros), leaves)
        leaves, treedef = jax.tree.flatten(zeros)
        given = jax.tree.leaves(initial_state)
        if len(given) != len(leaves):
            raise ValueError(
                f"{type(self).__name__} {self.default_name!r}, argument "
                f"'initial_state': expected {len(leaves)} arrays, received "
                f"{len(given)} (one per state of the cell)."
            )
        for state, zero in zip(given, leaves):
            check_shape(self, "initial_state", state, zero.shape)
        return jax.tree.unflatten(treedef, [ops.cast(s, dtype) for s in given])

    def compute_mask(self, inputs, mask=None):
        """Keras's: the input mask goes on with `return_sequences`; states
        carry none."""
        if isinstance(mask, list | tuple):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(_state_sizes(self.step_cell()))
        return output_mask

    def reset_states(self) -> None:
        """Sets a stateful layer's kept states back to zeros, where its
        variables live (the layer's own, or its model's)."""
        reset_kept_states(self)

    reset_state = reset_states  # Keras's other name for it


@registry.register()
@dataclass(frozen=True)
class StackedRNNCells(Layer):
    """Cells run one after another within each step, as Keras's: each
    cell's output is the next one's input; the states are a list of each
    cell's states.

    Args:
      cells: the cells, first to last.

    Example:
      >>> from nn.layers.rnn_cells import GRUCell, LSTMCell
      >>> cell = StackedRNNCells([LSTMCell(4), GRUCell(3)])
      >>> cell.state_size, cell.output_size
      ([[4, 4], 3], 3)
    """

    cells: tuple[Any, ...] = ()

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "cells", tuple(self.cells))
        if not self.cells:
            raise ValueError("StackedRNNCells: cells must list at least one cell.")

    def _named(self) -> dict[str, Any]:
        names = assign_names(self.cells, "StackedRNNCells")
        return {names[id(cell)]: cell for cell in self.cells}

    @property
    def state_size(self) -> list[Any]:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def initial_states(self, step: Any) -> list[Any]:
        states = []
        for cell in self.cells:
            states.append(zero_states(cell, step))
            step = jax.ShapeDtypeStruct((step.shape[0], _output_size(cell)), step.dtype)
        return states

    def init(self, key, inputs, states=None):
        variables = {"params": {}, "state": {}}
        states = states or jax.eval_shape(self.initial_states, inputs)
        for i, (name, cell) in enumerate(self._named().items()):
            v = cell.init(random.fold_in(key, i), inputs, states[i])
            spec = jax.eval_shape(
                lambda v, x, s, cell=cell: cell.apply(v, x, s)[0][0],
                v,
                inputs,
                states[i],
            )
            inputs = spec
            for part in ("params", "state"):
                if v[part]:
                    variables[part][name] = v[part]
        return variables

    def apply(self, variables, inputs, states, *, training=False, rng=None):
        new_states = []
        for i, (name, cell) in enumerate(self._named().items()):
            v = {
                "params": variables["params"].get(name, {}),
                "state": variables["state"].get(name, {}),
            }
            key = None if rng is None else random.fold_in(rng, i)
            (inputs, new), _ = cell.apply(
                v, inputs, states[i], training=training, rng=key
            )
            listed = isinstance(states[i], list | tuple)
            new_states.append(as_state_list(new)[0] if listed else new)
        return (inputs, new_states), variables["state"]

    def penalty(self, params):
        return sum(
            (
                cell.penalty(params.get(name, {}))
                for name, cell in self._named().items()
            ),
            0.0,
        )

    def has_constraints(self) -> bool:
        return any(cell.has_constraints() for cell in self.cells)

    def constrain(self, params):
        return {
            name: cell.constrain(params[name])
            for name, cell in self._named().items()
            if name in params
        }


@registry.register()
@dataclass(frozen=True)
class RNN(Recurrence):
    """Runs `cell` over the time axis of its input.

    Args:
      cell: a cell (`LSTMCell(4)`, a layer of one's own with
        `call(inputs, states)` and `state_size`), or a list of cells, run
        as `StackedRNNCells`.
      return_sequences: whether to return every step's output, not the last.
      return_state: whether to return `[output, *final_states]`.
      go_backwards: whether to read the sequence from its end.
      stateful: whether each batch starts from the previous batch's final
        states (the batch size is then fixed; `reset_states()` clears them).
      unroll: whether to unroll the scan (faster for short sequences).
      zero_output_for_mask: whether masked steps output zeros instead of
        repeating the previous output.

    Example:
      >>> from nn.layers.rnn_cells import GRUCell, LSTMCell
      >>> layer = RNN([LSTMCell(4), GRUCell(3)], return_sequences=True)
      >>> x = jnp.ones((2, 5, 6))
      >>> v = layer.init(sl.random.key(0), x)
      >>> sorted(v["params"]["cell"])
      ['gru_cell', 'lstm_cell']
      >>> layer.apply(v, x, mask=jnp.array([[1, 1, 1, 0, 0]] * 2))[0].shape
      (2, 5, 3)
    """

    cell: Any = None

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.cell, list | tuple):
            object.__setattr__(self, "cell", StackedRNNCells(self.cell))
        if not isinstance(self.cell, Layer) or not hasattr(self.cell, "state_size"):
            raise TypeError(
                f"RNN: cell must be a layer with a state_size and call(inputs, "
                f"states) (or apply), such as layers.LSTMCell(4), or a list of "
                f"them; received {type(self.cell).__name__}."
            )

    def step_cell(self):
        return self.cell

    def cell_variables(self, variables):
        return {
            "params": variables["params"].get("cell", {}),
            "state": variables["state"].get("cell", {}),
        }

    def wrap_cell_variables(self, cell_variables):
        return {
            part: {"cell": cell_variables[part]} if cell_variables[part] else {}
            for part in ("params", "state")
        }

    def penalty(self, params):
        return self.cell.penalty(params.get("cell", {}))

    def has_constraints(self) -> bool:
        return self.cell.has_constraints()

    def constrain(self, params):
        if "cell" not in params:
            return params
        return {**params, "cell": self.cell.constrain(params["cell"])}
