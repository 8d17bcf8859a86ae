"""Stopping a run whose loss is no longer a finite number."""

from __future__ import annotations

import math

from train.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stops training after the first batch whose loss is NaN or infinite.

    Args:
      raise_error: raise instead of stopping: the run ends at once, without
        `on_train_end` (so BackupAndRestore keeps its backup, and nothing
        saves the broken weights at the end).

    Raises:
      RuntimeError: (at such a batch) with `raise_error`.

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

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"TerminateOnNaN: the loss of batch {batch} is {loss}; training "
                "stops here (raise_error=True)."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
