"""Checkpointing a whole training run (`TrainState`) with orbax, by epoch or step.

`CheckpointManager` is a thin wrapper over `orbax.checkpoint.CheckpointManager`:
orbax writes each checkpoint under a temporary name and renames it into place
once complete (and, with `async_save`, copies the arrays to host before `save`
returns, then writes in a background thread), so a process killed mid-write
never leaves a half checkpoint that `restore` would read or `checkpoints`
would list. Nothing here re-implements that; a new manager removes what its
unit's unfinished saves left, and a save that fails to write (a full disk)
raises `OSError`. `train.callbacks.CheckpointCallback` saves through one
during `fit`, as do `ModelCheckpoint(manager=...)` and `OrbaxCheckpoint`.

A manager counts in one `unit`, and its checkpoints are numbered in it:

* `unit="epoch"` (default): the number of epochs *completed*. The state saved
  after epoch index `e` (as `on_epoch_end` counts, from 0) is checkpoint
  `e + 1`, so `fit(..., initial_epoch=manager.latest)` resumes exactly.
* `unit="step"`: the optimizer steps taken, `int(train_state.step)` (it keeps
  counting across epochs and resumed runs). Restoring one gives back the state
  of that step bit for bit (parameters, optimizer state, step, key); a `fit`
  resumed from it starts an epoch from its first batch, so it re-runs the
  batches that epoch had already trained on and does not repeat an
  uninterrupted run exactly. Resume exactly from epoch checkpoints.

Checkpoint directories are named `<unit>_<number>` (`epoch_3`, `step_1200`)
and a manager lists only its own unit's, so numbers never collide: an epoch
manager and a step manager may share a directory. `CheckpointCallback` saves
through either during `fit`.

Example:
  >>> import tempfile
  >>> import optax
  >>> from train.steps import init_train_state
  >>> ts = init_train_state({"params": {"w": jnp.ones((2, 1))}, "state": {}},
  ...                       optax.adam(1e-3), {}, sl.random.key(0))
  >>> with tempfile.TemporaryDirectory() as tmp:
  ...     manager = CheckpointManager(tmp, max_to_keep=2)
  ...     for epoch in (1, 2, 3):
  ...         _ = manager.save(epoch, ts._replace(step=jnp.int32(epoch)))
  ...     back = manager.restore(ts)
  ...     print(manager.checkpoints, int(back.step), sorted(os.listdir(tmp)))
  ...     manager.close()
  [2, 3] 3 ['epoch_2', 'epoch_3']
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from train.steps import TrainState

UNITS = ("epoch", "step")


def abstract_leaf(leaf: Any) -> jax.ShapeDtypeStruct:
    """What orbax should restore `leaf` as: its shape, dtype and placement
    (the first device for a host array)."""
    if isinstance(leaf, jax.Array):
        return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=leaf.sharding)
    leaf = np.asarray(leaf)
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device)


def _remove_unfinished(directory: str, unit: str) -> None:
    """Removes what saves of `unit` left unfinished in `directory` (orbax's
    temporary directories, after a kill or a full disk); another unit's are
    left alone, as a manager of that unit may be writing them."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if name.startswith(f"{unit}_") and ".orbax-checkpoint-tmp" in name:
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


