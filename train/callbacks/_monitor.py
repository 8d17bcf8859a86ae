"""The monitored log value of EarlyStopping, ModelCheckpoint, ReduceLROnPlateau.

One place decides which way the value should move (`mode`) and whether a new
value improves on a reference by more than `min_delta`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

# `mode="auto"` maximizes a monitored name containing one of these.
_MAXIMIZED = ("acc", "auc", "precision", "recall")


class Monitor:
    """Reads one log key and compares its values.

    Args:
      owner: the callback's class name, for messages.
      key: the log key, e.g. `"val_loss"`.
      mode: `"min"`, `"max"`, or `"auto"`: `"max"` for names containing
        "acc", "auc", "precision" or "recall", else `"min"`.
      min_delta: how much a value must beat the reference by to improve on it.

    Raises:
      ValueError: if `mode` is none of the three.
    """

    def __init__(self, owner: str, key: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"{owner}: expected mode 'auto', 'min' or 'max'. "
                f"Received: mode={mode!r}."
            )
        if mode == "auto":
            mode = "max" if any(s in key.lower() for s in _MAXIMIZED) else "min"
        self.owner, self.key, self.mode = owner, key, mode
        self.min_delta = abs(min_delta)

    @property
    def worst(self) -> float:
        """A reference that every value improves on."""
        return math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float, reference: float) -> bool:
        """Whether `value` beats `reference` by more than `min_delta`."""
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def value(self, logs: Mapping[str, float] | None) -> float | None:
        """`logs[key]`, or None with a warning that lists the keys there are."""
        logs = logs or {}
        if self.key in logs:
            return logs[self.key]
        warnings.warn(
            f"{self.owner} monitors {self.key!r}, which is not in the logs. "
            f"Available keys: {', '.join(sorted(logs)) or 'none'}.",
            stacklevel=2,
        )
        return None
