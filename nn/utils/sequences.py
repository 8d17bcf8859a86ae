"""`pad_sequences`: lists of sequences as one padded array, as in Keras."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_ENDS = ("pre", "post")


def pad_sequences(
    sequences: Sequence[Any],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Sequences of different lengths as one `(count, maxlen, ...)` array.

    Args:
      sequences: a list of sequences (lists or arrays; their items may be
        arrays of one shared shape).
      maxlen: the length of every row; defaults to the longest sequence.
      dtype: of the result (`"int32"`, `"float32"`, `"str"`...).
      padding: `"pre"` pads before each sequence, `"post"` after.
      truncating: `"pre"` drops the first steps of a longer sequence,
        `"post"` its last ones.
      value: what padding is made of.

    Raises:
      ValueError: an unknown `padding` or `truncating`, items of another
        shape than the first sequence's, or a number to pad strings with.

    Example:
      >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
      [[2, 3], [0, 4]]
      >>> pad_sequences([[1, 2, 3], [4]], padding="post", truncating="post").tolist()
      [[1, 2, 3], [4, 0, 0]]
    """
    for name, end in (("padding", padding), ("truncating", truncating)):
        if end not in _ENDS:
            raise ValueError(
                f"pad_sequences: {name} must be 'pre' or 'post', received {end!r}."
            )
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "pad_sequences: sequences must be a list of sequences, received "
            f"{type(sequences).__name__}."
        )
    lengths = [len(s) for s in sequences]
    maxlen = max(lengths, default=0) if maxlen is None else int(maxlen)
    item_shape = next((np.asarray(s).shape[1:] for s in sequences if len(s)), ())
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(
        np.dtype(dtype), np.object_
    )
    if is_text and not isinstance(value, str) and np.dtype(dtype) != object:
        raise ValueError(
            f"pad_sequences: dtype {dtype!r} holds text, so value must be a "
            f"string; received {value!r}. Hint: value='' or dtype=object."
        )
    out = np.full((len(sequences), maxlen, *item_shape), value, dtype=dtype)
    for row, sequence in enumerate(sequences):
        if not len(sequence) or not maxlen:
            continue
        steps = np.asarray(sequence, dtype=dtype)
        steps = steps[-maxlen:] if truncating == "pre" else steps[:maxlen]
        if steps.shape[1:] != item_shape:
            raise ValueError(
                f"pad_sequences: sequence {row} has items of shape {steps.shape[1:]}, "
                f"the first sequence's are {item_shape}. Hint: every item needs "
                "the same shape."
            )
        if padding == "post":
            out[row, : len(steps)] = steps
        else:
            out[row, maxlen - len(steps) :] = steps
    return out
