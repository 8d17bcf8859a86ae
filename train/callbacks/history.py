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

    def plot(
        self,
        metrics: list[str] | None = None,
        monitor: str | None = None,
        mode: str = "auto",
    ) -> Any:
        """The training curves as a matplotlib `Figure` (matplotlib is
        imported only now): one panel per metric, the loss first, training
        and validation together, epochs counted from 1 as the progress bar
        counts them, losses on a log axis, and the best epoch of `monitor`
        marked on every panel (a vertical line; a point on its own curve).

        Args:
          metrics: the metrics to draw (default: every one logged, each with
            its `val_` twin).
          monitor: the log key whose best epoch is marked (default
            `"val_loss"`, else `"loss"`); `mode` judges it as EarlyStopping
            does ("auto", "min", "max").

        Returns:
          The figure; in a notebook it shows itself as a cell's last value
          (after `%matplotlib inline`, or once pyplot is imported),
          elsewhere `figure.savefig("curves.png")` writes it.

        Raises:
          ValueError: nothing was logged for a metric asked for.

        Example:
          >>> history = History()
          >>> history.epoch = [0, 1, 2]
          >>> history.history = {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.6, 0.7]}
          >>> figure = history.plot()
          >>> ax = figure.axes[0]
          >>> ax.get_xlabel(), ax.get_ylabel()
          ('epoch', 'loss (log scale)')
          >>> ax.get_legend_handles_labels()[1]
          ['training', 'validation', 'best epoch 2 (val_loss)']
        """
        from train.callbacks.history_plot import plot_history

        return plot_history(self.history, self.epoch, metrics, monitor, mode)
