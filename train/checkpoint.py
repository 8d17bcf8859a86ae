"""Checkpointing a whole training run (`TrainState`) by epoch, with orbax.

`CheckpointManager` is a thin wrapper over `orbax.checkpoint.CheckpointManager`:
orbax writes each checkpoint under a temporary name and renames it into place
once complete (and, with `async_save`, writes in a background thread after
copying the arrays to host), so a crash mid-write never leaves a half
checkpoint that `restore` would read. Nothing here re-implements that.

Checkpoints are keyed by the number of epochs *completed*: the state saved
after epoch index `e` (as `on_epoch_end` counts, from 0) is checkpoint `e + 1`,
so `trainer.fit(..., initial_epoch=manager.latest_epoch)` resumes exactly.
`CheckpointCallback` saves this way at every epoch end.

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
  ...     print(manager.all_epochs, int(back.step), type(back).__name__)
  ...     manager.close()
  [2, 3] 3 TrainState
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from train.callbacks.base import Callback
from train.steps import TrainState


def _abstract(leaf: Any) -> jax.ShapeDtypeStruct:
    """What orbax should restore `leaf` as: its shape, dtype and placement."""
    if isinstance(leaf, jax.Array):
        return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=leaf.sharding)
    leaf = np.asarray(leaf)
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device)


class CheckpointManager:
    """Saves and restores `TrainState`s under `directory`, one per epoch.

    Args:
      directory: where checkpoints live (one subdirectory per epoch); created
        when missing.
      max_to_keep: how many checkpoints to keep (None: all). Without
        `best_metric` the newest are kept; with it, the best.
      best_metric: a log key (e.g. `"val_loss"`) that ranks checkpoints;
        every `save` must then be given logs holding it.
      best_mode: `"min"` or `"max"`: which values of `best_metric` are best.
      save_every_epochs: `save` only writes when `epoch` is a multiple of it
        (unless forced).
      async_save: write in the background; `wait()` (or `restore`, `close`)
        blocks until every write is done.

    Raises:
      ValueError: if `best_mode` is neither "min" nor "max", or
        `save_every_epochs` is not a positive int.

    Example:
      >>> import tempfile
      >>> ts = TrainState(jnp.int32(0), {"w": jnp.zeros(2)}, {}, (), {},
      ...                 sl.random.key(0))
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     manager = CheckpointManager(tmp, max_to_keep=1, best_metric="loss")
      ...     for epoch, loss in [(1, 0.5), (2, 0.9), (3, 0.7)]:
      ...         _ = manager.save(epoch, ts, {"loss": loss})
      ...     print(manager.best_epoch, manager.latest_epoch, manager.all_epochs)
      ...     manager.close()
      1 1 [1]
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        max_to_keep: int | None = None,
        best_metric: str | None = None,
        best_mode: str = "min",
        save_every_epochs: int = 1,
        async_save: bool = True,
    ) -> None:
        if best_mode not in ("min", "max"):
            raise ValueError(f"best_mode must be 'min' or 'max', not {best_mode!r}.")
        if not isinstance(save_every_epochs, int) or save_every_epochs < 1:
            raise ValueError(
                f"save_every_epochs must be a positive int, not {save_every_epochs!r}."
            )
        self.directory = os.path.abspath(os.fspath(directory))
        self.best_metric = best_metric
        self.save_every_epochs = save_every_epochs
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            best_fn=(lambda m: float(m[best_metric])) if best_metric else None,
            best_mode=best_mode,
            save_interval_steps=1,  # `save` decides, by `save_every_epochs`
            enable_async_checkpointing=async_save,
            create=True,
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def save(
        self,
        epoch: int,
        train_state: TrainState,
        logs: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
    ) -> bool:
        """Saves `train_state` as checkpoint `epoch` (epochs completed).

        Args:
          epoch: the checkpoint's number: the epochs the state has completed.
          train_state: the `TrainState` to save.
          logs: the epoch's logs (Python floats); kept with the checkpoint and
            used to rank it when `best_metric` is set.
          force: save even when `epoch` is not a multiple of
            `save_every_epochs`.

        Returns:
          Whether a checkpoint was written (or started, when saving async).

        Raises:
          KeyError: if `best_metric` is set and `logs` lack it.
        """
        if not force and epoch % self.save_every_epochs:
            return False
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        if self.best_metric is not None and self.best_metric not in metrics:
            raise KeyError(
                f"save: the logs lack best_metric {self.best_metric!r} "
                f"(they hold {sorted(metrics)})."
            )
        pytree = TrainState(*train_state)._asdict()
        return self._manager.save(
            int(epoch),
            args=ocp.args.StandardSave(pytree),
            metrics=metrics or None,
            force=True,
        )

    def restore(self, template: TrainState, epoch: int | None = None) -> TrainState:
        """The `TrainState` saved as checkpoint `epoch` (default: the latest).

        Args:
          template: a `TrainState` of the same structure (e.g. the trainer's,
            or a fresh `init_train_state`); the result has its tree
            structure, shapes, dtypes and shardings. Its values are unused.
          epoch: which checkpoint; None for the latest.

        Raises:
          FileNotFoundError: if there is no such checkpoint.
        """
        self.wait()
        if epoch is None:
            epoch = self.latest_epoch
        if epoch is None or epoch not in self.all_epochs:
            raise FileNotFoundError(
                f"restore: no checkpoint {epoch} in {self.directory}."
            )
        abstract = jax.tree.map(_abstract, TrainState(*template)._asdict())
        restored = self._manager.restore(
            int(epoch), args=ocp.args.StandardRestore(abstract)
        )
        return TrainState(**restored)

    @property
    def latest_epoch(self) -> int | None:
        """The newest checkpoint's epoch, or None when there is none."""
        return self._manager.latest_step()

    @property
    def best_epoch(self) -> int | None:
        """The best checkpoint's epoch by `best_metric` (the latest without
        one), or None when there is none."""
        return self._manager.best_step()

    @property
    def all_epochs(self) -> list[int]:
        """The epochs of every checkpoint kept, in increasing order."""
        return sorted(self._manager.all_steps())

    def wait(self) -> None:
        """Blocks until every background save is written."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for pending saves and releases orbax's resources."""
        self._manager.close()


