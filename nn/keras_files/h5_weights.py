"""Keras's HDF5 weights (`model.weights.h5`, `*.weights.h5`), read safely.

Keras 3 writes each layer's own variables as datasets `<path>/vars/0`,
`<path>/vars/1`... in the order the layer created them (trainable first),
and a layer's sub-layers as groups beside `vars`, named by attribute
(`cell`, `forward_layer`, `query_dense`...). `H5Tree` walks that tree
without reading any array: only hard links are followed (no soft or
external links, so nothing outside the file is reached), and a dataset is
read only once its shape and dtype have been checked against what the model
expects, so a file that declares a huge array costs no memory.

Example:
  >>> import io, h5py
  >>> buffer = io.BytesIO()
  >>> with h5py.File(buffer, "w") as f:
  ...     _ = f.create_dataset("layers/dense/vars/0", data=np.ones((2, 3), "f4"))
  >>> tree = H5Tree(h5py.File(buffer, "r"), "demo.h5")
  >>> [(d.path, d.shape) for d in tree.group("layers/dense").own()]
  [('layers/dense/vars/0', (2, 3))]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nn.archive import ArchiveError

NUMERIC_KINDS = "biuf"


class KerasFileError(ArchiveError):
    """A Keras file is corrupt, hostile, or holds what this project cannot
    read (the message names the layer, option or member)."""


class Dataset:
    """One array of the file, not yet read: its path, shape and dtype."""

    def __init__(self, node: Any, path: str, source: str):
        self.node, self.path, self.source = node, path, source
        self.shape = tuple(int(n) for n in node.shape or ())
        self.dtype = node.dtype

    def read(self, shape: tuple[int, ...], dtype: Any, where: str) -> np.ndarray:
        """The array, after checking it is `shape`, numeric and stored in
        the file itself (no external or virtual storage)."""
        if self.shape != tuple(shape):
            raise KerasFileError(
                f"{self.source}: {self.path} holds an array of shape "
                f"{self.shape}, but {where} expects {tuple(shape)}. Hint: the "
                "file belongs to a model of another architecture."
            )
        if self.dtype.kind not in NUMERIC_KINDS or self.dtype.fields is not None:
            raise KerasFileError(
                f"{self.source}: {self.path} holds {self.dtype}, not a numeric "
                f"array ({where} expects {np.dtype(dtype)})."
            )
        if self.node.external or self.node.is_virtual:
            raise KerasFileError(
                f"{self.source}: {self.path} keeps its data outside the file; "
                "refusing to follow it."
            )
        try:
            value = self.node[()]
        except Exception as error:
            raise KerasFileError(
                f"{self.source}: cannot read {self.path}: {error}"
            ) from None
        return np.asarray(value).astype(dtype, copy=False)


class H5Tree:
    """A group of the file: its own variables and its sub-groups.

    Args:
      node: an open `h5py.Group` (or `File`).
      source: the file's name, for messages.
      path: the group's path inside the file.
    """

    def __init__(self, node: Any, source: str, path: str = ""):
        self.node, self.source, self.path = node, source, path

    def _entry(self, name: str) -> Any:
        import h5py

        link = self.node.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(
                f"{self.source}: {self._join(name)} is a {type(link).__name__}; "
                "only arrays stored in the file are read."
            )
        return self.node[name]

    def _join(self, name: str) -> str:
        return f"{self.path}/{name}" if self.path else name

    def names(self) -> list[str]:
        """The sub-groups' names, sorted (Keras walks attributes sorted)."""
        import h5py

        return sorted(
            name
            for name in self.node
            if name != "vars" and isinstance(self._entry(name), h5py.Group)
        )

    def has(self, path: str) -> bool:
        node = self
        for part in path.split("/"):
            if part not in node.node:
                return False
            node = node.group(part)
        return True

    def group(self, path: str) -> H5Tree:
        import h5py

        node = self
        for part in path.split("/"):
            entry = node._entry(part)
            if not isinstance(entry, h5py.Group):
                raise KerasFileError(f"{self.source}: {node._join(part)} is no group.")
            node = H5Tree(entry, self.source, node._join(part))
        return node

    def own(self) -> list[Dataset]:
        """The group's own variables, `vars/0`, `vars/1`... in order."""
        import h5py

        if "vars" not in self.node:
            return []
        holder = self.group("vars")
        found = {}
        for name in holder.node:
            entry = holder._entry(name)
            if not (name.isdigit() and isinstance(entry, h5py.Dataset)):
                raise KerasFileError(
                    f"{self.source}: unexpected entry {holder._join(name)!r:.100}; "
                    "a vars group holds datasets named 0, 1, 2..."
                )
            found[int(name)] = Dataset(entry, holder._join(name), self.source)
        if sorted(found) != list(range(len(found))):
            raise KerasFileError(
                f"{self.source}: {holder.path} numbers its variables "
                f"{sorted(found)!r:.100}, not 0..{len(found) - 1}."
            )
        return [found[i] for i in range(len(found))]

    def all_datasets(self) -> list[Dataset]:
        """Every variable below, in Keras's order: own, then each sub-group."""
        found = self.own()
        for name in self.names():
            found += self.group(name).all_datasets()
        return found