class CheckpointManager:
    """Saves and restores `TrainState`s under `directory`, numbered in `unit`.

    Args:
      directory: where checkpoints live (one subdirectory `<unit>_<number>`
        each); created when missing.
      unit: `"epoch"` (numbers are epochs completed) or `"step"` (numbers
        are `int(train_state.step)`); see the module docstring.
      max_to_keep: how many checkpoints to keep (None: all). Without
        `best_metric` the newest are kept; with it, the best.
      best_metric: a log key (e.g. `"val_loss"`) that ranks checkpoints;
        every `save` must then be given logs holding it.
      best_mode: `"min"` or `"max"`: which values of `best_metric` are best.
      async_save: write in the background; `wait()` (or `restore`, `close`)
        blocks until every write is done.

    Raises:
      ValueError: if `unit` is neither "epoch" nor "step", or `best_mode`
        neither "min" nor "max".

    Example:
      >>> import tempfile
      >>> ts = TrainState(jnp.int32(0), {"w": jnp.zeros(2)}, {}, (), {},
      ...                 sl.random.key(0))
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     manager = CheckpointManager(tmp, max_to_keep=1, best_metric="loss")
      ...     for epoch, loss in [(1, 0.5), (2, 0.9), (3, 0.7)]:
      ...         _ = manager.save(epoch, ts, {"loss": loss})
      ...     print(manager.best, manager.latest, manager.checkpoints)
      ...     manager.close()
      1 1 [1]
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        unit: str = "epoch",
        max_to_keep: int | None = None,
        best_metric: str | None = None,
        best_mode: str = "min",
        async_save: bool = True,
    ) -> None:
        if unit not in UNITS:
            raise ValueError(
                f"CheckpointManager: expected unit 'epoch' or 'step'. "
                f"Received: unit={unit!r}."
            )
        if best_mode not in ("min", "max"):
            raise ValueError(f"best_mode must be 'min' or 'max', not {best_mode!r}.")
        self.directory = os.path.abspath(os.fspath(directory))
        self.unit = unit
        self.best_metric = best_metric
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            best_fn=(lambda m: float(m[best_metric])) if best_metric else None,
            best_mode=best_mode,
            save_interval_steps=1,  # the caller decides when to save
            step_prefix=unit,
            enable_async_checkpointing=async_save,
            create=True,
        )
        _remove_unfinished(self.directory, unit)
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def path(self, number: int) -> str:
        """The directory checkpoint `number` is (or would be) saved in."""
        return os.path.join(self.directory, f"{self.unit}_{int(number)}")

    def save(
        self,
        number: int,
        train_state: TrainState,
        logs: Mapping[str, Any] | None = None,
    ) -> bool:
        """Saves `train_state` as checkpoint `number` (in the manager's unit).

        Args:
          number: the checkpoint's number: epochs completed, or steps taken.
          train_state: the `TrainState` to save. Its arrays are copied to host
            before this returns, so the next step may donate them.
          logs: the epoch's (or step's) logs (Python floats); kept with the
            checkpoint and used to rank it when `best_metric` is set.

        Returns:
          Whether a checkpoint was written (or started, when saving async).

        Raises:
          KeyError: if `best_metric` is set and `logs` lack it.
        """
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        if self.best_metric is not None and self.best_metric not in metrics:
            raise KeyError(
                f"save: the logs lack best_metric {self.best_metric!r} "
                f"(they hold {sorted(metrics)})."
            )
        pytree = TrainState(*train_state)._asdict()
        try:
            return self._manager.save(
                int(number),
                args=ocp.args.StandardSave(pytree),
                metrics=metrics or None,
                force=True,
            )
        except ValueError as error:  # tensorstore reports a failed write so
            code = re.search(r"os_error_code='(\d+)'", str(error))
            if code is None:
                raise
            _remove_unfinished(self.directory, self.unit)
            raise OSError(
                int(code[1]),
                f"CheckpointManager.save: checkpoint {number} could not be written "
                f"({os.strerror(int(code[1]))}); the earlier checkpoints are intact.",
            ) from error

    def restore(self, template: TrainState, number: int | None = None) -> TrainState:
        """The `TrainState` saved as checkpoint `number` (default: the latest).

        Args:
          template: a `TrainState` of the same structure (e.g. the trainer's,
            or a fresh `init_train_state`); the result has its tree
            structure, shapes, dtypes and shardings. Its values are unused.
          number: which checkpoint; None for the latest.

        Raises:
          FileNotFoundError: if there is no such checkpoint.
        """
        self.wait()
        if number is None:
            number = self.latest
        if number is None or number not in self.checkpoints:
            raise FileNotFoundError(
                f"restore: no {self.unit} checkpoint {number} in {self.directory}."
            )
        abstract = jax.tree.map(abstract_leaf, TrainState(*template)._asdict())
        restored = self._manager.restore(
            int(number), args=ocp.args.StandardRestore(abstract)
        )
        return TrainState(**restored)

    @property
    def latest(self) -> int | None:
        """The newest checkpoint's number, or None when there is none."""
        return self._manager.latest_step()

    @property
    def best(self) -> int | None:
        """The best checkpoint's number by `best_metric` (the latest without
        one), or None when there is none."""
        return self._manager.best_step()

    @property
    def checkpoints(self) -> list[int]:
        """The numbers of every checkpoint kept, in increasing order."""
        return sorted(self._manager.all_steps())

    def wait(self) -> None:
        """Blocks until every background save is written."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for pending saves and releases orbax's resources."""
        self._manager.close()
