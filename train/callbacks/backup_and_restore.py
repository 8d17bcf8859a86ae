"""Backing up a training run, and resuming it after an interruption, on orbax."""

from __future__ import annotations

import os
import shutil
import warnings
from typing import Any

import jax
import orbax.checkpoint as ocp

from stateless import config
from train import backends
from train.callbacks._batches import BatchCounter, checked_frequency
from train.callbacks._train_state import live_train_state
from train.callbacks.base import Callback
from train.checkpoint import abstract_leaf

_ITEMS = ("train_state", "metric_states", "progress")


class BackupAndRestore(Callback):
    """Backs the whole run up in `backup_dir`; a `fit` started again after an
    interruption goes on from the last backup.

    A backup is the live `TrainState` (parameters, layer, optimizer and
    metric states, step count, key) and the position in the run (the epoch,
    and the batches done in it), written by orbax under a temporary name and
    renamed into place once complete, so a process killed mid-write leaves
    the previous backup intact. At `on_train_begin`, a backup in
    `backup_dir` replaces the run's state and the loop goes on where it was
    taken: at the next epoch, or (with `save_freq=N`) in the middle of an
    epoch, after the batches already trained, with the epoch's metrics as
    they stood. With the same `seed` (it fixes the shuffling), a resumed
    `fit` ends bit-exact with an uninterrupted one; what callbacks keep in
    themselves (EarlyStopping's patience, say) starts afresh, as in Keras.
    The backup must come from the same model, compiled the same way.

    Args:
      backup_dir: the directory backups live in; nothing else may use it.
      save_freq: `"epoch"` (a backup at each epoch end) or a number of
        batches between two backups (with `steps_per_execution=k`, a backup
        lands at the end of the execution that reaches the number).
      double_checkpoint: keep the previous backup too, and fall back on it
        when the latest cannot be read.
      delete_checkpoint: remove `backup_dir` when training ends normally.

    Raises:
      ValueError: if `backup_dir` is empty or `save_freq` is neither
        `"epoch"` nor a positive int; at `on_train_begin`, if the backup
        holds other metrics than the run.

    Example:
      >>> import tempfile
      >>> import train
      >>> def apply(v, x, training=False, rng=None):
      ...     return x @ v["params"]["w"], v["state"]
      >>> trainer = train.Trainer(apply, "mse", train.optimizers.SGD(0.1))
      >>> trainer.variables = {"params": {"w": jnp.zeros((2, 1))}, "state": {}}
      >>> x = np.ones((8, 2), "float32")
      >>> class Preempted(train.callbacks.Callback):
      ...     def on_epoch_end(self, epoch, logs=None):
      ...         if epoch == 1:
      ...             raise KeyboardInterrupt
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     backup = BackupAndRestore(tmp)
      ...     try:
      ...         _ = trainer.fit(x, x[:, :1], batch_size=2, epochs=4, verbose=0,
      ...                         callbacks=[backup, Preempted()])
      ...     except KeyboardInterrupt:
      ...         pass
      ...     history = trainer.fit(x, x[:, :1], batch_size=2, epochs=4,
      ...                           verbose=0, callbacks=[backup])
      >>> history.epoch, int(trainer.train_state.step)
      ([2, 3], 16)
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError(
                "BackupAndRestore: expected a backup_dir. "
                f"Received: backup_dir={backup_dir!r}."
            )
        self.backup_dir = os.path.abspath(os.fspath(backup_dir))
        self.save_freq = checked_frequency("BackupAndRestore", "save_freq", save_freq)
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._manager: ocp.CheckpointManager | None = None
        self._resumed = (0, 0)  # where this fit started: (epoch, batches done)
        self._batches = BatchCounter()
        self._epoch = 0

    def on_train_begin(self, logs=None):
        options = ocp.CheckpointManagerOptions(
            max_to_keep=2 if self.double_checkpoint else 1,
            step_prefix="backup",
            enable_async_checkpointing=False,  # on disk before the next step
            create=True,
        )
        self._manager = ocp.CheckpointManager(
            self.backup_dir, options=options, item_names=_ITEMS
        )
        self._resumed, self._batches = (0, 0), BatchCounter()
        latest = self._manager.latest_step()
        if latest is not None:
            epoch, done = self._restore(latest)
            self.model.resume_training_at(epoch, done)
            self._resumed = (epoch, done)

    def on_epoch_begin(self, epoch, logs=None):
        resumed_epoch, done = self._resumed
        self._epoch = epoch
        self._batches.new_epoch(done if epoch == resumed_epoch else 0)

    def implements_train_batch_hooks(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches.update(batch)
        if self._batches.due(self.save_freq):
            self._back_up(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._back_up(epoch + 1, 0)

    def on_train_end(self, logs=None):
        self._manager.close()
        self._manager = None
        if self.delete_checkpoint:
            shutil.rmtree(self.backup_dir, ignore_errors=True)

    def _back_up(self, epoch: int, done: int) -> None:
        ts = live_train_state(self.model, "BackupAndRestore")
        if config.backend() != "jax":
            ts = backends.to_numpy(ts)
        number = (self._manager.latest_step() or 0) + 1
        self._manager.save(
            number,
            args=ocp.args.Composite(
                train_state=ocp.args.StandardSave(ts._replace(metrics={})._asdict()),
                metric_states=ocp.args.StandardSave(ts.metrics),
                progress=ocp.args.JsonSave({"epoch": epoch, "batch": done}),
            ),
        )

    def _restore(self, latest: int) -> tuple[int, int]:
        """Puts backup `latest` (or the one before, when it cannot be read)
        into the run; returns its `(epoch, batches done)`."""
        try:
            return self._restore_number(latest)
        except (OSError, ValueError) as error:
            older = [n for n in self._manager.all_steps() if n < latest]
            if not older:
                raise
            warnings.warn(
                f"BackupAndRestore: the latest backup in {self.backup_dir} could "
                f"not be read ({error}); resuming from the one before it.",
                stacklevel=3,
            )
            return self._restore_number(max(older))

    def _restore_number(self, number: int) -> tuple[int, int]:
        template = live_train_state(self.model, "BackupAndRestore")
        abstract = jax.tree.map(abstract_leaf, template._replace(metrics={})._asdict())
        saved = self._manager.restore(
            number,
            args=ocp.args.Composite(
                train_state=ocp.args.StandardRestore(abstract),
                metric_states=ocp.args.StandardRestore(),
                progress=ocp.args.JsonRestore(),
            ),
        )
        metrics = _like(template.metrics, saved["metric_states"], self.backup_dir)
        ts = type(template)(**{**saved["train_state"], "metrics": metrics})
        self.model.train_state = backends.to_backend(ts, config.backend())
        return saved["progress"]["epoch"], saved["progress"]["batch"]


def _like(template: Any, saved: Any, directory: str) -> Any:
    """The saved metric states, placed as the run's (their shapes may differ:
    a state sized by the data is widened by the first batch)."""
    if jax.tree.structure(template) != jax.tree.structure(saved):
        raise ValueError(
            f"BackupAndRestore: the backup in {directory} holds the metrics "
            f"{sorted(saved)}, this run {sorted(template)}. Compile the model "
            "as the run that wrote it, or remove the directory to start afresh."
        )
    return jax.tree.map(
        lambda t, s: jax.device_put(s, t.sharding) if isinstance(t, jax.Array) else s,
        template,
        saved,
    )
