"""The per-epoch record of a training run's logs."""

from __future__ import annotations

from typing import Any

from train.callbacks.base import Callback


class History(Callback):
    """Records the logs of every epoch, and hangs itself on `model.history`.

    Attributes:
      epoch: the indices of the finished epochs, from 0.
      history: one list per log key, with that key's value for each epoch that
        logged it.

    Example:
      >>> from train.callbacks import CallbackList
      >>> from types import SimpleNamespace
      >>> model = SimpleNamespace()
      >>> calls = CallbackList([History()], model=model, epochs=2)
      >>> calls.call("on_train_begin", None)
      >>> calls.call("on_epoch_end", 0, {"loss": 0.5, "val_loss": 0.75})
      >>> calls.call("on_epoch_end", 1, {"loss": 0.25, "val_loss": 0.5})
      >>> model.history.epoch, model.history.history
      ([0, 1], {'loss': [0.5, 0.25], 'val_loss': [0.75, 0.5]})
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch: list[int] = []
        self.history: dict[str, list[Any]] = {}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}
        self.model.history = self

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
