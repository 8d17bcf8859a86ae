"""Which batches each epoch of `fit` takes, and how they group into executions.

Without `steps_per_epoch`, epoch `e` is one whole pass over the data (its
`batches(e)`, shuffled as a function of the seed and `e`). With it, Keras's
rule holds: epochs take `steps_per_epoch` batches each from one running
iterator, so epoch 2 goes on where epoch 1 stopped. When a pass over finite
data ends mid-epoch, that epoch ends there and the next one starts a new
(reshuffled) pass; data that yields nothing more (a generator that is used
up) ends training with a warning, as Keras does.

Example:
  >>> from train.data import Dataset
  >>> data = Dataset.from_arrays(np.arange(10), batch_size=2)
  >>> stream = EpochStream(data, steps_per_epoch=3)
  >>> [[int(x[0]) for (x,) in stream.epoch(e)] for e in range(3)]
  [[0, 2, 4], [6, 8], [0, 2, 4]]
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import jax
import numpy as np

from train.data.adapters import length

OUT_OF_DATA = (
    "fit: the training data ran out; interrupting training. Make sure the data "
    "can yield at least steps_per_epoch * epochs batches (for a generator, pass "
    "train.data.Dataset.from_generator(fn), which calls fn anew for each pass)."
)


class EpochStream:
    """The batches of each epoch of one `fit` call.

    Args:
      dataset: a `train.data.Dataset`.
      steps_per_epoch: batches per epoch, or None for one pass per epoch.

    Attributes:
      exhausted: set when the data yielded no batch at all for an epoch.
    """

    def __init__(self, dataset: Any, steps_per_epoch: int | None = None):
        if steps_per_epoch is not None and (
            not isinstance(steps_per_epoch, int) or steps_per_epoch < 1
        ):
            raise ValueError(
                "fit: steps_per_epoch must be a positive int or None; received "
                f"steps_per_epoch={steps_per_epoch!r}."
            )
        self.dataset, self.steps_per_epoch = dataset, steps_per_epoch
        self.exhausted = False
        self._running: Iterator[Any] | None = None
        self._pass: int | None = None  # the pass over the data being read
        self._ahead: tuple[int, Iterator[Any]] | None = None  # from `first`

    def steps(self) -> int | None:
        """Batches per epoch, when known (for the progress bar)."""
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return length(self.dataset)

    def first(self, epoch: int) -> Any:
        """The first batch of epoch `epoch` (None if there is none), read
        ahead: `epoch(epoch)` still yields it."""
        batches = self.dataset.batches(epoch)
        batch = next(batches, None)
        if batch is not None:
            self._ahead = (epoch, itertools.chain([batch], batches))
        return batch

    def _batches(self, epoch: int) -> Iterator[Any]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == epoch:
            return ahead[1]
        return self.dataset.batches(epoch)

    def epoch(self, epoch: int) -> Iterator[Any]:
        """The batches of epoch `epoch`; sets `exhausted` if there are none."""
        if self.steps_per_epoch is None:
            yield from self._count(self._batches(epoch))
            return
        if self._pass is None:
            self._pass = epoch
        taken = 0
        while taken < self.steps_per_epoch:
            fresh = self._running is None
            if fresh:
                self._running = self._batches(self._pass)
            batch = next(self._running, None)
            if batch is None:  # this pass is over
                self._running, self._pass = None, self._pass + 1
                if fresh or taken:  # no data at all, or the epoch ends short
                    break
                continue  # it ended right at the last epoch's end
            taken += 1
            yield batch
        if taken == 0:
            self._out_of_data()

    def _count(self, batches: Iterable[Any]) -> Iterator[Any]:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            self._out_of_data()

    def _out_of_data(self) -> None:
        self.exhausted = True
        warnings.warn(OUT_OF_DATA, stacklevel=3)


def executions(batches: Iterable[Any], k: int) -> Iterator[tuple[bool, Any]]:
    """Batches grouped by `steps_per_execution` = `k`: `(stacked, batch)` pairs,
    where a stacked batch holds `k` batches on a new leading axis. Batches of
    another shape (a short last one) run singly.

    Example:
      >>> groups = executions([np.zeros(2), np.zeros(2), np.zeros(1)], k=2)
      >>> [(stacked, b.shape) for stacked, b in groups]
      [(True, (2, 2)), (False, (1,))]
    """
    group: list[Any] = []
    group_shape = None
    for batch in batches:
        if k == 1:
            yield False, batch
            continue
        shape = jax.tree.map(np.shape, batch)
        if group and shape != group_shape:
            yield from ((False, b) for b in group)
            group = []
        if not group:
            group_shape = shape
        group.append(batch)
        if len(group) == k:
            yield True, jax.tree.map(lambda *xs: np.stack(xs), *group)
            group = []
    yield from ((False, b) for b in group)
