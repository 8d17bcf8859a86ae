"""`fit`'s data: the training and validation sets, and after which epochs
validation runs.

Example:
  >>> [validates(epoch, 2) for epoch in range(4)]
  [False, True, False, True]
  >>> validates(2, [1, 3])  # the third epoch, counted from 1
  True
  >>> validation_parts(("x", "y"))
  ('x', 'y', None)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from train import data as data_lib
from train._inference import adapt


def validates(epoch: int, validation_freq: Any) -> bool:
    """Keras's rule: after epoch `e` (from 0) when `(e + 1) % freq == 0`, or
    when `e + 1` is in a list of epochs."""
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(
                f"fit: validation_freq must be >= 1; received {validation_freq}."
            )
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def validation_parts(data: Any) -> tuple[Any, Any, Any]:
    """`(x, y, sample_weight)` of `validation_data`: a tuple of 2 or 3, or data
    that yields its own batches."""
    if isinstance(data, tuple):
        if len(data) not in (2, 3):
            raise ValueError(
                "fit: validation_data must be (x_val, y_val), (x_val, y_val, "
                f"val_sample_weight) or a dataset; received a tuple of {len(data)}."
            )
        return (*data, None)[:3]
    return data, None, None


def fit_datasets(
    x, y, batch_size, validation_split, validation_data, shuffle, sample_weight,
    validation_batch_size, key, distribution,
) -> dict[str, Any]:  # fmt: skip
    """The training and validation datasets of one `fit` call (its arguments
    of the same names), shuffled as a function of the run's `key`."""
    if x is None:
        raise ValueError("fit: x is required (arrays, a dataset or a generator).")
    # drawn on the host: a jitted draw would cost a compilation per process
    data_seed = int(np.random.default_rng(np.asarray(key)).integers(2**31 - 1))
    train = adapt(x, y, sample_weight, batch_size, shuffle=shuffle, seed=data_seed)
    if validation_split:
        if validation_data is not None:
            raise ValueError("fit: pass validation_split or validation_data, not both.")
        train, validation_data = train.split(validation_split)
    if validation_data is not None:
        parts = validation_parts(validation_data)
        size = validation_batch_size
        if size is None and data_lib.is_arrays(parts[0]):
            size = batch_size
        validation_data = adapt(*parts, size)
    if distribution is not None and data_lib.is_arrays(x):
        distribution.check_batch_size(batch_size or 32)
    return {"train": train, "validation": validation_data}
