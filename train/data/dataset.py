"""Batches of host-side data: `Dataset`, an iterable with seeded shuffling.

A `Dataset` is an iterable of batches. Each batch is a tuple `(x,)`, `(x, y)`
or `(x, y, sample_weight)` of NumPy arrays, where `x` and `y` may also be
dicts or tuples (nested) of arrays sharing the first axis. Each `iter()`
starts the next epoch, and `batches(epoch)` gives any epoch's batches
directly: the shuffled order is a pure function of `(seed, epoch)`, so two
runs, or a run resumed at epoch `e`, see the same batches.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

Batch = tuple[Any, ...]


def _is_inputs_list(tree: Any) -> bool:
    """Keras's rule: a list of arrays (or of structures) is several inputs,
    `fit([x1, x2], y)`; a list of numbers is one array."""
    return isinstance(tree, list) and any(
        hasattr(v, "shape") or isinstance(v, dict | tuple) for v in tree
    )


def _map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """Applies `fn` to every leaf; dicts and tuples (namedtuples too) are nodes,
    and so are lists of arrays (they become tuples)."""
    if isinstance(tree, dict):
        return {k: _map(fn, v) for k, v in tree.items()}
    if _is_inputs_list(tree):
        return tuple(_map(fn, v) for v in tree)
    if isinstance(tree, tuple):
        items = [_map(fn, v) for v in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    return fn(tree)


def _leaves(tree: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yields `(path, leaf)` pairs, the path written as Python indexing."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f"{path}[{k!r}]")
    elif isinstance(tree, tuple):
        for i, v in enumerate(tree):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, tree


def _count_examples(parts: Batch, caller: str) -> int:
    """The shared first-axis size of every array in `parts` (x, y, weights)."""
    sizes = {}
    for name, part in zip(("x", "y", "sample_weight"), parts):
        for path, leaf in _leaves(part, name):
            if leaf.ndim == 0:
                raise ValueError(
                    f"{caller}: {path} is a scalar; every array needs a first "
                    "(examples) axis."
                )
            sizes[path] = leaf.shape[0]
    if not sizes:
        raise ValueError(f"{caller}: x holds no arrays.")
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{path} has {n}" for path, n in sizes.items())
        raise ValueError(
            f"{caller}: all arrays must have the same number of examples (first "
            f"axis); received {listing}."
        )
    return next(iter(sizes.values()))


def _as_batch(element: Any) -> Batch:
    """Keras's unpacking: a tuple or list of 1-3 items is `(x, y, sample_weight)`."""
    if isinstance(element, list):
        element = tuple(element)
    if not isinstance(element, tuple) or hasattr(element, "_fields"):
        element = (element,)
    if not 1 <= len(element) <= 3:
        raise ValueError(
            "Dataset: a batch must be x, (x,), (x, y) or (x, y, sample_weight); "
            f"received a tuple of {len(element)} items."
        )
    return tuple(_map(np.asarray, part) for part in element)


def as_batch(x: Any, y: Any = None, sample_weight: Any = None) -> Batch:
    """One batch `(x,)`, `(x, y)` or `(x, y, sample_weight)` of NumPy arrays, as
    `train_on_batch` takes it (lists of arrays are several inputs).

    Raises:
      ValueError: the arrays disagree on the number of examples.

    Example:
      >>> x, y = as_batch([np.zeros((2, 3)), np.ones((2, 1))], [0, 1])
      >>> [a.shape for a in x], y.tolist()
      ([(2, 3), (2, 1)], [0, 1])
    """
    if sample_weight is not None and y is None:
        raise ValueError("as_batch: sample_weight needs y as well.")
    parts = tuple(_map(np.asarray, p) for p in (x, y, sample_weight) if p is not None)
    _count_examples(parts, "as_batch")
    return parts


