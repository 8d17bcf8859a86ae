"""Weights in and out of one `.npz` file, keyed by variable path.

`save_weights` writes `{"params/dense/kernel": array, ...}` with NumPy's
`savez` to a temporary file in the same folder and renames it into place, so a
crash mid-write never leaves a broken file where a good one was. Loading uses
`allow_pickle=False`: no code runs from the file. The whole model
(architecture, optimizer state, checksums) goes in `nn.archive` instead.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import jax.numpy as jnp
import numpy as np

from stateless.errors import VariablesError
from stateless.scope import flatten_paths, unflatten_paths


def save_weights(variables: dict[str, Any], path: str | os.PathLike) -> None:
    """Writes `variables` to `path` atomically (temporary file, then rename).

    Example:
      >>> import os, tempfile
      >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
      >>> save_weights({"params": {"d": {"w": jnp.ones(2)}}, "state": {}}, path)
      >>> load_weights(path)["params"]["d"]["w"].tolist()
      [1.0, 1.0]
    """
    path = os.fspath(path)
    arrays = {k: np.asarray(v) for k, v in flatten_paths(variables).items()}
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".weights-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load_weights(path: str | os.PathLike) -> dict[str, Any]:
    """Reads variables written by `save_weights` (never unpickling anything)."""
    with np.load(os.fspath(path), allow_pickle=False) as archive:
        flat = {key: jnp.asarray(archive[key]) for key in archive.files}
    tree = unflatten_paths(flat)
    return {"params": tree.get("params", {}), "state": tree.get("state", {})}


def layout_problems(expected: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """One line per missing, extra or mis-shaped path of `given` against `expected`.

    Example:
      >>> want, got = {"w": jnp.ones(2)}, {"w": jnp.ones(3)}
      >>> layout_problems(want, got)
      ['mis-shaped: w expected (2,), received (3,)']
    """
    want = {p: tuple(v.shape) for p, v in flatten_paths(expected).items()}
    got = {p: tuple(v.shape) for p, v in flatten_paths(given).items()}
    problems = [f"missing: {p} {s}" for p, s in want.items() if p not in got]
    problems += [f"extra: {p} {s}" for p, s in got.items() if p not in want]
    problems += [
        f"mis-shaped: {p} expected {s}, received {got[p]}"
        for p, s in want.items()
        if p in got and got[p] != s
    ]
    return problems


def check_same_layout(
    owner: str, expected: dict[str, Any], given: dict[str, Any], hint: str = ""
) -> None:
    """Raises `VariablesError` naming every missing, extra and mis-shaped path."""
    problems = layout_problems(expected, given)
    if problems:
        message = f"{owner}: the weights do not fit.\n  " + "\n  ".join(problems)
        raise VariablesError(message + (f"\nHint: {hint}" if hint else ""))


def merge_fitting(expected: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`expected` with every path that `given` holds at the same shape replaced."""
    got = flatten_paths(given)
    merged = {
        p: got[p] if p in got and tuple(got[p].shape) == tuple(v.shape) else v
        for p, v in flatten_paths(expected).items()
    }
    tree = unflatten_paths(merged)
    return {"params": tree.get("params", {}), "state": tree.get("state", {})}
