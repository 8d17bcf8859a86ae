"""Image classification data from a folder tree, with Keras's semantics.

Pillow decodes and resizes the images; it is imported on the first call only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from train.data import folders
from train.data.dataset import Dataset

ALLOWED_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}  # Keras -> Pillow
_RESAMPLING = {  # Keras name -> Pillow filter
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "area": "BOX",
    "lanczos3": "LANCZOS",
}
_CALLER = "image_dataset_from_directory"


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
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    format: str = "tf",  # noqa: A002  (Keras's keyword)
    verbose: bool = True,
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
      follow_links: also read folders reached through symbolic links.
      crop_to_aspect_ratio: resize the largest centred crop with the aspect
        ratio of `image_size` (no distortion).
      pad_to_aspect_ratio: fit the whole image into `image_size` without
        distortion, padding the rest with zeros.
      data_format: "channels_last" (default) or "channels_first".
      format: Keras's "tf" or "grain"; either way a `train.data.Dataset`.
      verbose: print how many files and classes were found, as Keras does.

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
      ...                                   seed=0, verbose=False)
      >>> ds.class_names, [(x.shape, y.shape) for x, y in ds]
      (['cat', 'dog'], [((4, 4, 4, 3), (4,)), ((2, 4, 4, 3), (2,))])
      >>> tmp.cleanup()
    """
    _check_args(color_mode, image_size, interpolation, data_format, format)
    folders.check_labels(_CALLER, labels, label_mode, class_names)
    folders.check_split(_CALLER, validation_split, subset, shuffle, seed)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            f"{_CALLER}: crop_to_aspect_ratio and pad_to_aspect_ratio exclude "
            "each other; pass one of them."
        )
    if labels is None or label_mode is None:
        labels = label_mode = None
    paths, label_ids, names = folders.index_directory(
        _CALLER, directory, labels, class_names, ALLOWED_FORMATS, follow_links, "image"
    )
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f'{_CALLER}: label_mode="binary" needs exactly 2 classes; received '
            f'class_names={names}. Hint: use label_mode="categorical" or "int".'
        )
    folders.report(verbose, paths, names, validation_split)
    if shuffle and seed is not None:  # as Keras: shuffle before the split
        order = np.random.default_rng(seed).permutation(len(paths))
        paths = paths[order]
        label_ids = None if label_ids is None else label_ids[order]
    labels_all = folders.encode(label_ids, label_mode, len(names))
    fit = "crop" if crop_to_aspect_ratio else "pad" if pad_to_aspect_ratio else None
    load = _loader(color_mode, image_size, interpolation, fit, data_format)

    def make(part: str, shuffle_part: bool) -> Dataset:
        index = folders.split_index(len(paths), validation_split, part)
        subset_labels = None if labels_all is None else labels_all[index]
        dataset = _dataset(
            paths[index], subset_labels, load, batch_size, shuffle_part, seed
        )
        dataset.class_names = list(names)
        return dataset

    if subset == "both":
        return make("training", shuffle), make("validation", False)
    return make(subset or "training", shuffle)


def _check_args(color_mode, image_size, interpolation, data_format, format) -> None:
    if color_mode not in COLOR_MODES:
        raise ValueError(
            f'{_CALLER}: color_mode must be "grayscale", "rgb" or "rgba"; '
            f"received color_mode={color_mode!r}."
        )
    if interpolation not in _RESAMPLING:
        raise ValueError(
            f"{_CALLER}: interpolation must be one of {list(_RESAMPLING)}; "
            f"received interpolation={interpolation!r}."
        )
    if len(image_size) != 2 or not all(
        isinstance(s, int) and s > 0 for s in image_size
    ):
        raise ValueError(
            f"{_CALLER}: image_size must be (height, width), two positive ints; "
            f"received image_size={image_size!r}."
        )
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(
            f'{_CALLER}: data_format must be "channels_last" or "channels_first"; '
            f"received data_format={data_format!r}."
        )
    if format not in ("tf", "grain"):
        raise ValueError(
            f'{_CALLER}: format must be "tf" or "grain"; received {format!r}.'
        )


def aspect_box(size: tuple[int, int], height: int, width: int, fit: str | None):
    """The region of an image of `size` `(w, h)` that is resized: all of it,
    its largest centred crop of the target's aspect ratio ("crop"), or it
    padded with zeros to that ratio ("pad", a box reaching past its edges)."""
    w, h = size
    if fit is None:
        return None
    if fit == "crop":
        crop_w, crop_h = min(w, h * width // height), min(h, w * height // width)
    else:
        crop_w, crop_h = (
            max(w, -(-h * width // height)),
            max(h, -(-w * height // width)),
        )
    left, top = (w - crop_w) // 2, (h - crop_h) // 2
    return (left, top, left + crop_w, top + crop_h)


def _loader(color_mode, image_size, interpolation, fit, data_format):
    """A function from an array of paths to float32 `(n, height, width, c)`
    (`(n, c, height, width)` channels first)."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(f"{_CALLER} needs Pillow: pip install pillow") from error
    mode = COLOR_MODES[color_mode]
    resample = getattr(Image.Resampling, _RESAMPLING[interpolation])
    height, width = image_size

    def load(paths: np.ndarray) -> np.ndarray:
        channels = len(mode)  # "L", "RGB", "RGBA"
        images = np.empty((len(paths), height, width, channels), np.float32)
        for i, path in enumerate(paths):
            with Image.open(path) as file:
                image = file.convert(mode)
            box = aspect_box(image.size, height, width, fit)
            if fit == "pad":  # paste onto zeros of the target's aspect ratio
                canvas = Image.new(mode, (box[2] - box[0], box[3] - box[1]))
                canvas.paste(image, (-box[0], -box[1]))
                image, box = canvas, None
            image = image.resize((width, height), resample, box=box)
            images[i] = np.asarray(image, np.float32).reshape(height, width, -1)
        if data_format == "channels_first":
            return images.transpose(0, 3, 1, 2)
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
