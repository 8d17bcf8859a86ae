"""Keras's `class_weight`: each example's sample weight scaled by its class's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from train import steps as steps_lib


def weigh_by_class(batch: tuple[Any, ...], class_weight: Mapping[int, float]) -> tuple:
    """`(x, y, w)` with `w` scaled by the weight of each example's class (the
    label, or the argmax of a one-hot label); classes not listed weigh 1.

    Example:
      >>> x, y, w = weigh_by_class((np.zeros(3), np.array([0, 1, 1])), {1: 2.0})
      >>> w.tolist()
      [1.0, 2.0, 2.0]
    """
    x, y, w = steps_lib.unpack_batch(batch)
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(-1)
    scale = np.vectorize(lambda c: class_weight.get(int(c), 1.0))(
        labels.reshape(len(labels), -1)[:, 0]
    )
    w = scale.astype(np.float32) if w is None else np.asarray(w) * scale
    return x, y, w
