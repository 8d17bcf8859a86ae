"""Changing the optimizer's learning rate between epochs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from train.callbacks._monitor import Monitor
from train.callbacks.base import Callback


def _read_rate(owner: str, model) -> float:
    rate = model.optimizer.learning_rate
    if callable(rate):
        raise TypeError(
            f"{owner}: expected the optimizer's learning_rate to be a number, "
            f"to read and replace. Received the schedule {rate!r}. Hint: give "
            "the optimizer a float rate and let the callback change it."
        )
    return float(rate)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` stops improving.

    After `patience` epochs in a row without improvement (by more than
    `min_delta`), the rate becomes `max(rate * factor, min_lr)`; then
    `cooldown` epochs pass before epochs without improvement count again.
    Each epoch's logs get `"learning_rate"`: the rate that epoch trained with.

    Args:
      monitor: the log key to watch.
      factor: the multiplier, below 1.
      patience: epochs without improvement before a reduction.
      verbose: 1 prints a line at each reduction.
      mode: `"min"`, `"max"`, or `"auto"` (`"max"` for names containing "acc",
        "auc", "precision" or "recall", else `"min"`).
      min_delta: the smallest change that counts as an improvement.
      cooldown: epochs after a reduction during which no waiting is counted.
      min_lr: the rate is never reduced below this.

    Raises:
      ValueError: if `factor >= 1`, or `mode` is none of "auto", "min", "max".
      TypeError: (at an epoch's end) if the optimizer's rate is a schedule.

    Example:
      >>> from types import SimpleNamespace
      >>> from train.callbacks import CallbackList
      >>> model = SimpleNamespace(optimizer=SimpleNamespace(learning_rate=0.1))
      >>> reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
      >>> calls = CallbackList([reduce], model=model, epochs=3)
      >>> calls.call("on_train_begin", None)
      >>> for epoch, loss in enumerate([1.0, 1.0, 1.0]):
      ...     logs = {"loss": loss}
      ...     calls.call("on_epoch_end", epoch, logs)
      ...     print(logs["learning_rate"], "->", model.optimizer.learning_rate)
      0.1 -> 0.1
      0.1 -> 0.05
      0.05 -> 0.025
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        if factor >= 1.0:
            raise ValueError(
                "ReduceLROnPlateau: expected factor < 1, the multiplier of the "
                f"learning rate. Received: factor={factor}."
            )
        self._monitor = Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.cooldown_counter = 0
        self.best = self._monitor.worst

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = _read_rate("ReduceLROnPlateau", self.model)
        current = self._monitor.value(logs)
        if current is None:
            return
        cooling_down = self.cooldown_counter > 0
        if cooling_down:  # this epoch does not count towards patience
            self.cooldown_counter -= 1
        if self._monitor.improved(current, self.best):
            self.best = current
            self.wait = 0
        elif not cooling_down:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch: int) -> None:
        old = _read_rate("ReduceLROnPlateau", self.model)
        # The rate may be held as a float32: compare at that precision.
        if old <= np.float32(self.min_lr):
            return
        new = max(old * self.factor, self.min_lr)
        self.model.optimizer.learning_rate = new
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                f"rate to {new}."
            )
        self.cooldown_counter = self.cooldown
        self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start from `schedule(epoch, lr)`.

    Each epoch's logs get `"learning_rate"`: the rate that epoch trained with.

    Args:
      schedule: a function of the epoch index (from 0) and the current rate
        (a float) that returns the new rate.
      verbose: 1 prints the rate set at each epoch.

    Raises:
      TypeError: (at an epoch's start) if `schedule` returns no number, or
        the optimizer's rate is a schedule.

    Example:
      >>> from types import SimpleNamespace
      >>> from train.callbacks import CallbackList
      >>> model = SimpleNamespace(optimizer=SimpleNamespace(learning_rate=0.1))
      >>> halve = LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch else lr)
      >>> calls = CallbackList([halve], model=model, epochs=3)
      >>> for epoch in range(3):
      ...     calls.call("on_epoch_begin", epoch, None)
      ...     print(model.optimizer.learning_rate)
      0.1
      0.05
      0.025
    """

    def __init__(
        self, schedule: Callable[[int, float], float], verbose: int = 0
    ) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        rate = self.schedule(epoch, _read_rate("LearningRateScheduler", self.model))
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise TypeError(
                "LearningRateScheduler: expected schedule(epoch, lr) to return "
                f"a number. Received: {rate!r} at epoch {epoch}."
            ) from None
        self.model.optimizer.learning_rate = rate
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning "
                f"rate to {rate}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _read_rate("LearningRateScheduler", self.model)
