"""Image classification data from a folder tree, with Keras's semantics.

Pillow decodes and resizes the images; it is imported on the first call only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from train.data.dataset import Dataset

ALLOWED_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_RESAMPLING = {  # Keras name -> Pillow filter
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "area": "BOX",
    "lanczos3": "LANCZOS",
}
_LABEL_MODES = ("int", "categorical", "binary", None)
_SUBSETS = ("training", "validation", "both", None)


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
) -> Dataset | tuple[Dataset, Dataset]:
    """Batches `(images, labels)` read from `directory`'s class folders.

    With `labels="inferred"`, each subfolder of `directory` is a class, and
    the sorted folder names (or `class_names`, in its order) give the labels
    0, 1, ...; images are found at any depth below each class folder. The
    files (`.bmp .gif .jpeg .jpg .png`) are decoded lazily, one batch at a
    time, converted to `color_mode`, and resized to `image_size` with
    Pillow, whose filters antialias when shrinking (TensorFlow's do not, so
    values can differ slightly from Keras's).

    Args:
      directory: the root folder.
      labels: "inferred" (from the folders); None (images only); or a list
        of int labels, one per image file in sorted path order.
      label_mode: "int" (int32 `(batch,)`), "categorical" (one-hot float32
        `(batch, num_classes)`), "binary" (float32 `(batch, 1)`, 2 classes
        only) or None (images only).
      class_names: with inferred labels, the class folders to read, in label
        order; by default all of them, sorted.
      color_mode: "grayscale", "rgb" or "rgba" (1, 3 or 4 channels).
      batch_size: images per batch.
      image_size: `(height, width)` to resize to.
      shuffle: shuffle the file list with `seed` before splitting, and the
        training examples anew each epoch.
      seed: the seed for both shuffles; required with `validation_split`.
      validation_split: in (0, 1), the share of files for validation: the
        last `int(validation_split * num_files)` of the (shuffled) list.
      subset: "training", "validation" or "both"; with `validation_split`.
      interpolation: "nearest", "bilinear", "bicubic", "area" or "lanczos3".

    Returns:
      A Dataset of `(images, labels)` (or `(images,)` without labels),
      images float32 `(batch, height, width, channels)` in 0..255, with
      `.class_names` and `.file_paths`. With `subset="both"`, the pair
      `(training, validation)`; the validation part is never shuffled.

    Raises:
      FileNotFoundError: `directory` does not exist.
      ValueError: no images were found, or an argument is invalid.

    Example:
      >>> import tempfile, pathlib
      >>> from PIL import Image
      >>> tmp = tempfile.TemporaryDirectory()
      >>> root = pathlib.Path(tmp.name)
      >>> for name in ["cat", "dog"]:
      ...     (root / name).mkdir()
      ...     for i in range(3):
      ...         Image.new("RGB", (8, 6)).save(root / name / f"{i}.png")
      >>> ds = image_dataset_from_directory(root, image_size=(4, 4), batch_size=4,
      ...                                   seed=0)
      >>> ds.class_names, [(x.shape, y.shape) for x, y in ds]
      (['cat', 'dog'], [((4, 4, 4, 3), (4,)), ((2, 4, 4, 3), (2,))])
      >>> tmp.cleanup()
    """
    _check_args(labels, label_mode, class_names, color_mode, image_size, interpolation)
    _check_split(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels = label_mode = None
    paths, label_ids, names = _index_directory(directory, labels, class_names)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            'image_dataset_from_directory: label_mode="binary" needs exactly 2 '
            f"classes; received class_names={names}. Hint: use "
            'label_mode="categorical" or "int".'
        )
    if shuffle and seed is not None:  # as Keras: shuffle before the split
        order = np.random.default_rng(seed).permutation(len(paths))
        paths = paths[order]
        label_ids = None if label_ids is None else label_ids[order]
    labels_all = _encode(label_ids, label_mode, len(names))
    load = _loader(color_mode, image_size, interpolation)

    def make(part: str, shuffle_part: bool) -> Dataset:
        index = _split_index(len(paths), validation_split, part)
        subset_labels = None if labels_all is None else labels_all[index]
        dataset = _dataset(
            paths[index], subset_labels, load, batch_size, shuffle_part, seed
        )
        dataset.class_names = list(names)
        return dataset

    if subset == "both":
        return make("training", shuffle), make("validation", False)
    return make(subset or "training", shuffle)


def _check_args(
    labels, label_mode, class_names, color_mode, image_size, interpolation
) -> None:
    caller = "image_dataset_from_directory"
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
    if label_mode not in _LABEL_MODES:
        raise ValueError(
            f"{caller}: label_mode must be one of {list(_LABEL_MODES)}; received "
            f"label_mode={label_mode!r}."
        )
    if color_mode not in _PIL_MODES:
        raise ValueError(
            f'{caller}: color_mode must be "grayscale", "rgb" or "rgba"; '
            f"received color_mode={color_mode!r}."
        )
    if interpolation not in _RESAMPLING:
        raise ValueError(
            f"{caller}: interpolation must be one of {list(_RESAMPLING)}; "
            f"received interpolation={interpolation!r}."
        )
    if len(image_size) != 2 or not all(
        isinstance(s, int) and s > 0 for s in image_size
    ):
        raise ValueError(
            f"{caller}: image_size must be (height, width), two positive ints; "
            f"received image_size={image_size!r}."
        )


def _check_split(validation_split, subset, shuffle, seed) -> None:
    caller = "image_dataset_from_directory"
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(
            f"{caller}: validation_split must be in (0, 1); received "
            f"validation_split={validation_split!r}."
        )
    if subset not in _SUBSETS:
        raise ValueError(
            f"{caller}: subset must be one of {list(_SUBSETS)}; received "
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


def _image_files(folder: str) -> list[str]:
    """Image files below `folder`, in Keras's order: by folder, then by name."""
    return [
        os.path.join(root, name)
        for root, _, names in sorted(os.walk(folder))
        for name in sorted(names)
        if name.lower().endswith(ALLOWED_FORMATS)
    ]


def _index_directory(
    directory: str | os.PathLike, labels: Any, class_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """The file paths, their int labels (or None) and the class names."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"image_dataset_from_directory: directory {directory!r} does not exist."
        )
    names: list[str] = []
    if isinstance(labels, str):  # "inferred", checked before
        subdirs = sorted(
            entry.name
            for entry in os.scandir(directory)
            if entry.is_dir() and not entry.name.startswith(".")
        )
        if class_names is not None and not set(class_names) <= set(subdirs):
            raise ValueError(
                "image_dataset_from_directory: class_names must name subfolders "
                f"of the directory, {subdirs}; received class_names={class_names}."
            )
        names = subdirs if class_names is None else list(class_names)
        per_class = [_image_files(os.path.join(directory, name)) for name in names]
        paths = [path for files in per_class for path in files]
        ids = np.repeat(
            np.arange(len(names), dtype=np.int32), [len(f) for f in per_class]
        )
    else:
        paths = _image_files(directory)
        ids = None if labels is None else np.asarray(labels, np.int32)
        if ids is not None and len(ids) != len(paths):
            raise ValueError(
                f"image_dataset_from_directory: labels has {len(ids)} entries but "
                f"{len(paths)} image files were found in {directory!r}."
            )
        if ids is not None and len(ids):
            names = [str(i) for i in range(int(ids.max()) + 1)]
    if not paths:
        raise ValueError(
            f"image_dataset_from_directory: no images found in directory "
            f"{directory!r}. Allowed formats: {ALLOWED_FORMATS}."
        )
    return np.array(paths), ids, names


def _encode(ids: np.ndarray | None, label_mode: str | None, num_classes: int):
    if ids is None or label_mode == "int":
        return ids
    if label_mode == "binary":
        return ids.astype(np.float32)[:, None]
    return np.eye(num_classes, dtype=np.float32)[ids]


def _split_index(num_files: int, validation_split: float | None, part: str) -> slice:
    """Keras's split: validation is the last `int(split * num_files)` files."""
    if validation_split is None:
        return slice(None)
    at = num_files - int(validation_split * num_files)
    return slice(None, at) if part == "training" else slice(at, None)


def _loader(color_mode: str, image_size: tuple[int, int], interpolation: str):
    """A function from an array of paths to float32 `(n, height, width, c)`."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "image_dataset_from_directory needs Pillow: pip install pillow"
        ) from error
    mode = _PIL_MODES[color_mode]
    resample = getattr(Image.Resampling, _RESAMPLING[interpolation])
    height, width = image_size

    def load(paths: np.ndarray) -> np.ndarray:
        channels = len(mode)  # "L", "RGB", "RGBA"
        images = np.empty((len(paths), height, width, channels), np.float32)
        for i, path in enumerate(paths):
            with Image.open(path) as file:
                image = file.convert(mode).resize((width, height), resample)
            images[i] = np.asarray(image, np.float32).reshape(height, width, -1)
        return images

    return load


def _dataset(paths, labels, load, batch_size, shuffle, seed) -> Dataset:
    def gather(index: np.ndarray) -> tuple[np.ndarray, ...]:
        images = load(paths[index])
        return (images,) if labels is None else (images, labels[index])

    dataset = Dataset.from_indexed(
        len(paths), gather, batch_size=batch_size, shuffle=shuffle, seed=seed
    )
    dataset.file_paths = paths.tolist()
    return dataset
