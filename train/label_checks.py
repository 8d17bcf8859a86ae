"""Labels checked against what the loss can take, on the host or in the step.

A sparse cross-entropy takes class ids in `[0, classes)`; given 7 for a model
of 3 outputs, its one-hot is all zeros and the loss a silent 0.0. For labels
held in memory (arrays, not a stream), `fit` and `evaluate` run the compiled
loss's `check_labels(y_true, y_pred_spec)` once, on the host, before the first
step. For labels that stream in, the built-in steps keep a flag among the
metric states (`LABEL_FLAG`: the first batch whose labels the loss's
`flag_labels` refused, and the value) and return it with the logs; the loop
raises when it reads logs it already reads (`raise_flagged`), so the check
costs no host sync. A loss without these methods takes any labels.

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
import jax.numpy as jnp
import numpy as np

ARRAYS = (np.ndarray, jax.Array)
LABEL_FLAG = "label_flag"  # its key among the metric states and the logs


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


def class_id_flag(labels: Any, classes: int, ignored: Any) -> jax.Array:
    """`[refused, value, classes]` (float32) for labels in a compiled step:
    `refused` is 1 when some label is not an integral id in `[0, classes)`
    (nor `ignored`), and `value` the first such label."""
    labels = jnp.asarray(labels).reshape(-1)
    if labels.size == 0:
        return jnp.zeros(3, jnp.float32).at[2].set(classes)
    valid = (labels >= 0) & (labels < classes)
    if jnp.issubdtype(labels.dtype, jnp.floating):
        valid &= labels == jnp.round(labels)
    if ignored is not None:
        valid |= labels == ignored
    first = jnp.argmin(valid)  # the first False, or 0 when all are valid
    refused = (~valid[first]).astype(jnp.float32)
    return jnp.stack([refused, labels[first].astype(jnp.float32), jnp.float32(classes)])


def first_flag(flags: list[jax.Array]) -> jax.Array:
    """The first of several `class_id_flag`s that refused (else the last)."""
    chosen = flags[-1]
    for flag in reversed(flags[:-1]):
        chosen = jnp.where(flag[0] > 0, flag, chosen)
    return chosen


def fresh_flag() -> dict[str, jax.Array]:
    """The flag's state at the start of an epoch or an evaluation."""
    return {
        "batch": jnp.full((), -1, jnp.int32),  # the first refused batch
        "flag": jnp.zeros(3, jnp.float32),
        "seen": jnp.zeros((), jnp.int32),  # batches checked so far
    }


def update_flag(states: dict[str, Any], loss: Any, y: Any, y_pred: Any) -> dict:
    """`states` with the flag updated by one batch, when they hold a flag."""
    if LABEL_FLAG not in states or y is None:
        return states
    state = states[LABEL_FLAG]
    flag = loss.flag_labels(y, y_pred)
    first = (state["batch"] < 0) & (flag[0] > 0)
    return {
        **states,
        LABEL_FLAG: {
            "batch": jnp.where(first, state["seen"], state["batch"]),
            "flag": jnp.where(first, flag, state["flag"]),
            "seen": state["seen"] + 1,
        },
    }


def flag_log(states: dict[str, Any]) -> dict[str, jax.Array]:
    """The flag as a log entry, `[batch, value, classes]` (batch -1: none)."""
    if LABEL_FLAG not in states:
        return {}
    state = states[LABEL_FLAG]
    return {LABEL_FLAG: state["flag"].at[0].set(state["batch"].astype(jnp.float32))}


def raise_flagged(flag: Any) -> None:
    """Raises when a step's flag log names a batch of refused labels."""
    batch, value, classes = (float(v) for v in np.asarray(flag).reshape(-1))
    if batch >= 0:
        shown = int(value) if value == int(value) else value
        raise ValueError(
            f"labels: batch {int(batch)} (counting from 0 in this epoch or "
            f"evaluation) holds the label {shown}; the loss takes integer class "
            f"ids in [0, {int(classes)}) for predictions of {int(classes)} "
            "classes. Hint: check the labels, or the width of the model's last "
            "layer."
        )
