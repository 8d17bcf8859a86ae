"""TensorBoard event files of the logs, written without TensorFlow."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from train.callbacks._batches import BatchCounter
from train.callbacks.base import Callback

_FILE_NUMBERS = itertools.count()  # tells apart files made in the same second


class TensorBoard(Callback):
    """Writes the logs as TensorBoard scalars under `log_dir`.

    Training logs go to `log_dir/train`, `val_` logs to `log_dir/validation`
    with the prefix dropped (so `loss` and `val_loss` share the chart
    `epoch_loss`), as Keras does. Each epoch end writes `epoch_<key>` at step
    `epoch` (from 0); with `update_freq=N`, every N-th batch also writes
    `batch_<key>` at step N, 2N, ... (batches counted over the run). The
    files are flushed at each epoch end and closed when training ends. Only
    the `tensorboard` package is needed, and only once something is written.

    Args:
      log_dir: the run's directory; `tensorboard --logdir` reads it.
      update_freq: `"epoch"`, `"batch"` (every batch), or a number of batches.
      write_steps_per_second: also write the training speed, as
        `epoch_steps_per_second` (and `batch_steps_per_second`).

    Raises:
      ValueError: if `update_freq` is neither of the above.

    Example:
      >>> import os, tempfile
      >>> from train.callbacks import CallbackList
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     calls = CallbackList([TensorBoard(tmp)], model=None, epochs=1)
      ...     calls.call("on_train_begin", None)
      ...     calls.call("on_epoch_begin", 0, None)
      ...     calls.call("on_epoch_end", 0, {"loss": 0.5, "val_loss": 0.75})
      ...     calls.call("on_train_end", None)
      ...     print(sorted(os.listdir(tmp)), len(os.listdir(tmp + "/train")))
      ['train', 'validation'] 1
    """

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        update_freq: str | int = "epoch",
        write_steps_per_second: bool = False,
    ) -> None:
        super().__init__()
        update_freq = 1 if update_freq == "batch" else update_freq
        counts = isinstance(update_freq, int) and not isinstance(update_freq, bool)
        if update_freq != "epoch" and not (counts and update_freq > 0):
            raise ValueError(
                "TensorBoard: expected update_freq 'epoch', 'batch' or a "
                f"positive number of batches. Received: update_freq={update_freq!r}."
            )
        self.log_dir = os.fspath(log_dir)
        self.update_freq = update_freq
        self.write_steps_per_second = write_steps_per_second
        self._files: dict[str, _EventFile] = {}

    def on_train_begin(self, logs=None):
        self._batches = BatchCounter()
        self._written_at = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._batches.new_epoch()
        self._epoch_mark = self._batch_mark = (self._batches.total, time.perf_counter())

    def implements_train_batch_hooks(self) -> bool:
        return self.update_freq != "epoch"

    def on_train_batch_end(self, batch, logs=None):
        seen = self._batches.update(batch)
        if self.update_freq == "epoch" or seen - self._written_at < self.update_freq:
            return
        scalars = {f"batch_{key}": value for key, value in (logs or {}).items()}
        if self.write_steps_per_second:
            scalars.update(_speed("batch", self._batch_mark, seen))
            self._batch_mark = (seen, time.perf_counter())
        self._write("train", seen, scalars)
        self._written_at = seen

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {f"epoch_{k}": v for k, v in logs.items() if not k.startswith("val_")}
        if self.write_steps_per_second:
            train.update(_speed("epoch", self._epoch_mark, self._batches.total))
        self._write("train", epoch, train)
        validation = {
            f"epoch_{k.removeprefix('val_')}": v
            for k, v in logs.items()
            if k.startswith("val_")
        }
        self._write("validation", epoch, validation)
        for file in self._files.values():
            file.flush()

    def on_train_end(self, logs=None):
        for file in self._files.values():
            file.close()
        self._files = {}

    def _write(self, run: str, step: int, scalars: Mapping[str, float]) -> None:
        if not scalars:
            return
        if run not in self._files:
            self._files[run] = _EventFile(os.path.join(self.log_dir, run))
        self._files[run].write_scalars(step, scalars)


def _speed(prefix: str, mark: tuple[int, float], seen: int) -> dict[str, float]:
    """Steps per second since `mark = (steps seen, time)`, if any time passed."""
    seconds = time.perf_counter() - mark[1]
    if seconds <= 0:
        return {}
    return {f"{prefix}_steps_per_second": (seen - mark[0]) / seconds}


class _EventFile:
    """One event file: `Event` protos in TFRecord framing, as TensorBoard reads."""

    def __init__(self, directory: str) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._event, self._summary = event_pb2.Event, summary_pb2.Summary
        os.makedirs(directory, exist_ok=True)
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}"
            f".{os.getpid()}.{next(_FILE_NUMBERS)}.v2"
        )
        self._records = RecordWriter(open(os.path.join(directory, name), "wb"))
        self._append(self._event(file_version="brain.Event:2"))

    def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
        values = [
            self._summary.Value(tag=tag, simple_value=float(value))
            for tag, value in _scalars(scalars)
        ]
        self._append(self._event(step=step, summary=self._summary(value=values)))

    def _append(self, event) -> None:
        event.wall_time = time.time()
        self._records.write(event.SerializeToString())

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        self._records.close()


def _scalars(logs: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """`(tag, value)` per number: a metric of several values (one per class)
    is written as `name/0`, `name/1`, ..."""
    for tag, value in logs.items():
        if np.ndim(value) == 0:
            yield tag, float(value)
        else:
            yield from ((f"{tag}/{i}", float(v)) for i, v in enumerate(np.ravel(value)))