class Dataset:
    """An iterable of batches of NumPy arrays; each `iter()` is one epoch.

    Build one with `from_arrays`, `from_indexed`, `from_generator` or `adapt`.

    Args:
      batches: maps an epoch number to an iterable of that epoch's batches.
      cardinality, num_examples, batch_size: as the attributes below.

    Attributes:
      cardinality: batches per epoch, or None when unknown (generators).
      num_examples: examples per epoch, or None when unknown.
      batch_size: examples per full batch, or None when unknown.
      class_names: the class of each label, for datasets read from folders.
      file_paths: the files a dataset reads, for datasets read from folders.

    Example:
      >>> ds = Dataset.from_arrays(np.zeros((10, 3)), np.arange(10), batch_size=4)
      >>> len(ds), ds.num_examples, [x.shape for x, y in ds]
      (3, 10, [(4, 3), (4, 3), (2, 3)])
    """

    def __init__(
        self,
        batches: Callable[[int], Iterable[Batch]],
        *,
        cardinality: int | None = None,
        num_examples: int | None = None,
        batch_size: int | None = None,
    ):
        self._batches = batches
        self._epoch = 0
        self._arrays: Batch | None = None  # set by from_arrays, used by split
        self._order: Callable[[int], np.ndarray] | None = None  # by from_indexed
        self._options: dict[str, Any] = {}
        self.cardinality = cardinality
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.class_names: list[str] | None = None
        self.file_paths: list[str] | None = None

    @property
    def arrays(self) -> Batch | None:
        """The arrays a `from_arrays` dataset holds, `(x,)`, `(x, y)` or
        `(x, y, sample_weight)`; None for any other dataset."""
        return self._arrays

    def order(self, epoch: int) -> np.ndarray:
        """The example indices of epoch `epoch`, in the order its batches take
        them (the first `num_examples`), for datasets built `from_indexed` or
        `from_arrays`.

        Example:
          >>> Dataset.from_arrays(np.zeros(4), batch_size=2).order(0).tolist()
          [0, 1, 2, 3]
        """
        if self._order is None:
            raise ValueError(
                "Dataset.order: only a dataset built by from_indexed or from_arrays "
                "knows its order of examples."
            )
        return self._order(epoch)

    @property
    def in_memory(self) -> bool:
        """Whether batches are slices of arrays already in memory (`from_arrays`):
        nothing to read or decode ahead, so `fit` takes them without a thread."""
        return self._arrays is not None

    @classmethod
    def from_indexed(
        cls,
        num_examples: int,
        gather: Callable[[np.ndarray], Batch],
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int | None = None,
        drop_remainder: bool = False,
    ) -> Dataset:
        """Batches of examples that `gather(indices)` loads on demand.

        Args:
          num_examples: how many examples there are.
          gather: maps an int array of example indices to one batch tuple.
          batch_size: examples per batch; the last one may be smaller.
          shuffle: permute the examples anew each epoch.
          seed: epoch `e` is permuted by `np.random.default_rng((seed, e))`;
            None draws a seed from the operating system.
          drop_remainder: drop the last batch when it is smaller.

        Example:
          >>> ds = Dataset.from_indexed(5, lambda i: (i * 10,), batch_size=2)
          >>> [x.tolist() for (x,) in ds]
          [[0, 10], [20, 30], [40]]
        """
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(
                f"Dataset: batch_size must be a positive int; received {batch_size!r}."
            )
        if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
            raise ValueError(
                f"Dataset: seed must be an int >= 0 or None; received {seed!r}."
            )
        if shuffle and seed is None:
            seed = int(np.random.SeedSequence().entropy)
        stop = (
            num_examples - num_examples % batch_size if drop_remainder else num_examples
        )

        def order(epoch: int) -> np.ndarray:
            indices = np.arange(num_examples)
            if shuffle:
                return np.random.default_rng((seed, epoch)).permutation(indices)
            return indices

        def batches(epoch: int) -> Iterator[Batch]:
            indices = order(epoch)
            for start in range(0, stop, batch_size):
                yield gather(indices[start : start + batch_size])

        dataset = cls(
            batches,
            cardinality=math.ceil(stop / batch_size),
            num_examples=stop,
            batch_size=batch_size,
        )
        dataset._order = order
        return dataset

    @classmethod
    def from_arrays(
        cls,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int | None = None,
        drop_remainder: bool = False,
    ) -> Dataset:
        """Batches of in-memory arrays.

        Args:
          x: an array, or a dict or tuple (nested) of arrays. Lists and other
            leaves go through `np.asarray`.
          y: targets, structured like `x`, or None.
          sample_weight: per-example weights, or None; needs `y`.
          batch_size, shuffle, seed, drop_remainder: see `from_indexed`.

        Returns:
          A Dataset yielding `(x,)`, `(x, y)` or `(x, y, sample_weight)`.

        Raises:
          ValueError: the arrays disagree on the number of examples.

        Example:
          >>> x = {"a": np.zeros((6, 2)), "b": np.ones((6,))}
          >>> ds = Dataset.from_arrays(x, np.arange(6), batch_size=4, shuffle=True,
          ...                          seed=0)
          >>> [(x["a"].shape, y.shape) for x, y in ds]
          [((4, 2), (4,)), ((2, 2), (2,))]
        """
        if sample_weight is not None and y is None:
            raise ValueError("Dataset.from_arrays: sample_weight needs y as well.")
        given = (p for p in (x, y, sample_weight) if p is not None)
        arrays = tuple(_map(np.asarray, p) for p in given)
        n = _count_examples(arrays, "Dataset.from_arrays")
        options = dict(
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_remainder=drop_remainder,
        )

        def gather(index: np.ndarray) -> Batch:
            return tuple(_map(lambda a: a[index], part) for part in arrays)

        dataset = cls.from_indexed(n, gather, **options)
        dataset._arrays, dataset._options = arrays, options
        return dataset

    @classmethod
    def from_generator(
        cls, fn: Callable[[], Iterable[Any]], cardinality: int | None = None
    ) -> Dataset:
        """Batches from `fn()`, called once per epoch for a fresh iterator.

        Args:
          fn: takes no arguments and returns an iterable of batches: each is
            `x`, or a tuple or list `(x, y)` / `(x, y, sample_weight)`.
          cardinality: batches per epoch, when known.

        Example:
          >>> ds = Dataset.from_generator(lambda: ((np.ones(2), i) for i in range(3)))
          >>> ds.cardinality is None, [int(y) for x, y in ds]
          (True, [0, 1, 2])
        """
        if not callable(fn):
            raise TypeError(
                "Dataset.from_generator: fn must be a callable that returns a "
                f"fresh iterator each epoch; received {type(fn).__name__}. Hint: "
                "pass the generator function itself (or `lambda: make_batches()`)."
            )
        return cls(lambda epoch: map(_as_batch, fn()), cardinality=cardinality)

    def batches(self, epoch: int) -> Iterator[Batch]:
        """The batches of epoch `epoch`; does not advance `iter()`'s count.

        Example:
          >>> ds = Dataset.from_arrays(np.arange(4), batch_size=4, shuffle=True,
          ...                          seed=0)
          >>> bool((next(ds.batches(1))[0] == next(ds.batches(1))[0]).all())
          True
        """
        return iter(self._batches(epoch))

    def __iter__(self) -> Iterator[Batch]:
        self._epoch += 1
        return self.batches(self._epoch - 1)

    def __len__(self) -> int:
        if self.cardinality is None:
            raise TypeError(
                "Dataset: this dataset's number of batches is unknown (it comes "
                "from a generator); check `.cardinality`, which is None."
            )
        return self.cardinality

    def __repr__(self) -> str:
        return (
            f"Dataset(cardinality={self.cardinality}, "
            f"num_examples={self.num_examples}, batch_size={self.batch_size})"
        )

    def take(self, count: int) -> Dataset:
        """The first `count` batches of each epoch.

        Example:
          >>> Dataset.from_arrays(np.zeros((10, 3)), batch_size=4).take(2)
          Dataset(cardinality=2, num_examples=8, batch_size=4)
        """
        if not isinstance(count, int) or count < 0:
            raise ValueError(
                f"Dataset.take: count must be an int >= 0; received {count!r}."
            )
        cardinality = num_examples = None
        if self.cardinality is not None:
            cardinality = min(count, self.cardinality)
            if self.batch_size is not None and self.num_examples is not None:
                num_examples = min(count * self.batch_size, self.num_examples)
        dataset = Dataset(
            lambda epoch: itertools.islice(self.batches(epoch), count),
            cardinality=cardinality,
            num_examples=num_examples,
            batch_size=self.batch_size,
        )
        dataset.class_names = self.class_names
        return dataset

    def split(self, fraction: float) -> tuple[Dataset, Dataset]:
        """Splits off the last `fraction` of the examples, as `validation_split`.

        Like Keras, the split is taken before any shuffling: the validation
        part is the last `floor`-rounded share of the arrays, and it is not
        shuffled. Both parts keep this dataset's batch size and
        `drop_remainder`; the training part keeps its shuffling.

        Args:
          fraction: in (0, 1), the share of examples for validation.

        Returns:
          `(train, validation)` Datasets.

        Raises:
          ValueError: the dataset was not built from arrays, or a part would
            be empty.

        Example:
          >>> train, val = Dataset.from_arrays(np.arange(10), batch_size=4).split(0.2)
          >>> train.num_examples, [x.tolist() for (x,) in val]
          (8, [[8, 9]])
        """
        if self._arrays is None:
            raise ValueError(
                "Dataset.split: only a Dataset built by from_arrays (or adapt "
                "on arrays) can be split; this one yields batches it does not "
                "hold. Hint: pass separate validation data instead."
            )
        if not 0 < fraction < 1:
            raise ValueError(
                f"Dataset.split: fraction must be in (0, 1); received {fraction!r}."
            )
        n = _count_examples(self._arrays, "Dataset.split")
        at = math.floor(n * (1.0 - fraction))
        if at in (0, n):
            raise ValueError(
                f"Dataset.split: {n} examples are too few to split with "
                f"fraction={fraction}: one part would be empty."
            )
        head = tuple(_map(lambda a: a[:at], p) for p in self._arrays)
        tail = tuple(_map(lambda a: a[at:], p) for p in self._arrays)
        validation_options = {**self._options, "shuffle": False}
        return (
            Dataset.from_arrays(*head, **self._options),
            Dataset.from_arrays(*tail, **validation_options),
        )
