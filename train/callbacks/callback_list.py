"""Several callbacks called as one: the loop's, or a hand-written loop's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from train.callbacks.base import Callback
from train.callbacks.history import History
from train.callbacks.progbar import ProgbarLogger


class CallbackList:
    """Calls every hook on each of `callbacks`, in order, with Keras's names.

    A hand-written training loop drives callbacks through one, as Keras's
    guide to writing a loop from scratch does: `on_train_begin()`,
    `on_epoch_begin(epoch)`, `on_train_batch_end(step, logs)`...

    Args:
      callbacks: `train.callbacks.Callback` objects.
      add_history: append a `History` (unless one is given); its record is
        `model.history` after `on_train_begin`.
      add_progbar: append a `ProgbarLogger` (unless one is given).
      model: what the callbacks see as `self.model`.
      **params: what they see as `self.params` (`epochs`, `steps`, `verbose`).

    Raises:
      TypeError: if a callback is not a `train.callbacks.Callback`.

    Example:
      >>> from types import SimpleNamespace
      >>> model = SimpleNamespace(stop_training=False)
      >>> calls = CallbackList(add_history=True, model=model, epochs=2)
      >>> calls.on_train_begin()
      >>> for epoch in range(2):
      ...     calls.on_epoch_begin(epoch)
      ...     calls.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
      >>> model.history.history
      {'loss': [1.0, 0.5]}
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ):
        self.callbacks = list(callbacks or [])
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks: expected train.callbacks.Callback objects, "
                    f"received {type(callback).__name__}."
                )
        for wanted, kind in ((add_history, History), (add_progbar, ProgbarLogger)):
            if wanted and not any(isinstance(c, kind) for c in self.callbacks):
                self.callbacks.append(kind())
        self.model = model
        self.params = params
        self.set_model(model)
        self.set_params(params)

    def set_model(self, model: Any) -> None:
        """Shows every callback `model` as `self.model`."""
        self.model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        """Shows every callback `params` as `self.params`."""
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def call(self, hook: str, *args: Any) -> None:
        """Calls `hook` on every callback, in order."""
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_train_begin(self, logs=None):
        self.call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self.call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self.call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.call("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        self.call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self.call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self.call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self.call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs=None):
        self.call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self.call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self.call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self.call("on_predict_batch_end", batch, logs)
