"""Streaming each epoch's logs to a CSV file."""

from __future__ import annotations

import csv
import os

from train.callbacks.base import Callback


class CSVLogger(Callback):
    """Writes one CSV row per epoch: the epoch index (from 0) and its logs.

    The header is `epoch` then the first epoch's log keys, sorted. Each row is
    written whole and flushed, so an interrupted run leaves only complete rows.
    A key missing from a later epoch is written as `NA`; a key that the first
    epoch did not log is left out.

    Args:
      filename: the CSV file's path.
      separator: the string between two fields.
      append: whether to append to an existing file (then without a second
        header) instead of overwriting it.

    Example:
      >>> from train.callbacks import CallbackList
      >>> import os, pathlib, tempfile
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     path = os.path.join(tmp, "log.csv")
      ...     calls = CallbackList([CSVLogger(path)], model=None, epochs=2)
      ...     calls.call("on_train_begin", None)
      ...     calls.call("on_epoch_end", 0, {"loss": 0.5, "val_loss": 0.75})
      ...     calls.call("on_epoch_end", 1, {"loss": 0.25, "val_loss": 0.5})
      ...     calls.call("on_train_end", None)
      ...     print(pathlib.Path(path).read_text(), end="")
      epoch,loss,val_loss
      0,0.5,0.75
      1,0.25,0.5
    """

    def __init__(
        self, filename: str | os.PathLike, separator: str = ",", append: bool = False
    ) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys: list[str] = []

    def on_train_begin(self, logs=None):
        has_rows = os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._needs_header = not (self.append and has_rows)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(
                self._file, delimiter=self.separator, lineterminator="\n"
            )
            if self._needs_header:
                self._writer.writerow(["epoch", *self._keys])
        self._writer.writerow([epoch, *(logs.get(key, "NA") for key in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()
        self._writer = None
