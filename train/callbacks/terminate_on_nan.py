"""Stopping a run whose loss is no longer a finite number."""

from __future__ import annotations

import math

from train.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stops training after the first batch whose loss is NaN or infinite.

    Example:
      >>> from train.callbacks import CallbackList
      >>> from types import SimpleNamespace
      >>> model = SimpleNamespace(stop_training=False)
      >>> calls = CallbackList([TerminateOnNaN()], model=model, epochs=1)
      >>> calls.call("on_train_batch_end", 0, {"loss": 0.5})
      >>> calls.call("on_train_batch_end", 1, {"loss": float("nan")})
      Batch 1: Invalid loss, terminating training
      >>> model.stop_training
      True
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
