"""The one owner of a training run's `TrainState`.

A `Trainer` keeps its train state here and nowhere else: the fit loop
advances it step by step, and everything else reads or changes the run
through this object's properties. `nn.Model.variables`, `train_state`,
`stop_training` and `optimizer.learning_rate` all read and write it, so a
callback that assigns new variables, a new rate or `stop_training` changes
the very next step, and nothing is copied back and forth between hooks.

Before the first step there is no train state: the context holds the
variables it was given (by `build`, `load_weights` or the user), and the
loop starts its state from them.

Donation: the loop's step reuses the buffers of the state it is given. The
context remembers whether the current parameters have been handed out (read
through `variables` or `train_state`, or given by a caller); if they have,
the next step keeps them and works on a copy, so whatever a callback kept
stays valid (see `train._donation`).

On JAX the loop keeps the state packed between steps (`train.packing`: the
form the compiled step takes); the context unpacks it when it is read and
packs it again when the loop next needs it.

Example:
  >>> from train.optimizers import SGD
  >>> context = RunContext(SGD(0.1))
  >>> context.variables = {"params": {"w": jnp.zeros(2)}, "state": {}}
  >>> context.train_state is None, context.variables["params"]["w"].shape
  (True, (2,))
  >>> context.stop()
  >>> context.stop_training
  True
"""

from __future__ import annotations

from typing import Any

import jax

from train.optimizers import with_learning_rate
from train.packing import PackedState, pack, unpack
from train.steps import TrainState


