"""`split_dataset`: one set of examples as two, with Keras's size rules."""

from __future__ import annotations

from typing import Any

import numpy as np


def _count(name: str, size: Any, total: int) -> int | None:
    """A split's size as a count of examples (None stays None)."""
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int | float):
        raise TypeError(
            f"split_dataset: {name} must be an int, a float or None; received "
            f"{type(size).__name__}."
        )
    if isinstance(size, int) and not 0 < size < total:
        raise ValueError(
            f"split_dataset: {name}={size} must be a count between 1 and "
            f"{total - 1} (the dataset has {total} examples), or a fraction."
        )
    if isinstance(size, float) and not 0.0 < size < 1.0:
        raise ValueError(
            f"split_dataset: {name}={size} must be a fraction in (0, 1), or a "
            "count of examples."
        )
    return round(size * total) if isinstance(size, float) else size


def _sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    if left_size is None and right_size is None:
        raise ValueError(
            "split_dataset: give left_size or right_size (a count of examples "
            "or a fraction); received neither."
        )
    if isinstance(left_size, float) and isinstance(right_size, float):
        if left_size + right_size > 1.0:
            raise ValueError(
                f"split_dataset: left_size + right_size = {left_size + right_size}"
                " exceeds 1."
            )
    left, right = (
        _count("left_size", left_size, total),
        _count("right_size", right_size, total),
    )
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total or not left or not right:
        raise ValueError(
            f"split_dataset: sides of {left} and {right} examples do not split "
            f"{total} examples into two non-empty parts."
        )
    return left, right


def _leaves(data: Any) -> list[np.ndarray]:
    if isinstance(data, dict):
        return [leaf for v in data.values() for leaf in _leaves(v)]
    if isinstance(data, tuple | list):
        return [leaf for v in data for leaf in _leaves(v)]
    return [np.asarray(data)]


def _take(data: Any, index: np.ndarray) -> Any:
    if isinstance(data, dict):
        return {k: _take(v, index) for k, v in data.items()}
    if isinstance(data, tuple | list):
        return type(data)(_take(v, index) for v in data)
    return np.asarray(data)[index]


def split_dataset(
    dataset: Any,
    left_size: int | float | None = None,
    right_size: int | float | None = None,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[Any, Any]:
    """Splits arrays of examples (first axis) into a left and a right part.

    As `keras.utils.split_dataset`: a size is a count of examples or a
    fraction of them (rounded); a missing one takes the rest; the left part
    is the first examples and the right part the last ones (those in neither
    are dropped). Unlike Keras, the parts are arrays laid out like `dataset`
    (fit takes them directly), not `tf.data` datasets.

    Args:
      dataset: an array, or a tuple, list or dict of arrays sharing their
        first axis (`(x, y)`).
      left_size, right_size: counts or fractions.
      shuffle: whether to shuffle the examples first (NumPy's generator
        seeded with `seed`).

    Raises:
      ValueError: sizes that leave a part empty or exceed the examples, or
        arrays of different lengths.
      TypeError: a size that is not a number.

    Example:
      >>> left, right = split_dataset((np.arange(10), np.arange(10) * 2), 0.8)
      >>> left[1].tolist(), right[0].tolist()
      ([0, 2, 4, 6, 8, 10, 12, 14], [8, 9])
    """
    lengths = {len(leaf) for leaf in _leaves(dataset)}
    if len(lengths) != 1:
        raise ValueError(
            "split_dataset: every array needs the same number of examples (first "
            f"axis); received lengths {sorted(lengths)}."
        )
    total = lengths.pop()
    left, right = _sizes(left_size, right_size, total)
    order = np.arange(total)
    if shuffle:
        order = np.random.default_rng(seed).permutation(total)
    return _take(dataset, order[:left]), _take(dataset, order[total - right :])
