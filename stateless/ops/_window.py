"""Argument checks shared by the sliding-window ops (convolution, pooling)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stateless.errors import ShapeError

DATA_FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")


def spatial_tuple(
    op: str, arg: str, value: int | Sequence[int], rank: int
) -> tuple[int, ...]:
    """`value` as one positive int per spatial axis (an int is repeated)."""
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(
            f"{op}: {arg} must be a positive int or {rank} positive ints for "
            f"{rank} spatial axes, received {value!r}."
        )
    return values


def check_format(op: str, padding: str, data_format: str) -> str:
    """Validates `padding` and `data_format`; returns the padding as `lax` spells it."""
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"{op}: data_format must be one of {', '.join(DATA_FORMATS)}, "
            f"received {data_format!r}."
        )
    if not isinstance(padding, str) or padding.lower() not in PADDINGS:
        raise ValueError(
            f"{op}: padding must be one of {', '.join(PADDINGS)}, received {padding!r}."
        )
    return padding.upper()


def spatial_rank(op: str, x: Any, arg: str) -> int:
    """The number of spatial axes of a batched, channelled input (1, 2 or 3)."""
    rank = len(x.shape) - 2
    if rank not in (1, 2, 3):
        raise ShapeError(
            f"{op}, argument {arg!r}: expected rank 3, 4 or 5 "
            f"(batch, spatial..., channels), received shape {tuple(x.shape)}."
        )
    return rank


def window_dims(window: tuple[int, ...], data_format: str) -> tuple[int, ...]:
    """A per-spatial-axis tuple extended with 1s over the batch and channel axes."""
    if data_format == "channels_last":
        return (1, *window, 1)
    return (1, 1, *window)
