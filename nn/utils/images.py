"""Images as arrays and back, as `keras.utils`' image helpers (Pillow).

Pillow is imported on the first call only; arrays are NumPy,
`(height, width, channels)` by default (`data_format="channels_first"`
puts channels first).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from train.data.images import COLOR_MODES, aspect_box

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # channels -> Pillow mode
_RESAMPLING = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC",
               "hamming": "HAMMING", "box": "BOX", "lanczos": "LANCZOS"}  # fmt: skip


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "nn.utils' image helpers need Pillow: pip install pillow"
        ) from error
    return Image


def _channels_last(data_format: str | None, caller: str) -> bool:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{caller}: data_format must be 'channels_last' or 'channels_first', "
            f"received {data_format!r}."
        )
    return data_format == "channels_last"


def array_to_img(
    x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None
) -> Any:
    """A Pillow image from a `(height, width, channels)` array (1, 3 or 4
    channels); `scale` maps the array's range onto 0..255 first.

    Example:
      >>> array_to_img(np.zeros((4, 5, 3))).size
      (5, 4)
    """
    del dtype  # Keras's float type for its own checks; Pillow's types decide here
    image = _pillow()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(
            f"array_to_img: expected an array of rank 3 (height, width, channels), "
            f"received shape {x.shape}."
        )
    if not _channels_last(data_format, "array_to_img"):
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels not in _MODES:
        raise ValueError(
            f"array_to_img: expected 1, 3 or 4 channels, received {channels} "
            f"(shape {x.shape})."
        )
    pixels = x.astype(np.uint8)
    if channels == 1:
        pixels = pixels[:, :, 0]
    return image.fromarray(pixels, _MODES[channels])


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> Any:
    """A Pillow image as a `(height, width, channels)` array (float32 by default).

    Example:
      >>> img_to_array(array_to_img(np.ones((2, 3, 1)))).shape
      (2, 3, 1)
    """
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image of shape {x.shape}.")
    return x if _channels_last(data_format, "img_to_array") else x.transpose(2, 0, 1)


def load_img(
    path: str | os.PathLike,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
) -> Any:
    """A Pillow image read from `path`, converted to `color_mode` and
    resized to `target_size` `(height, width)` (centre-cropped to its aspect
    ratio first with `keep_aspect_ratio`)."""
    image = _pillow()
    if color_mode not in COLOR_MODES:
        raise ValueError(
            f"load_img: color_mode must be one of {sorted(COLOR_MODES)}, "
            f"received {color_mode!r}."
        )
    if interpolation not in _RESAMPLING:
        raise ValueError(
            f"load_img: interpolation must be one of {sorted(_RESAMPLING)}, "
            f"received {interpolation!r}."
        )
    with image.open(os.fspath(path)) as file:
        img = file.convert(COLOR_MODES[color_mode])
    if target_size is not None:
        height, width = target_size
        if img.size != (width, height):
            resample = getattr(image.Resampling, _RESAMPLING[interpolation])
            fit = "crop" if keep_aspect_ratio else None
            box = aspect_box(img.size, height, width, fit)
            img = img.resize((width, height), resample, box=box)
    return img


def save_img(
    path: str | os.PathLike,
    x: Any,
    data_format: str | None = None,
    file_format: str | None = None,
    scale: bool = True,
    **kwargs: Any,
) -> None:
    """Writes an array as an image file (`file_format` defaults to the
    suffix's; a JPEG drops an alpha channel); `kwargs` go to Pillow's `save`."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    suffix = os.fspath(path).lower().rsplit(".", 1)[-1]
    if img.mode == "RGBA" and (file_format or suffix).lower() in ("jpg", "jpeg"):
        img = img.convert("RGB")
    img.save(os.fspath(path), format=file_format, **kwargs)