class RunContext:
    """The train state of one `Trainer`, the variables it starts from, and the
    requests of callbacks (a new rate, a stop).

    Args:
      optimizer: the `train.optimizers` object the run trains with; its
        `learning_rate` is followed (assigning it changes the next step).
    """

    def __init__(self, optimizer: Any):
        self.optimizer = optimizer
        self.stop_training = False
        self.resume_at: tuple[int, int] | None = None
        self._ts: TrainState | None = None  # the state, when unpacked
        self._packed: PackedState | None = None  # the state, when packed
        self._held: Any = None  # the variables, while there is no train state
        self._handed: Any = None  # the variables last handed out (kept intact)
        self.shown = False  # whether the current parameters were handed out
        follow = getattr(optimizer, "follow", None)
        if follow is not None:
            follow(self)

    # -- what callbacks and models see -------------------------------------------

    @property
    def train_state(self) -> TrainState | None:
        """The `TrainState` as of the last finished step (None before any).

        Its optimizer and metric buffers are donated to the next step: whoever
        keeps them past a callback hook must copy them (orbax's save copies to
        host before it returns). Assigning one (restored from a checkpoint, say)
        makes the next step continue from it.
        """
        if self.current is not None:
            self._hand_out()
        return self._ts

    @train_state.setter
    def train_state(self, ts: TrainState | None) -> None:
        self._ts, self._packed, self._held, self.shown = ts, None, None, False
        if ts is not None:
            self._hand_out()

    @property
    def variables(self) -> Any:
        """`{"params", "state"}` as of the last finished step (or as given)."""
        if self.current is None:
            return self._held
        return self._hand_out()

    @variables.setter
    def variables(self, variables: Any) -> None:
        ts = self.current
        if ts is None or variables is None or _layout(variables) != _layout(ts):
            self._ts, self._packed = None, None  # a new layout starts afresh
            self._held = variables
            return
        self.update(params=variables["params"], state=variables["state"])
        self._handed, self.shown = variables, True

    @property
    def learning_rate(self) -> Any:
        """The optimizer's learning rate; assigning a number changes the next step."""
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, rate: Any) -> None:
        self.optimizer.learning_rate = rate  # which calls `rate_changed`

    def rate_changed(self, rate: Any, slot: str | None = None) -> None:
        """Writes a newly assigned learning rate into the optimizer state (of
        the optimizer `slot` of a `MultiOptimizer`)."""
        if self.current is None:
            return
        if callable(rate):
            raise TypeError(
                "learning_rate: a schedule cannot replace a fixed rate once "
                "training has started; compile again with the schedule."
            )
        self.update(opt_state=with_learning_rate(self._ts.opt_state, rate, slot))

    def resume_training_at(self, epoch: int, batch: int = 0) -> None:
        """Makes a starting `fit` (from `on_train_begin`) go on at epoch
        `epoch` (from 0) after its first `batch` batches, whose metrics the
        train state holds: `train.callbacks.BackupAndRestore` resumes so.

        Raises:
          ValueError: if either is not a non-negative int.
        """
        for name, value in (("epoch", epoch), ("batch", batch)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"resume_training_at: expected {name} a non-negative int. "
                    f"Received: {name}={value!r}."
                )
        self.resume_at = (epoch, batch)

    def stop(self) -> None:
        """Ends training after the current step (as `stop_training = True`)."""
        self.stop_training = True

    # -- what the loop uses ------------------------------------------------------

    @property
    def current(self) -> TrainState | None:
        """The train state, read by the loop itself (nothing is handed out)."""
        if self._ts is None and self._packed is not None:
            self._ts = unpack(self._packed)
        return self._ts

    @property
    def packed(self) -> PackedState | None:
        """The train state packed, as the loop's compiled JAX step takes it."""
        if self._packed is None and self._ts is not None:
            self._packed = pack(self._ts)
        return self._packed

    def begin(self, ts: TrainState) -> None:
        """Starts a run from `ts`, whose parameters the caller may hold."""
        self.train_state, self.stop_training = ts, False

    def take_resume_point(self, initial_epoch: int) -> tuple[int, int]:
        """`(epoch, batches done in it)` a `fit` starts at: where a callback
        asked (`resume_training_at`), else `(initial_epoch, 0)`. A request
        is used once."""
        point, self.resume_at = self.resume_at, None
        return (initial_epoch, 0) if point is None else point

    def advance(self, state: TrainState | PackedState) -> None:
        """Takes the state after a step, packed or not; its parameters are
        the loop's alone."""
        if isinstance(state, PackedState):
            self._ts, self._packed = None, state
        else:
            self._ts, self._packed = state, None
        self.shown = False

    def update(self, **fields: Any) -> None:
        """Replaces fields of the state (metrics, say) without handing it out."""
        self._ts, self._packed = self.current._replace(**fields), None
        if "params" in fields or "state" in fields:
            self.shown = False  # what was handed out is no longer current

    def finish(self, optimizer: Any) -> None:
        """Ends a run on the weights `optimizer` finalizes: with `use_ema`,
        its moving average of them (Keras's `finalize_variable_values`)."""
        ts = self.current
        params = optimizer.finalized(ts.params, ts.opt_state)
        if params is not ts.params:
            self.update(params=params)

    def show(self) -> None:
        """Hands the current parameters out (before hooks that may keep them)."""
        if self.current is not None:
            self._hand_out()

    def recover(self) -> None:
        """After a failed step: if it had taken the state's buffers, fall back to
        the variables last handed out, and start the next run afresh."""
        held = self._packed.arrays if self._packed is not None else self._ts
        if held is not None and _donated(held):
            self._ts, self._packed, self._held = None, None, self._handed

    def _hand_out(self) -> Any:
        if not self.shown:
            self._handed = {"params": self._ts.params, "state": self._ts.state}
            self.shown = True
        return self._handed


def _layout(variables: Any) -> Any:
    if isinstance(variables, TrainState):
        variables = {"params": variables.params, "state": variables.state}
    return jax.tree.structure(variables)


def _donated(state: Any) -> bool:
    """Whether a step has taken any buffer of `state` (JAX arrays only)."""
    return any(
        isinstance(leaf, jax.Array) and leaf.is_deleted()
        for leaf in jax.tree.leaves(state)
    )
