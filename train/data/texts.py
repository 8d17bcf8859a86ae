"""Text classification data from a folder tree, with Keras's semantics.

Each `.txt` file is one example, read as UTF-8 on the host when its batch
is asked for (strings are not JAX arrays: a `TextVectorization`-like step
turns them into ids before the compiled step).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from train.data import folders
from train.data.dataset import Dataset

_CALLER = "text_dataset_from_directory"


def text_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    format: str = "tf",  # noqa: A002  (Keras's keyword)
    verbose: bool = True,
) -> Dataset | tuple[Dataset, Dataset]:
    """Batches `(texts, labels)` read from `directory`'s class folders.

    The folders, labels, shuffling and split follow
    `image_dataset_from_directory` (see `train.data.folders`).

    Args:
      directory: the root folder.
      labels, label_mode, class_names: as for images.
      batch_size: texts per batch.
      max_length: keep at most this many characters of each text (Keras
        counts bytes; the same for ASCII text).
      shuffle, seed, validation_split, subset: as for images.
      follow_links: also read folders reached through symbolic links.
      format: Keras's `"tf"` or `"grain"`; either way a `train.data.Dataset`.
      verbose: print how many files and classes were found, as Keras does.

    Returns:
      A Dataset of `(texts, labels)` (or `(texts,)` without labels), texts
      a NumPy array of `str` `(batch,)`, with `.class_names` and
      `.file_paths`; with `subset="both"`, the pair `(training, validation)`.

    Example:
      >>> import tempfile, pathlib
      >>> root = pathlib.Path(tempfile.mkdtemp())
      >>> for name in ["neg", "pos"]:
      ...     (root / name).mkdir()
      ...     _ = (root / name / "a.txt").write_text(f"{name} review")
      >>> ds = text_dataset_from_directory(root, shuffle=False, verbose=False)
      >>> [(x.tolist(), y.tolist()) for x, y in ds]
      [(['neg review', 'pos review'], [0, 1])]
    """
    folders.check_labels(_CALLER, labels, label_mode, class_names)
    folders.check_split(_CALLER, validation_split, subset, shuffle, seed)
    if format not in ("tf", "grain"):
        raise ValueError(
            f'{_CALLER}: format must be "tf" or "grain"; received {format!r}.'
        )
    if max_length is not None and (isinstance(max_length, bool) or max_length < 1):
        raise ValueError(
            f"{_CALLER}: max_length must be a positive int or None; received "
            f"{max_length!r}."
        )
    if labels is None or label_mode is None:
        labels = label_mode = None
    paths, ids, names = folders.index_directory(
        _CALLER, directory, labels, class_names, (".txt",), follow_links, "text"
    )
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f'{_CALLER}: label_mode="binary" needs exactly 2 classes; received '
            f'class_names={names}. Hint: use label_mode="categorical" or "int".'
        )
    folders.report(verbose, paths, names, validation_split)
    if shuffle and seed is not None:  # as Keras: shuffle before the split
        order = np.random.default_rng(seed).permutation(len(paths))
        paths, ids = paths[order], None if ids is None else ids[order]
    encoded = folders.encode(ids, label_mode, len(names))

    def read(chosen: np.ndarray) -> np.ndarray:
        texts = []
        for path in chosen:
            with open(path, encoding="utf-8") as file:
                texts.append(file.read(max_length) if max_length else file.read())
        return np.array(texts, dtype=str)

    def make(part: str, shuffle_part: bool) -> Dataset:
        index = folders.split_index(len(paths), validation_split, part)
        part_paths = paths[index]
        part_labels = None if encoded is None else encoded[index]

        def gather(rows: np.ndarray) -> tuple[np.ndarray, ...]:
            texts = read(part_paths[rows])
            return (texts,) if part_labels is None else (texts, part_labels[rows])

        dataset = Dataset.from_indexed(len(part_paths), gather, batch_size=batch_size,
                                       shuffle=shuffle_part, seed=seed)  # fmt: skip
        dataset.class_names, dataset.file_paths = list(names), part_paths.tolist()
        return dataset

    if subset == "both":
        return make("training", shuffle), make("validation", False)
    return make(subset or "training", shuffle)
