"""A fake model and a fake fit loop that drive callbacks with scripted logs."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from train.callbacks import CallbackList


class FakeModel:
    """What callbacks see of a model; `step` counts the batches trained."""

    def __init__(self, learning_rate: float = 0.1) -> None:
        self.step = 0
        self.variables = self.make_variables(0)
        self.stop_training = False
        self.optimizer = SimpleNamespace(learning_rate=learning_rate)

    @staticmethod
    def make_variables(step: int) -> dict[str, Any]:
        return {"params": {"w": np.full((2,), float(step))}, "state": {}}

    @property
    def train_state(self) -> SimpleNamespace:
        """What checkpointing callbacks save: here only the step count."""
        return SimpleNamespace(step=np.int32(self.step))

    def train_one_batch(self) -> None:
        self.step += 1
        self.variables = self.make_variables(self.step)

    def save(self, path: str) -> None:
        self._write(path, "model")

    def save_weights(self, path: str) -> None:
        self._write(path, "weights")

    def _write(self, path: str, what: str) -> None:
        step = int(self.variables["params"]["w"][0])
        pathlib.Path(path).write_text(f"{what} at step {step}")


def fit(
    callbacks: Sequence,
    model: FakeModel | None = None,
    *,
    epochs: int,
    batches: int = 1,
    epoch_logs: Sequence[dict[str, float]] | None = None,
    batch_logs: Callable[[int, int], dict[str, float]] | None = None,
    each_batch: Callable[[int, int], None] | None = None,
    **params: Any,
) -> int:
    """Runs the hooks as the fit loop does; returns the number of epochs run.

    Epoch `e` trains `batches` batches, calling `each_batch(e, b)` (to move a
    fake clock, say) before `on_train_batch_end(b, batch_logs(e, b))`, then
    ends with `epoch_logs[e]`. `params` override `epochs`, `steps` (default
    `batches`) and `verbose` (default 1).
    """
    model = FakeModel() if model is None else model
    params = {"epochs": epochs, "steps": batches, "verbose": 1, **params}
    calls = CallbackList(callbacks, model=model, **params)
    calls.call("on_train_begin", None)
    logs: dict[str, float] = {}
    epoch = 0
    while epoch < epochs and not model.stop_training:
        calls.call("on_epoch_begin", epoch, None)
        for batch in range(batches):
            calls.call("on_train_batch_begin", batch, None)
            model.train_one_batch()
            if each_batch is not None:
                each_batch(epoch, batch)
            logs = batch_logs(epoch, batch) if batch_logs else {"loss": 1.0}
            calls.call("on_train_batch_end", batch, dict(logs))
            if model.stop_training:
                break
        logs = dict(epoch_logs[epoch]) if epoch_logs else dict(logs)
        calls.call("on_epoch_end", epoch, logs)
        epoch += 1
    calls.call("on_train_end", logs)
    return epoch


class FakeClock:
    """A `time` stand-in whose clocks move only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def perf_counter(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now
