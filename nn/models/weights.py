"""Weights in and out of one `.npz` file, keyed by variable path.

`save_weights` writes `{"params/dense/kernel": array, ...}` with NumPy's
`savez` to a temporary file in the same folder and renames it into place, so a
crash mid-write never leaves a broken file where a good one was. Loading uses
`allow_pickle=False`: no code runs from the file. The whole model
(architecture, optimizer state, checksums) goes in `nn.archive` instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from typing import Any

import jax.numpy as jnp
import numpy as np

from stateless.errors import VariablesError
from stateless.scope import flatten_paths, unflatten_paths

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: same data, same bytes


def zip_bytes(members: dict[str, bytes], compress: bool = False) -> bytes:
    """A zip holding `members`, with fixed timestamps (deterministic bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = (
                zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            )
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def npz_bytes(arrays: dict[str, Any]) -> bytes:
    """An `.npz` of `arrays` (no pickled objects) with deterministic bytes."""
    members = {}
    for key, array in arrays.items():
        data = io.BytesIO()
        np.lib.format.write_array(
            data, np.asarray(array, order="C"), allow_pickle=False
        )
        members[key + ".npy"] = data.getvalue()
    return zip_bytes(members)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, fsyncs it, then renames
    it into place: a crash never leaves a half-written file where a good one was."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".saving-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # as `open` would create it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def save_weights(variables: dict[str, Any], path: str | os.PathLike) -> None:
    """Writes `variables` to `path` as `.npz`, atomically.

    Example:
      >>> import os, tempfile
      >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
      >>> save_weights({"params": {"d": {"w": jnp.ones(2)}}, "state": {}}, path)
      >>> load_weights(path)["params"]["d"]["w"].tolist()
      [1.0, 1.0]
    """
    write_atomically(path, npz_bytes(flatten_paths(variables)))


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
