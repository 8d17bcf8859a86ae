"""Labels checked once against what the loss can take, before any step runs.

A sparse cross-entropy takes class ids in `[0, classes)`; given 7 for a model
of 3 outputs, its one-hot is all zeros and the loss a silent 0.0. For labels
held in memory (arrays, not a stream), `fit` and `evaluate` run the compiled
loss's `check_labels(y_true, y_pred_spec)` once, on the host, before the first
step; the steps themselves are untouched. A loss without `check_labels` takes
any labels.

Example:
  >>> from train.losses import SparseCategoricalCrossentropy
  >>> loss = SparseCategoricalCrossentropy()
  >>> apply = lambda variables, x: (x, {})  # 3 classes out
  >>> try:
  ...     check_in_memory_labels(loss, apply, {}, np.ones((2, 3)), np.array([0, 7]))
  ... except ValueError as error:
  ...     print(str(error)[31:99])
  labels must be class ids in [0, 3) for predictions of 3 classes; rec
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

ARRAYS = (np.ndarray, jax.Array)


def array_leaves(tree: Any) -> list[Any] | None:
    """The arrays of `tree` when it is arrays in lists, tuples and dicts (data
    held in memory), else None (a dataset, a generator: not flattened)."""
    if isinstance(tree, ARRAYS):
        return [tree]
    if not isinstance(tree, list | tuple | dict):
        return None
    leaves: list[Any] = []
    for item in tree.values() if isinstance(tree, dict) else tree:
        found = array_leaves(item)
        if found is None:
            return None
        leaves += found
    return leaves


def one_row(x: Any) -> Any:
    """Abstract arrays like those of `x`, with a batch of one."""
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct((1, *a.shape[1:]), a.dtype), x)


def _in_memory(tree: Any) -> bool:
    return bool(array_leaves(tree))


def check_in_memory_labels(
    loss: Any, apply: Callable[..., Any], variables: Any, x: Any, y: Any
) -> None:
    """Runs `loss.check_labels(y, spec)` when `x` and `y` are arrays; `spec`
    is the abstract prediction for one row of `x` (nothing is computed)."""
    check = getattr(loss, "check_labels", None)
    if check is None or not (_in_memory(x) and _in_memory(y)):
        return
    check(y, jax.eval_shape(lambda v, x: apply(v, x)[0], variables, one_row(x)))


def check_class_ids(owner: str, labels: Any, classes: int, ignored: Any) -> None:
    """Refuses labels that are not integral class ids in `[0, classes)` (or
    the `ignored` one), naming the first offending example."""
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        fractional = np.flatnonzero(labels != np.round(labels))
        if fractional.size:
            i = int(fractional[0])
            raise ValueError(
                f"{owner}: labels must be integer class ids; received "
                f"{labels.reshape(-1)[i].item()} (example {i}). Hint: for one-hot or "
                "soft targets, use CategoricalCrossentropy."
            )
    elif labels.dtype.kind not in "iub":
        raise ValueError(
            f"{owner}: labels must be integer class ids; received dtype {labels.dtype}."
        )
    valid = (labels >= 0) & (labels < classes)
    if ignored is not None:
        valid |= labels == ignored
    bad = np.flatnonzero(~valid.reshape(-1))
    if bad.size:
        i = int(bad[0])
        value = labels.reshape(-1)[i].item()
        raise ValueError(
            f"{owner}: labels must be class ids in [0, {classes}) for predictions "
            f"of {classes} classes; received {value} (example {i}). Hint: check "
            "the labels, or the width of the model's last layer."
        )
