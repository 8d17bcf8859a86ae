"""`PyDataset`: Keras's indexable source of batches, read ahead by threads.

Subclass it with `__len__` (batches per epoch) and `__getitem__(index)`
returning one batch, `x`, `(x, y)` or `(x, y, sample_weight)`; `fit`,
`evaluate` and `predict` take it as they take arrays. `workers > 1` reads up
to `max_queue_size` batches ahead on that many threads (batches still come
in order); `use_multiprocessing` is accepted and runs threads as well.
With `shuffle=True`, `fit` visits the batches in a new order each epoch (a
pure function of the seed and the epoch), as Keras does.

Example:
  >>> class Squares(PyDataset):
  ...     def __len__(self):
  ...         return 3
  ...     def __getitem__(self, index):
  ...         x = np.full((2, 1), float(index))
  ...         return x, x**2
  >>> [float(y[0, 0]) for _, y in as_dataset(Squares(workers=2))]
  [0.0, 1.0, 4.0]
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from train.data.dataset import Dataset, _as_batch


class PyDataset:
    """Base class of an indexable batch source (see the module docstring).

    Args:
      workers: threads that read batches ahead (1: read in the loop).
      use_multiprocessing: accepted for Keras's signature; threads serve it.
      max_queue_size: how many batches may be read ahead.
    """

    def __init__(
        self,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{type(self).__name__}: {name} must be a positive int, "
                    f"received {value!r}."
                )
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self) -> int:
        return self.__dict__.get("_workers", 1)

    @property
    def use_multiprocessing(self) -> bool:
        return self.__dict__.get("_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return self.__dict__.get("_max_queue_size", 10)

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}: a PyDataset defines __getitem__(index), "
            "returning batch `index`."
        )

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch: `len(self)`, or None for an endless source."""
        return len(self) if hasattr(self, "__len__") else None

    def on_epoch_begin(self) -> None:
        """Called before each epoch's first batch."""

    def on_epoch_end(self) -> None:
        """Called after each epoch's last batch (reshuffle here, say)."""


Sequence = PyDataset  # Keras's older name


def _epoch(source: PyDataset, epoch: int, shuffle: bool, seed: int | None) -> Iterator:
    count = source.num_batches
    order: Any = itertools.count() if count is None else np.arange(count)
    if shuffle and count is not None:
        order = np.random.default_rng([seed or 0, epoch]).permutation(count)
    source.on_epoch_begin()
    if source.workers == 1:
        for index in order:
            yield source[int(index)]
    else:
        with ThreadPoolExecutor(source.workers) as pool:
            ahead: collections.deque = collections.deque()
            indices = iter(order)
            for index in itertools.islice(indices, source.max_queue_size):
                ahead.append(pool.submit(source.__getitem__, int(index)))
            while ahead:
                batch = ahead.popleft().result()
                for index in itertools.islice(indices, 1):
                    ahead.append(pool.submit(source.__getitem__, int(index)))
                yield batch
    source.on_epoch_end()


def as_dataset(
    source: PyDataset, shuffle: bool = False, seed: int | None = None
) -> Dataset:
    """The `Dataset` of a PyDataset's batches, epoch after epoch."""
    return Dataset(
        lambda epoch: map(_as_batch, _epoch(source, epoch, shuffle, seed)),
        cardinality=source.num_batches,
    )
