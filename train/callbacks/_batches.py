"""Counting a run's training batches from the indices the loop reports, when
a `save_freq` / `update_freq` counted in them is due, and checking it."""

from __future__ import annotations

from typing import Any


class BatchCounter:
    """Training batches finished since it was made (the start of training).

    The loop numbers batches from 0 in each epoch and may report several at
    once (with `steps_per_execution`, `on_train_batch_end` sees only the last
    index), so each report adds the distance from the previous index.
    """

    def __init__(self) -> None:
        self.total = 0
        self._last = -1
        self._marked = 0  # the total when `due` last said yes

    def new_epoch(self, done: int = 0) -> None:
        """Call at `on_epoch_begin`: batch indices restart at 0 (at `done` in
        an epoch resumed after its first `done` batches)."""
        self._last = done - 1

    def after(self, batch: int) -> int:
        """The total once the batches up to index `batch` are counted."""
        return self.total + batch - self._last

    def update(self, batch: int) -> int:
        """Counts the batches up to index `batch` and returns the new total."""
        self.total += batch - self._last
        self._last = batch
        return self.total

    def due(self, every: int) -> bool:
        """Whether `every` batches have finished since this last said so (or
        since the start); saying so marks the current total."""
        if self.total - self._marked < every:
            return False
        self._marked = self.total
        return True


def checked_frequency(
    owner: str, name: str, value: Any,
    accepted: str = "'epoch' or a positive number of batches",
) -> str | int:  # fmt: skip
    """`value` when it is `"epoch"` or a positive int (a number of batches).

    Raises:
      ValueError: otherwise, naming `owner`, `name` and what is `accepted`.
    """
    counts = isinstance(value, int) and not isinstance(value, bool)
    if value != "epoch" and not (counts and value > 0):
        raise ValueError(
            f"{owner}: expected {name} {accepted}. Received: {name}={value!r}."
        )
    return value
