"""What the `*_dataset_from_directory` readers share: Keras's folder layout.

`directory/<class name>/.../<file>`: with `labels="inferred"` each subfolder
is a class, and the sorted folder names (or `class_names`, in its order)
give the labels 0, 1, ...; files are found at any depth below each class
folder, in Keras's order (by folder, then by name). A validation split takes
the last `int(validation_split * count)` files, after the seeded shuffle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

LABEL_MODES = ("int", "categorical", "binary", None)
SUBSETS = ("training", "validation", "both", None)


def check_labels(caller: str, labels: Any, label_mode: Any, class_names: Any) -> None:
    """Refuses `labels`, `label_mode` or `class_names` that Keras refuses."""
    inferred = isinstance(labels, str) and labels == "inferred"
    if not (
        inferred or labels is None or isinstance(labels, list | tuple | np.ndarray)
    ):
        raise ValueError(
            f'{caller}: labels must be "inferred", None, or a list/tuple of int '
            f"labels, one per file; received labels={labels!r}."
        )
    if class_names is not None and not inferred:
        raise ValueError(
            f'{caller}: class_names goes with labels="inferred" only; received '
            f"labels={labels!r}."
        )
    if label_mode not in LABEL_MODES:
        raise ValueError(
            f"{caller}: label_mode must be one of {list(LABEL_MODES)}; received "
            f"label_mode={label_mode!r}."
        )


def check_split(caller: str, validation_split, subset, shuffle, seed) -> None:
    """Refuses a split Keras refuses (and one whose parts could overlap)."""
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(
            f"{caller}: validation_split must be in (0, 1); received "
            f"validation_split={validation_split!r}."
        )
    if subset not in SUBSETS:
        raise ValueError(
            f"{caller}: subset must be one of {list(SUBSETS)}; received "
            f"subset={subset!r}."
        )
    if (validation_split is None) != (subset is None):
        raise ValueError(
            f"{caller}: validation_split and subset go together; received "
            f"validation_split={validation_split!r}, subset={subset!r}. Hint: "
            'pass both, e.g. validation_split=0.2, subset="both", seed=1337.'
        )
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(
            f"{caller}: with validation_split and shuffle=True, pass a seed, so "
            "that the training and validation subsets do not overlap; received "
            "seed=None."
        )


def files_below(folder: str, formats: tuple[str, ...], follow_links: bool) -> list[str]:
    """Files below `folder` ending in one of `formats`, in Keras's order."""
    return [
        os.path.join(root, name)
        for root, _, names in sorted(os.walk(folder, followlinks=follow_links))
        for name in sorted(names)
        if name.lower().endswith(formats)
    ]


def index_directory(
    caller: str,
    directory: str | os.PathLike,
    labels: Any,
    class_names: Sequence[str] | None,
    formats: tuple[str, ...],
    follow_links: bool = False,
    kind: str = "",
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """The file paths, their int labels (or None) and the class names
    (`kind` names the files in messages: "image", "text")."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{caller}: directory {directory!r} does not exist.")
    names: list[str] = []
    if isinstance(labels, str):  # "inferred", checked before
        subdirs = sorted(
            entry.name
            for entry in os.scandir(directory)
            if entry.is_dir() and not entry.name.startswith(".")
        )
        if class_names is not None and not set(class_names) <= set(subdirs):
            raise ValueError(
                f"{caller}: class_names must name subfolders of the directory, "
                f"{subdirs}; received class_names={class_names}."
            )
        names = subdirs if class_names is None else list(class_names)
        per_class = [
            files_below(os.path.join(directory, name), formats, follow_links)
            for name in names
        ]
        paths = [path for files in per_class for path in files]
        ids = np.repeat(
            np.arange(len(names), dtype=np.int32), [len(f) for f in per_class]
        )
    else:
        paths = files_below(directory, formats, follow_links)
        ids = None if labels is None else np.asarray(labels, np.int32)
        if ids is not None and len(ids) != len(paths):
            raise ValueError(
                f"{caller}: labels has {len(ids)} entries but {len(paths)} {kind} "
                f"files were found in {directory!r}."
            )
        if ids is not None and len(ids):
            names = [str(i) for i in range(int(ids.max()) + 1)]
    if not paths:
        raise ValueError(
            f"{caller}: no {kind} files found in directory {directory!r}. "
            f"Allowed formats: {formats}."
        )
    return np.array(paths), ids, names


def encode(ids: np.ndarray | None, label_mode: str | None, num_classes: int):
    """The labels as `label_mode` asks: int32 ids, float32 one-hot rows, or
    float32 `(n, 1)` for two classes."""
    if ids is None or label_mode == "int":
        return ids
    if label_mode == "binary":
        return ids.astype(np.float32)[:, None]
    return np.eye(num_classes, dtype=np.float32)[ids]


def split_index(num_files: int, validation_split: float | None, part: str) -> slice:
    """Keras's split: validation is the last `int(split * num_files)` files."""
    if validation_split is None:
        return slice(None)
    at = num_files - int(validation_split * num_files)
    return slice(None, at) if part == "training" else slice(at, None)


def report(verbose: bool, paths: np.ndarray, names: list[str], split: Any) -> None:
    """Keras's lines about what was found, and how the split shares it."""
    if not verbose:
        return
    print(f"Found {len(paths)} files belonging to {len(names)} classes.")
    if split is not None:
        validation = int(split * len(paths))
        print(f"Using {len(paths) - validation} files for training.")
        print(f"Using {validation} files for validation.")
