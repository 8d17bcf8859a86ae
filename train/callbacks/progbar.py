"""A Keras-style progress bar with the running logs, one per epoch."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import numpy as np

from train.callbacks.base import Callback

_WIDTH = 30  # characters between the bar's brackets
_INTERVAL = 0.05  # seconds between two redraws of the bar


class ProgbarLogger(Callback):
    """Prints `Epoch 3/10`, then the epoch's progress and logs.

    How it prints follows `params["verbose"]`: 0 prints nothing; 1 on a
    terminal redraws one line in place after each batch (carriage return),
    `12/50 [======>.......................] - ETA: 3s - loss: 0.1234`, and
    leaves it as `50/50 [==============================] - 2s 40ms/step -
    loss: 0.1234 - val_loss: 0.2345`; 2, or 1 on a stream that is no terminal
    (a file, a CI log), prints only that last line, without the bar. The time
    per step leaves out the first step, which includes compiling. With
    `params["steps"]` None, the count shows as `12/Unknown` until the first
    epoch ends. The log values are printed as the loop passes them.
    `evaluate` and `predict` (outside `fit`) draw one bar for their pass,
    from the `on_test_*` / `on_predict_*` hooks.

    Args:
      count_mode: what the bar counts; only `"steps"` (batches) is supported.
      stream: where to print; None means `sys.stdout` when training starts.

    Raises:
      ValueError: if `count_mode` is not `"steps"`.

    Example:
      >>> import io
      >>> from train.callbacks import CallbackList
      >>> out = io.StringIO()  # no terminal: one line per epoch
      >>> calls = CallbackList(
      ...     [ProgbarLogger(stream=out)], model=None, epochs=1, steps=2, verbose=1)
      >>> calls.call("on_train_begin", None)
      >>> calls.call("on_epoch_begin", 0, None)
      >>> for batch in range(2):
      ...     calls.call("on_train_batch_end", batch, {"loss": 0.5})
      >>> calls.call("on_epoch_end", 0, {"loss": 0.5, "val_loss": 0.25})
      >>> print(out.getvalue(), end="")
      Epoch 1/1
      2/2 - 0s ...s/step - loss: 0.5000 - val_loss: 0.2500
    """

    _in_fit = False  # validation inside fit draws no bar of its own

    def __init__(self, count_mode: str = "steps", stream: TextIO | None = None):
        super().__init__()
        if count_mode != "steps":
            raise ValueError(
                "ProgbarLogger: expected count_mode='steps'; the loop reports "
                f"batches, not samples. Received: count_mode={count_mode!r}."
            )
        self.stream = stream

    def on_train_begin(self, logs=None):
        self._open(self.params.get("steps"))
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._verbose:
            self._print(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
        self._restart()

    # evaluate and predict: one bar for the whole pass, unless inside fit
    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._open(self.params.get("steps"))
            self._restart()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self.on_train_batch_end(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self.on_epoch_end(0, logs)

    def on_predict_begin(self, logs=None):
        self.on_test_begin(logs)

    def on_predict_batch_end(self, batch, logs=None):
        self.on_test_batch_end(batch, None)  # the outputs are no logs to print

    def on_predict_end(self, logs=None):
        self.on_test_end(None)

    def _open(self, target: int | None) -> None:
        self._out = sys.stdout if self.stream is None else self.stream
        self._verbose = self.params.get("verbose", 1)
        self._target = target
        notebook = self._out is sys.stdout and "ipykernel" in sys.modules
        self._redraw = self._verbose == 1 and (self._out.isatty() or notebook)

    def _restart(self) -> None:
        self._start = time.perf_counter()
        self._first_step: tuple[int, float] | None = None
        self._seen = 0
        self._last_draw = -math.inf
        self._drawn = 0  # characters on the line being redrawn
        self._pending: Mapping[str, float] | None = None  # the last step's logs

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self._seen = batch + 1
        if self._first_step is None:
            self._first_step = (self._seen, now)
        # Draw the previous step's logs (the first step's own): ready by now,
        # so reading them (see `train.step_logs`) does not wait for the step
        # just queued.
        shown = logs if self._pending is None else self._pending
        self._pending = logs
        if self._redraw and now - self._last_draw >= _INTERVAL:
            self._last_draw = now
            self._draw(self._line(now, shown, final=False), end="")

    def on_epoch_end(self, epoch, logs=None):
        if not self._verbose:
            return
        if self._target is None:  # the next epochs show a bar
            self._target = self._seen
        self._draw(self._line(time.perf_counter(), logs, final=True), end="\n")

    def _line(self, now: float, logs: Mapping[str, float] | None, final: bool):
        step_time = self._step_time(now)
        if self._target is None:
            parts = [f"{self._seen}/Unknown", f"{now - self._start:.0f}s"]
        else:
            count = f"{self._seen:>{len(str(self._target))}}/{self._target}"
            bar = f" {_bar(self._seen, self._target)}" if self._redraw else ""
            eta = step_time * (self._target - self._seen)
            parts = [count + bar, f"ETA: {_duration(eta)}"]
        if final:
            parts[1] = f"{now - self._start:.0f}s {_per_step(step_time)}"
        parts += [f"{key}: {_number(value)}" for key, value in (logs or {}).items()]
        return " - ".join(parts)

    def _step_time(self, now: float) -> float:
        """Seconds per step, leaving out the first (compiling) step when possible."""
        if self._first_step is None:
            return 0.0
        first_seen, first_end = self._first_step
        if self._seen > first_seen:
            return (now - first_end) / (self._seen - first_seen)
        return (now - self._start) / self._seen

    def _draw(self, line: str, end: str) -> None:
        if self._redraw:  # overwrite the line drawn last, however long it was
            line, self._drawn = "\r" + line.ljust(self._drawn), len(line)
        self._print(line + end)

    def _print(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


def _bar(seen: int, target: int) -> str:
    done = min(_WIDTH, _WIDTH * seen // target) if target else _WIDTH
    head = "" if done == 0 else "=" * (done - 1) + (">" if seen < target else "=")
    return f"[{head}{'.' * (_WIDTH - done)}]"


def _number(value: Any) -> str:
    if np.ndim(value):  # a metric of several values (one per class, say)
        return "[" + " ".join(_number(v) for v in np.ravel(value)) + "]"
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _per_step(seconds: float) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if s >= 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"
