"""Weights in and out of one `.npz` file, keyed by variable path.

`save_weights` writes `{"params/dense/kernel": array, ...}` as `.npz` with
`nn.models.atomic_files.write_atomically`, so a crash mid-write never leaves
a broken file where a good one was. Loading goes through
`nn.models.npz_reader`: headers are checked before data is read, and nothing
is unpickled. The whole model (architecture, optimizer state, checksums) goes
in `nn.archive` instead.
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import jax.numpy as jnp
import numpy as np

from nn.models.atomic_files import write_atomically
from nn.models.npz_reader import read_npz, specs_of
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


def save_weights(variables: dict[str, Any], path: str | os.PathLike) -> None:
    """Writes `variables` to `path` as `.npz`, atomically.

    Example:
      >>> import os, tempfile
      >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
      >>> save_weights({"params": {"d": {"w": jnp.ones(2)}}, "state": {}}, path)
      >>> load_weights(path)[0]["params"]["d"]["w"].tolist()
      [1.0, 1.0]
    """
    write_atomically(path, npz_bytes(flatten_paths(variables)))


def load_weights(
    path: str | os.PathLike, like: dict[str, Any] | None = None,
    skip_mismatch: bool = False,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Reads variables written by `save_weights`, never unpickling anything.

    Args:
      path: the `.npz` file.
      like: the variables the file must hold (names, shapes, dtypes): each
        array's size is checked against them before its data is read. None
        reads any arrays up to the file's own size.
      skip_mismatch: read what fits `like`, skip the rest.

    Returns:
      `(variables, problems)`: one line per missing, extra or mis-shaped path
      (empty unless `skip_mismatch`).

    Raises:
      VariablesError: something does not fit `like` (without `skip_mismatch`).
      ValueError: not an `.npz` of arrays, or sizes that disagree.
    """
    path = os.fspath(path)
    if like is None:
        flat, problems = read_npz(path, path, budget=os.path.getsize(path))
    else:
        flat, problems = read_npz(
            path, path, specs_of(flatten_paths(like)),
            skip_mismatch=skip_mismatch, error=VariablesError,
        )  # fmt: skip
    tree = unflatten_paths({k: jnp.asarray(v) for k, v in flat.items()})
    variables = {"params": tree.get("params", {}), "state": tree.get("state", {})}
    return variables, problems


def merge_fitting(expected: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`expected` with every path that `given` holds at the same shape replaced."""
    got = flatten_paths(given)
    merged = {
        p: got[p] if p in got and tuple(got[p].shape) == tuple(v.shape) else v
        for p, v in flatten_paths(expected).items()
    }
    tree = unflatten_paths(merged)
    return {"params": tree.get("params", {}), "state": tree.get("state", {})}
