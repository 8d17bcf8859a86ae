"""Saving the model, its weights, or the whole train state, during training."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from train.callbacks._batches import BatchCounter, checked_frequency
from train.callbacks._monitor import Monitor
from train.callbacks._train_state import live_train_state
from train.callbacks.base import Callback


def _check_manager(
    filepath: Any, manager: Any, save_freq: str | int, save_weights_only: bool
) -> None:
    """A manager replaces the filepath and counts in save_freq's unit."""
    if filepath is not None:
        raise ValueError("ModelCheckpoint: give a filepath or a manager, not both.")
    if save_weights_only:
        raise ValueError(
            "ModelCheckpoint: a manager saves the whole TrainState; "
            "save_weights_only=True needs a filepath."
        )
    unit = "epoch" if save_freq == "epoch" else "step"
    if manager.unit != unit:
        raise ValueError(
            f"ModelCheckpoint: save_freq={save_freq!r} numbers checkpoints by "
            f"{unit}, but the manager counts in {manager.unit}s. Hint: "
            f"CheckpointManager(directory, unit={unit!r})."
        )


class ModelCheckpoint(Callback):
    """Saves the model at each epoch end, or every `save_freq` batches.

    `filepath` is a format string filled with `epoch` (from 1, as Keras
    counts), `batch` (from 1, when saving on batches) and every log key:
    `"ckpt/{epoch:02d}-{val_loss:.2f}.stateless"`. Without such fields, each save
    overwrites the last.

    With `manager` (a `train.checkpoint.CheckpointManager`) instead of a
    `filepath`, each save writes the whole live `TrainState` (parameters,
    layer and optimizer state, step, key) through orbax, as checkpoint
    `epoch + 1` of an epoch manager (`save_freq="epoch"`) or checkpoint
    `int(train_state.step)` of a step manager (`save_freq=N`). The manager's
    own `max_to_keep` and `best_metric` still apply; with `save_best_only`
    and `max_to_keep=1` the one checkpoint kept is the best.

    Args:
      filepath: where to save; its directory is created when missing.
      monitor: the log key that decides which saves are the best.
      verbose: 1 prints a line for each save (or each skipped one).
      save_best_only: save only when `monitor` improves on the best so far.
        When the logs lack `monitor`, it warns and saves anyway.
      save_weights_only: call `model.save_weights(path)`, not `model.save(path)`.
      mode: `"min"`, `"max"`, or `"auto"` (`"max"` for names containing "acc",
        "auc", "precision" or "recall", else `"min"`).
      save_freq: `"epoch"`, or a number of batches between two saves.
      initial_value_threshold: the value a first save must beat (with
        `save_best_only`); None accepts any.
      manager: save through this `CheckpointManager` instead of `filepath`;
        its `unit` must be `"epoch"` for `save_freq="epoch"`, else `"step"`.

    Attributes:
      best: the best monitored value saved so far.

    Raises:
      ValueError: if `save_freq` is neither "epoch" nor a positive int,
        `mode` is none of "auto", "min", "max", not exactly one of
        `filepath` and `manager` is given, `manager`'s unit does not fit
        `save_freq`, or `manager` comes with `save_weights_only`.
      KeyError: (when saving) if `filepath` names a field the logs lack.

    Example:
      >>> import os, tempfile
      >>> from types import SimpleNamespace
      >>> from train.callbacks import CallbackList
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     save = lambda path: open(path, "w").close()
      ...     model = SimpleNamespace(save=save)
      ...     path = os.path.join(tmp, "{epoch:02d}-{val_loss:.2f}.stateless")
      ...     keep = ModelCheckpoint(path, save_best_only=True)
      ...     calls = CallbackList([keep], model=model, epochs=3)
      ...     for epoch, val_loss in enumerate([0.9, 1.2, 0.7]):
      ...         calls.call("on_epoch_end", epoch, {"val_loss": val_loss})
      ...     print(sorted(os.listdir(tmp)))
      ['01-0.90.stateless', '03-0.70.stateless']

      The same through an orbax manager:

      >>> from train.checkpoint import CheckpointManager
      >>> from train.steps import TrainState
      >>> ts = TrainState(jnp.int32(0), {"w": jnp.zeros(2)}, {}, (), {},
      ...                 sl.random.key(0))
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     manager = CheckpointManager(tmp)
      ...     keep = ModelCheckpoint(manager=manager, save_best_only=True)
      ...     model = SimpleNamespace(train_state=ts)
      ...     calls = CallbackList([keep], model=model, epochs=3)
      ...     for epoch, val_loss in enumerate([0.9, 1.2, 0.7]):
      ...         calls.call("on_epoch_end", epoch, {"val_loss": val_loss})
      ...     print(manager.checkpoints)
      ...     manager.close()
      [1, 3]
    """

    def __init__(
        self,
        filepath: str | os.PathLike | None = None,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
        *,
        manager: Any = None,
    ) -> None:
        super().__init__()
        checked_frequency("ModelCheckpoint", "save_freq", save_freq)
        if manager is not None:
            _check_manager(filepath, manager, save_freq, save_weights_only)
        elif filepath is None:
            raise ValueError("ModelCheckpoint: expected a filepath or a manager.")
        self._monitor = Monitor("ModelCheckpoint", monitor, mode, 0.0)
        self.filepath = None if filepath is None else os.fspath(filepath)
        self.manager = manager
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        threshold = initial_value_threshold
        self.best = self._monitor.worst if threshold is None else threshold
        self._batches = BatchCounter()
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._batches = BatchCounter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._batches.new_epoch()

    def implements_train_batch_hooks(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches.update(batch)
        if self._batches.due(self.save_freq):
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def on_train_end(self, logs=None):
        if self.manager is not None:
            self.manager.wait()

    def _save(self, epoch: int, batch: int | None, logs: Mapping[str, float]):
        to = self._to_manager if self.manager is not None else self._to_file
        path, write = to(epoch, batch, logs)
        if self.save_best_only and not self._improves(epoch, logs, path):
            return
        if self.verbose > 0 and not self.save_best_only:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        write()

    def _to_manager(
        self, epoch: int, batch: int | None, logs: Mapping[str, float]
    ) -> tuple[str, Callable[[], Any]]:
        """The checkpoint's directory, and how to save the live state there."""
        ts = self._state_to_save()
        number = epoch + 1 if batch is None else int(ts.step)
        return self.manager.path(number), lambda: self.manager.save(number, ts, logs)

    def _state_to_save(self) -> Any:
        """The `TrainState` a manager saves: the live one."""
        return live_train_state(self.model, type(self).__name__)

    def _to_file(
        self, epoch: int, batch: int | None, logs: Mapping[str, float]
    ) -> tuple[str, Callable[[], Any]]:
        """The formatted file path, and how to save the model there."""
        path = self._path(epoch, batch, logs)

        def write() -> None:
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            if self.save_weights_only:
                self.model.save_weights(path)
            else:
                self.model.save(path)

        return path, write

    def _improves(self, epoch: int, logs: Mapping[str, float], path: str) -> bool:
        current = self._monitor.value(logs)
        if current is None:
            return True
        if not self._monitor.improved(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} did not improve "
                    f"from {self.best:.5f}"
                )
            return False
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: {self.monitor} improved from "
                f"{self.best:.5f} to {current:.5f}, saving model to {path}"
            )
        self.best = current
        return True

    def _path(self, epoch: int, batch: int | None, logs: Mapping[str, float]) -> str:
        fields = {**logs, "epoch": epoch + 1}
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as missing:
            raise KeyError(
                f"ModelCheckpoint: filepath {self.filepath!r} names the field "
                f"{missing}, which the logs lack. Available fields: "
                f"{', '.join(sorted(fields))}."
            ) from None
