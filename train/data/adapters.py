"""`adapt`: one `Dataset` from any source of training data.

TensorFlow and torch objects are recognized by the module of their type, so
neither package is imported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from train.data import py_dataset
from train.data.dataset import Dataset


def _from_torch(value: Any) -> Any:
    """NumPy copies of torch tensors; torch's collate turns tuples into lists."""
    if isinstance(value, dict):
        return {k: _from_torch(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_from_torch(v) for v in value)
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def length(value: Any) -> int | None:
    """`len(value)`, or None when it has none (a generator, a DataLoader over
    an IterableDataset)."""
    try:
        return len(value)
    except TypeError:  # e.g. a DataLoader over an IterableDataset
        return None


def is_arrays(data: Any) -> bool:
    """Whether `data` is arrays (or dicts, tuples, lists of them) that `adapt`
    batches itself, by `batch_size`.

    Example:
      >>> is_arrays(np.zeros(3)), is_arrays(iter([]))
      (True, False)
    """
    return isinstance(data, np.ndarray | dict | tuple | list) or hasattr(
        data, "__array__"
    )


def adapt(
    data: Any,
    y: Any = None,
    sample_weight: Any = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int | None = None,
) -> Dataset:
    """A Dataset from arrays, a Dataset, an iterator, tf.data or a DataLoader.

    Args:
      data: NumPy (or any `np.asarray`-able) arrays, or dicts or tuples of
        them; a `Dataset` (returned as is); a `PyDataset` (its batches in
        order, or shuffled each epoch with `shuffle`); a generator or other
        iterator of batches (consumed once: for a fresh one each epoch, pass
        `Dataset.from_generator(fn)`); a `tf.data.Dataset` of batches (read
        through `as_numpy_iterator()`); or a torch `DataLoader` (tensors
        become arrays through `.numpy()`).
      y, sample_weight: targets and weights, for array `data` only.
      batch_size, shuffle, seed: for array `data` (see
        `Dataset.from_indexed`); `shuffle` and `seed` for a `PyDataset` too.

    Returns:
      A Dataset yielding tuples of NumPy arrays.

    Raises:
      TypeError: `data` is none of the above.
      ValueError: `y` or `sample_weight` is given with non-array `data`.

    Example:
      >>> adapt(np.zeros((100, 3)), np.zeros(100), batch_size=32)
      Dataset(cardinality=4, num_examples=100, batch_size=32)
      >>> adapt(iter([(np.zeros((2, 3)), np.zeros(2))])).cardinality is None
      True
    """
    if is_arrays(data):
        return Dataset.from_arrays(
            data, y, sample_weight, batch_size=batch_size, shuffle=shuffle, seed=seed
        )
    kind = f"{type(data).__module__}.{type(data).__qualname__}"
    if y is not None or sample_weight is not None:
        raise ValueError(
            f"adapt: y and sample_weight go with array data only; data of type "
            f"{kind} yields its own targets. Hint: yield (x, y) batches instead."
        )
    root = type(data).__module__.split(".")[0]
    if isinstance(data, Dataset):
        return data
    if isinstance(data, py_dataset.PyDataset):
        return py_dataset.as_dataset(data, shuffle=shuffle, seed=seed)
    if root == "tensorflow" and hasattr(data, "as_numpy_iterator"):
        count = int(data.cardinality())  # negative: infinite or unknown
        return Dataset.from_generator(
            data.as_numpy_iterator, cardinality=count if count >= 0 else None
        )
    if root == "torch" and isinstance(data, Iterable):
        return Dataset.from_generator(
            lambda: map(_from_torch, data), cardinality=length(data)
        )
    if isinstance(data, Iterator):
        return Dataset.from_generator(lambda: data)
    raise TypeError(
        "adapt: data must be NumPy arrays (or dicts/tuples of them), a Dataset, "
        "a PyDataset, "
        "a generator or iterator, a tf.data.Dataset or a torch DataLoader; "
        f"received data of type {kind}. Hint: for a function that makes a fresh "
        "generator each epoch, pass Dataset.from_generator(fn)."
    )
