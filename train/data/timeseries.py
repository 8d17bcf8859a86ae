"""Sliding windows over a sequence, with Keras's semantics."""

from __future__ import annotations

from typing import Any

import numpy as np

from train.data.dataset import Dataset


def timeseries_dataset_from_array(
    data: Any,
    targets: Any,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int | None = None,
    start_index: int | None = None,
    end_index: int | None = None,
) -> Dataset:
    """Batches of windows of `data`, each paired with one target.

    Window `i` starts at `s = start_index + i * sequence_stride` and holds
    `data[s + k * sampling_rate]` for `k < sequence_length`; its target is
    `targets[s]`. Windows run while their last index is below `end_index`
    (and `s` is below `len(targets)`). Windows are cut lazily, one batch at
    a time.

    Args:
      data: array `(T, ...)`, time steps on the first axis.
      targets: array `(T', ...)`, or None for windows only.
      sequence_length: time steps per window.
      sequence_stride: steps between the starts of consecutive windows.
      sampling_rate: steps between the entries of one window.
      batch_size: windows per batch.
      shuffle: shuffle the windows anew each epoch (see
        `Dataset.from_indexed` for `seed`).
      seed: the shuffle's seed.
      start_index: the first time step windows may use (default 0).
      end_index: windows use only time steps before it (default `T`).

    Returns:
      A Dataset of `(windows, targets)`, windows `(batch, sequence_length,
      ...)` and targets `(batch, ...)`; or of `(windows,)` without targets.

    Raises:
      ValueError: a length, stride, rate or index is out of range.

    Example:
      >>> data = np.arange(100)
      >>> ds = timeseries_dataset_from_array(data[:-10], data[10:],
      ...                                    sequence_length=10)
      >>> x, y = next(iter(ds))
      >>> x.shape, x[0].tolist(), int(y[0])
      ((81, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10)
    """
    data = np.asarray(data)
    targets = None if targets is None else np.asarray(targets)
    start, end = _check(
        data, sequence_length, sequence_stride, sampling_rate, start_index, end_index
    )
    num_starts = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_starts = min(num_starts, len(targets) - start)
    starts = start + np.arange(0, max(num_starts, 0), sequence_stride)
    offsets = np.arange(sequence_length) * sampling_rate

    def gather(index: np.ndarray) -> tuple[np.ndarray, ...]:
        first = starts[index]
        windows = data[first[:, None] + offsets]
        return (windows,) if targets is None else (windows, targets[first])

    return Dataset.from_indexed(
        len(starts), gather, batch_size=batch_size, shuffle=shuffle, seed=seed
    )


def _check(data, sequence_length, sequence_stride, sampling_rate, start, end):
    """Validates the window arguments; returns `(start, end)` with defaults."""
    caller = "timeseries_dataset_from_array"
    if data.ndim == 0:
        raise ValueError(f"{caller}: data must have a time axis; received a scalar.")
    given = {
        "sequence_length": sequence_length,
        "sequence_stride": sequence_stride,
        "sampling_rate": sampling_rate,
    }
    for name, value in given.items():
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(
                f"{caller}: {name} must be a positive int; received {name}={value!r}."
            )
    start = 0 if start is None else start
    end = len(data) if end is None else end
    if not 0 <= start < len(data):
        raise ValueError(
            f"{caller}: start_index must be in [0, {len(data)}) (the length of "
            f"data); received start_index={start}."
        )
    if not start < end <= len(data):
        raise ValueError(
            f"{caller}: end_index must be in ({start}, {len(data)}] (after "
            f"start_index, within data); received end_index={end}."
        )
    return start, end
