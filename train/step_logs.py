"""The logs of one step, read from the device only when someone reads them.

The fit loop passes each step's logs to the batch hooks as a `StepLogs`: a
mapping of Python floats that holds the step's device arrays and turns them
into floats (a host sync, waiting for the step to finish) on the first read.
A hook that never reads them (History, a progress bar between redraws) costs
the device nothing; the progress bar reads the previous step's logs, which
are ready by then, so `verbose=1` never stalls the device. A step's label
flag (see `train.label_checks`) is not shown; reading the logs raises it.

Example:
  >>> logs = StepLogs({"mae": np.float32(0.5), "loss": np.float32(2)}, ["loss"])
  >>> list(logs), logs.read
  (['loss', 'mae'], False)
  >>> dict(logs), logs.read
  ({'loss': 2.0, 'mae': 0.5}, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from train.label_checks import LABEL_FLAG, raise_flagged


class StepLogs(dict):
    """`{"loss": ..., "<metric>": ...}` of one step, as floats on first read.

    A `dict` (callbacks may check), whose keys are there at once and whose
    values are brought to the host together, by the first method that reads
    one (`logs["loss"]`, `.get`, `.items()`, `dict(logs)`, `==`, printing).

    Args:
      logs: the step's logs (device arrays or numbers).
      order: names to list first (Keras's order: the loss, then the metrics).
    """

    def __init__(self, logs: Mapping[str, Any], order: Iterable[str] = ()):
        self._flag = logs.get(LABEL_FLAG)  # read with the values, then raised
        shown = [k for k in logs if k != LABEL_FLAG]
        first = [k for k in order if k in shown]
        names = first + [k for k in shown if k not in first]
        super().__init__((k, logs[k]) for k in names)
        self.read = False  # whether the values have been brought to the host

    def _host(self) -> StepLogs:
        if not self.read:
            self.read = True
            dict.update(self, {k: _host_value(v) for k, v in dict.items(self)})
            if self._flag is not None:
                raise_flagged(self._flag)
        return self

    def __getitem__(self, name: str) -> Any:
        return dict.__getitem__(self._host(), name)

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self._host(), name, default)

    def items(self) -> Any:
        return dict.items(self._host())

    def values(self) -> Any:
        return dict.values(self._host())

    def __iter__(self) -> Iterator[str]:  # so that dict(logs) reads through items
        return dict.__iter__(self)

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self._host(), name, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        dict.update(self._host(), *args, **kwargs)

    def pop(self, *args: Any) -> Any:
        return dict.pop(self._host(), *args)

    def setdefault(self, name: str, default: Any = None) -> Any:
        return dict.setdefault(self._host(), name, default)

    def copy(self) -> dict[str, Any]:
        return dict(dict.items(self._host()))

    def __eq__(self, other: object) -> bool:
        return dict.__eq__(self._host(), other)

    def __ne__(self, other: object) -> bool:
        return dict.__ne__(self._host(), other)

    __hash__ = None  # type: ignore[assignment]  # as dict's

    def __repr__(self) -> str:
        return dict.__repr__(self._host())


def _host_value(value: Any) -> Any:
    """A logged value on the host: a float, or a NumPy array for a metric of
    several values (F1Score per class, say), as Keras logs it."""
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array
