"""A callback made of plain functions."""

from __future__ import annotations

from collections.abc import Callable

from train.callbacks.base import Callback


class LambdaCallback(Callback):
    """Calls the functions given for some hooks; the other hooks do nothing.

    Each function takes the hook's arguments: `(epoch, logs)` for the epoch
    hooks, `(batch, logs)` for the batch hooks, `(logs)` for the train hooks.

    Args:
      on_epoch_begin, on_epoch_end: `f(epoch, logs)`, or None.
      on_train_begin, on_train_end: `f(logs)`, or None.
      on_train_batch_begin, on_train_batch_end: `f(batch, logs)`, or None.

    Example:
      >>> from train.callbacks import CallbackList
      >>> show = LambdaCallback(
      ...     on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
      >>> calls = CallbackList([show], model=None, epochs=1)
      >>> calls.call("on_epoch_end", 0, {"loss": 0.5})
      0 0.5
    """

    def __init__(
        self,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
    ) -> None:
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
