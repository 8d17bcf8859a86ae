"""Stopping training when a monitored log value stops improving."""

from __future__ import annotations

from typing import Any

from train.callbacks._monitor import Monitor
from train.callbacks.base import Callback


class EarlyStopping(Callback):
    """Stops training once `monitor` has not improved for `patience` epochs.

    At each epoch end the monitored value either improves on the best so far
    (by more than `min_delta`), or adds one epoch of waiting; after `patience`
    such epochs in a row, `model.stop_training` is set. With a `baseline`,
    the waiting only restarts on values that also improve on the baseline.

    Args:
      monitor: the log key to watch, e.g. `"val_loss"` or `"val_accuracy"`.
      min_delta: the smallest change that counts as an improvement.
      patience: epochs without improvement before stopping.
      verbose: 1 prints a line when stopping and when restoring variables.
      mode: `"min"`, `"max"`, or `"auto"` (`"max"` for names containing "acc",
        "auc", "precision" or "recall", else `"min"`).
      baseline: a value the monitored quantity must improve on, or None.
      restore_best_weights: whether to set `model.variables` back to those of
        the best epoch when training ends (stopped early or not).
      start_from_epoch: epochs to let pass before watching (a warm-up).

    Attributes:
      stopped_epoch: the epoch (from 0) at which training was stopped, else 0.
      best: the best monitored value so far; best_epoch: its epoch.
      best_weights: `model.variables` as of `best_epoch`, when restoring.

    Raises:
      ValueError: if `mode` is none of "auto", "min", "max".

    Example:
      >>> from types import SimpleNamespace
      >>> from train.callbacks import CallbackList
      >>> model = SimpleNamespace(stop_training=False, variables=None)
      >>> stop = EarlyStopping(monitor="loss", patience=1)
      >>> calls = CallbackList([stop], model=model, epochs=10)
      >>> calls.call("on_train_begin", None)
      >>> for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.6, 0.4]):
      ...     calls.call("on_epoch_end", epoch, {"loss": loss})
      ...     if model.stop_training:
      ...         break
      >>> stop.stopped_epoch, stop.best_epoch, stop.best
      (2, 1, 0.5)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self._monitor = Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._monitor.worst
        self.best_epoch = 0
        self.best_weights: Any = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor.value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.variables, epoch
        self.wait += 1
        if self._monitor.improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.variables
            if self.baseline is None or self._monitor.improved(current, self.baseline):
                self.wait = 0
        elif self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.variables = self.best_weights
