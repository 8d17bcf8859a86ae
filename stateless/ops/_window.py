"""Shape helpers shared by the sliding-window ops (convolution, pooling)."""

from __future__ import annotations

from typing import Any

from stateless.errors import ShapeError
from stateless.window_args import check_data_format, check_padding


def lax_padding(op: str, padding: str, data_format: str) -> str:
    """Checks `data_format` and `padding`; returns the padding as `lax` spells it."""
    check_data_format(op, data_format)
    return check_padding(op, padding).upper()


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
