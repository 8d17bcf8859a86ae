"""TensorBoard logs of a run, written without TensorFlow."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from stateless.tree_paths import path_name
from train.callbacks._batches import BatchCounter, checked_frequency
from train.callbacks._event_file import EventFile, weight_images
from train.callbacks._projector import embedding_tables, write_projector
from train.callbacks.base import Callback


class TensorBoard(Callback):
    """Writes the run's logs, weights and profile for TensorBoard under `log_dir`.

    As Keras's: training logs go to `log_dir/train`, `val_` logs to
    `log_dir/validation` with the prefix dropped (so `loss` and `val_loss`
    share the chart `epoch_loss`). Each epoch end writes `epoch_<key>` and
    `epoch_learning_rate` (the rate the next step takes, a schedule's too)
    at step `epoch` (from 0); with `update_freq=N`, every N-th batch also
    writes `batch_<key>` at step N, 2N, ... (batches counted over the run).
    The end of each evaluation writes `evaluation_<key>_vs_iterations` at
    the optimizer's step count. The files are flushed at each epoch end and
    closed when training ends. Only the `tensorboard` package is needed, and
    only once something is written.

    Args:
      log_dir: the run's directory; `tensorboard --logdir` reads it.
      histogram_freq: every this many epochs (0: never), a histogram of each
        weight, tagged `<weight path>/histogram` (`dense/kernel/histogram`).
      write_graph: write the model's config at the start, which the Graphs
        tab draws (models with a `get_config`: Sequential, functional).
      write_images: with the histograms, each weight as a grayscale image
        (`<weight path>/image`; a 3-D kernel one per output channel, up to
        3), scaled from its least to its greatest value.
      write_steps_per_second: also write the training speed, as
        `epoch_steps_per_second` (and `batch_steps_per_second`).
      update_freq: `"epoch"`, `"batch"` (every batch), or a number of batches.
      profile_batch: the batches to profile with `jax.profiler` (counted
        from 1 over the run): `N` for the N-th, `(start, stop)` or
        `"start,stop"` for a range; 0 profiles nothing. The trace lands in
        `log_dir/train/plugins/profile`, for TensorBoard's Profile tab.
      embeddings_freq: every this many epochs (0: never), each embedding
        table (a weight named `embeddings`) for the Projector tab, as
        `log_dir/embeddings/<layer>.tsv` named in `projector_config.pbtxt`.
      embeddings_metadata: the labels of the tables' rows: a file for every
        table, or `{layer: file}`.

    Raises:
      ValueError: if `update_freq`, `histogram_freq`, `embeddings_freq` or
        `profile_batch` is none of the above.

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
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int | str | tuple[int, int] = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: str | Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        update_freq = 1 if update_freq == "batch" else update_freq
        accepted = "'epoch', 'batch' or a positive number of batches"
        checked_frequency("TensorBoard", "update_freq", update_freq, accepted)
        for name, value in (("histogram_freq", histogram_freq),
                            ("embeddings_freq", embeddings_freq)):  # fmt: skip
            if not (_is_count(value) and value >= 0):
                raise ValueError(
                    f"TensorBoard: expected {name} a number of epochs >= 0 (0: "
                    f"never). Received: {name}={value!r}."
                )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._profiled = _profiled_batches(profile_batch)
        self._files: dict[str, EventFile] = {}
        self._tracing = False

    def on_train_begin(self, logs=None):
        self._batches = BatchCounter()
        config = getattr(self.model, "get_config", None)
        if self.write_graph and config is not None:
            model_config = {"class_name": type(self.model).__name__, "config": config()}
            self._file("train").write_keras_model(model_config)

    def on_epoch_begin(self, epoch, logs=None):
        self._batches.new_epoch()
        self._epoch_mark = self._batch_mark = (self._batches.total, time.perf_counter())

    def implements_train_batch_hooks(self) -> bool:
        return self.update_freq != "epoch" or self._profiled is not None

    def on_train_batch_begin(self, batch, logs=None):
        if self._profiled is None or self._tracing:
            return
        first, last = self._profiled
        if self._batches.total < first <= self._batches.after(batch):
            jax.profiler.start_trace(os.path.join(self.log_dir, "train"))
            self._tracing = True

    def on_train_batch_end(self, batch, logs=None):
        seen = self._batches.update(batch)
        if self._tracing and seen >= self._profiled[1]:
            self._stop_trace()
        if self.update_freq == "epoch" or not self._batches.due(self.update_freq):
            return
        scalars = {f"batch_{key}": value for key, value in (logs or {}).items()}
        if self.write_steps_per_second:
            scalars.update(_speed("batch", self._batch_mark, seen))
            self._batch_mark = (seen, time.perf_counter())
        self._file("train").write_scalars(seen, scalars)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {f"epoch_{k}": v for k, v in logs.items() if not k.startswith("val_")}
        train.update(_learning_rate(self.model))
        if self.write_steps_per_second:
            train.update(_speed("epoch", self._epoch_mark, self._batches.total))
        self._scalars("train", epoch, train)
        validation = {
            f"epoch_{k.removeprefix('val_')}": v
            for k, v in logs.items()
            if k.startswith("val_")
        }
        self._scalars("validation", epoch, validation)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            tables = embedding_tables(_weights(self.model))
            write_projector(self.log_dir, tables, self.embeddings_metadata)
        for file in self._files.values():
            file.flush()

    def on_test_end(self, logs=None):
        step = getattr(getattr(self.model, "train_state", None), "step", None)
        if step is not None and logs:
            scalars = {f"evaluation_{k}_vs_iterations": v for k, v in logs.items()}
            self._scalars("validation", int(step), scalars)

    def on_train_end(self, logs=None):
        if self._tracing:
            self._stop_trace()
        for file in self._files.values():
            file.close()
        self._files = {}

    def _write_weights(self, epoch: int) -> None:
        weights = _weights(self.model)
        histograms = {f"{path}/histogram": w for path, w in weights.items()}
        self._file("train").write_histograms(epoch, histograms)
        if self.write_images:
            images = {}
            for path, weight in weights.items():
                drawn = weight_images(weight)[:3]
                tags = [f"{path}/image"] if len(drawn) == 1 else [
                    f"{path}/image/{i}" for i in range(len(drawn))
                ]  # fmt: skip
                images.update(zip(tags, drawn, strict=True))
            self._file("train").write_images(epoch, images)

    def _stop_trace(self) -> None:
        jax.profiler.stop_trace()
        self._tracing = False
        self._profiled = None  # one range per run, as Keras profiles

    def _scalars(self, run: str, step: int, scalars: Mapping[str, Any]) -> None:
        if scalars:
            self._file(run).write_scalars(step, scalars)

    def _file(self, run: str) -> EventFile:
        if run not in self._files:
            self._files[run] = EventFile(os.path.join(self.log_dir, run))
        return self._files[run]


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _profiled_batches(profile_batch: Any) -> tuple[int, int] | None:
    """`(first, last)` batch to profile (from 1), or None for none."""
    value = profile_batch
    if isinstance(value, str):
        try:
            value = tuple(int(part) for part in value.split(","))
        except ValueError:
            value = None
        if value is not None and len(value) == 1:
            value = value[0]
    if _is_count(value):
        value = (value, value)
    if isinstance(value, tuple | list) and len(value) == 2:
        if all(_is_count(b) for b in value):
            if tuple(value) == (0, 0):
                return None
            if 1 <= value[0] <= value[1]:
                return value[0], value[1]
    raise ValueError(
        "TensorBoard: expected profile_batch 0 (none), a batch number N >= 1, "
        "or a range (start, stop) or 'start,stop' with 1 <= start <= stop. "
        f"Received: profile_batch={profile_batch!r}."
    )


def _weights(model: Any) -> dict[str, np.ndarray]:
    """`{path: array}` of the model's weights, trainable and not, as Keras
    names them (`dense/kernel`)."""
    variables = getattr(model, "variables", None) or {}
    flat = {}
    for part in ("params", "state"):
        leaves = jax.tree_util.tree_flatten_with_path(variables.get(part, {}))[0]
        for path, leaf in leaves:
            flat[path_name(path)] = np.asarray(leaf)
    return flat


def _learning_rate(model: Any) -> dict[str, float]:
    """`{"epoch_learning_rate": rate}` the next step takes (a schedule's at
    the run's step count), or nothing without an optimizer."""
    rate = getattr(getattr(model, "optimizer", None), "learning_rate", None)
    if rate is None:
        return {}
    if callable(rate):
        step = getattr(getattr(model, "train_state", None), "step", 0)
        rate = rate(int(step))
    return {"epoch_learning_rate": float(rate)}


def _speed(prefix: str, mark: tuple[int, float], seen: int) -> dict[str, float]:
    """Steps per second since `mark = (steps seen, time)`, if any time passed."""
    seconds = time.perf_counter() - mark[1]
    if seconds <= 0:
        return {}
    return {f"{prefix}_steps_per_second": (seen - mark[0]) / seconds}
