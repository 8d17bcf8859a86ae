"""Argument checks for sliding-window ops and layers: sizes per spatial axis,
padding and data format. Messages name the op or layer that was given them.

Example:
  >>> spatial_tuple("conv", "strides", 2, rank=2)
  (2, 2)
  >>> check_padding("conv", "SAME")
  'same'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stateless.errors import owner_name

DATA_FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")


def spatial_tuple(
    owner: Any, arg: str, value: int | Sequence[int], rank: int
) -> tuple[int, ...]:
    """`value` as one positive int per spatial axis (an int is repeated)."""
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(
            f"{owner_name(owner)}: {arg} must be a positive int or {rank} positive "
            f"ints for {rank} spatial axes, received {value!r}."
        )
    return values


def check_data_format(owner: Any, data_format: str) -> None:
    """Raises unless `data_format` is `"channels_last"` or `"channels_first"`."""
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"{owner_name(owner)}: data_format must be one of "
            f"{', '.join(DATA_FORMATS)}, received {data_format!r}."
        )


def layer_data_format(owner: Any, data_format: str | None) -> str:
    """A layer's `data_format`, checked; None means `"channels_last"`, as
    Keras's default image data format."""
    data_format = data_format or "channels_last"
    check_data_format(owner, data_format)
    return data_format


def check_padding(owner: Any, padding: str) -> str:
    """`padding` in lower case, checked to be `"valid"` or `"same"`."""
    if not isinstance(padding, str) or padding.lower() not in PADDINGS:
        raise ValueError(
            f"{owner_name(owner)}: padding must be one of {', '.join(PADDINGS)}, "
            f"received {padding!r}."
        )
    return padding.lower()


def spatial_pairs(
    owner: Any, arg: str, value: Any, rank: int
) -> tuple[tuple[int, int], ...]:
    """`value` as one `(before, after)` pair of non-negative ints per spatial
    axis, read as Keras reads cropping and padding amounts: an int is used on
    both sides of every axis; with one axis, two ints are `(before, after)`;
    with more, `rank` ints are each used on both sides of their axis, or
    `rank` pairs are given in full.

    Example:
      >>> spatial_pairs("pad", "padding", (1, 2), rank=2)
      ((1, 1), (2, 2))
      >>> spatial_pairs("crop", "cropping", (1, 2), rank=1)
      ((1, 2),)
    """

    def count(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    def pair(v: Any) -> bool:
        return isinstance(v, list | tuple) and len(v) == 2 and all(map(count, v))

    if count(value):
        return ((value, value),) * rank
    if rank == 1 and pair(value):
        return (tuple(value),)
    if isinstance(value, list | tuple) and len(value) == rank:
        if all(map(count, value)):
            return tuple((v, v) for v in value)
        if all(map(pair, value)):
            return tuple(tuple(v) for v in value)
    shapes = (
        "two ints (before, after)"
        if rank == 1
        else (f"{rank} ints (one per axis) or {rank} pairs (before, after)")
    )
    raise ValueError(
        f"{owner_name(owner)}: {arg} must be a non-negative int or {shapes}, "
        f"received {value!r}."
    )
