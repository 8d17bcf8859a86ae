"""Counting a run's training batches from the indices the loop reports."""

from __future__ import annotations


class BatchCounter:
    """Training batches finished since it was made (the start of training).

    The loop numbers batches from 0 in each epoch and may report several at
    once (with `steps_per_execution`, `on_train_batch_end` sees only the last
    index), so each report adds the distance from the previous index.
    """

    def __init__(self) -> None:
        self.total = 0
        self._last = -1

    def new_epoch(self) -> None:
        """Call at `on_epoch_begin`: batch indices restart at 0."""
        self._last = -1

    def after(self, batch: int) -> int:
        """The total once the batches up to index `batch` are counted."""
        return self.total + batch - self._last

    def update(self, batch: int) -> int:
        """Counts the batches up to index `batch` and returns the new total."""
        self.total += batch - self._last
        self._last = batch
        return self.total
