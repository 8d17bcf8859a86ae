"""Label and vector helpers of `keras.utils`: `to_categorical`, `normalize`."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows for integer class ids, as `keras.utils.to_categorical`.

    Args:
      x: class ids, any shape; a trailing axis of size 1 is dropped first.
      num_classes: the length of each row; defaults to `max(x) + 1`.

    Returns:
      float64 NumPy array of shape `x.shape + (num_classes,)` (Keras's dtype).

    Raises:
      ValueError: an id that is negative or not below `num_classes`.

    Example:
      >>> to_categorical([0, 2], num_classes=3).tolist()
      [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    ids = np.asarray(x)
    if ids.size and not np.all(np.equal(np.mod(ids, 1), 0)):
        raise ValueError(
            f"to_categorical: expected integer class ids, received values such "
            f"as {ids.ravel()[np.mod(ids.ravel(), 1) != 0][0]!r}."
        )
    ids = ids.astype(np.int64)
    shape = ids.shape[:-1] if ids.ndim > 1 and ids.shape[-1] == 1 else ids.shape
    flat = ids.reshape(-1)
    count = int(flat.max()) + 1 if num_classes is None and flat.size else num_classes
    count = 0 if count is None else int(count)
    if flat.size and (flat.min() < 0 or flat.max() >= count):
        raise ValueError(
            f"to_categorical: class ids must lie in [0, {count}) for num_classes="
            f"{count}; received ids from {flat.min()} to {flat.max()}. Hint: pass "
            "num_classes larger than the largest id, or ids counted from 0."
        )
    rows = np.zeros((flat.size, count))
    rows[np.arange(flat.size), flat] = 1.0
    return rows.reshape(*shape, count)


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """`x` divided by its `order`-norm along `axis` (zero norms divide by 1),
    as `keras.utils.normalize` on NumPy input (whose `axis=0` normalizes
    along the last axis instead and then fails; ours normalizes along 0).

    Example:
      >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
      [[0.6, 0.8], [0.0, 0.0]]
    """
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