class CheckpointCallback(Callback):
    """Saves the live `TrainState` through `manager` at every epoch end.

    The state after epoch index `epoch` is saved as checkpoint `epoch + 1`
    (epochs completed), with the epoch's logs (for `best_metric`). The state
    comes from `self.model.trainer.train_state` (an `nn.Model`) or
    `self.model.train_state` (a `Trainer` used directly): the fit loop keeps
    `train_state` live, as of the last finished step, while callbacks run.
    At train end it waits for pending writes.

    Args:
      manager: the `CheckpointManager` to save through.

    Example:
      >>> import tempfile
      >>> import train
      >>> def apply(v, x, training=False, rng=None):
      ...     return x @ v["params"]["w"], v["state"]
      >>> trainer = train.Trainer(apply, "mse", train.optimizers.SGD(0.1))
      >>> trainer.variables = {"params": {"w": jnp.zeros((2, 1))}, "state": {}}
      >>> x = np.ones((8, 2), "float32")
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     manager = CheckpointManager(tmp, max_to_keep=2)
      ...     _ = trainer.fit(x, x[:, :1], epochs=3, verbose=0, seed=0,
      ...                     callbacks=[CheckpointCallback(manager)])
      ...     print(manager.all_epochs)
      ...     manager.close()
      [2, 3]
    """

    def __init__(self, manager: CheckpointManager) -> None:
        super().__init__()
        self.manager = manager

    def _train_state(self) -> TrainState:
        for owner in (getattr(self.model, "trainer", None), self.model):
            ts = getattr(owner, "train_state", None)
            if ts is not None:
                return ts
        raise ValueError(
            "CheckpointCallback: neither the model nor its trainer has a "
            "train_state to save."
        )

    def on_epoch_end(self, epoch, logs=None):
        self.manager.save(epoch + 1, self._train_state(), logs)

    def on_train_end(self, logs=None):
        self.manager.wait()
