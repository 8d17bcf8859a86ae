"""`fit`'s validation: after which epochs it runs, and what `validation_data` holds.

Example:
  >>> [validates(epoch, 2) for epoch in range(4)]
  [False, True, False, True]
  >>> validates(2, [1, 3])  # the third epoch, counted from 1
  True
  >>> validation_parts(("x", "y"))
  ('x', 'y', None)
"""

from __future__ import annotations

from typing import Any


def validates(epoch: int, validation_freq: Any) -> bool:
    """Keras's rule: after epoch `e` (from 0) when `(e + 1) % freq == 0`, or
    when `e + 1` is in a list of epochs."""
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(
                f"fit: validation_freq must be >= 1; received {validation_freq}."
            )
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def validation_parts(data: Any) -> tuple[Any, Any, Any]:
    """`(x, y, sample_weight)` of `validation_data`: a tuple of 2 or 3, or data
    that yields its own batches."""
    if isinstance(data, tuple):
        if len(data) not in (2, 3):
            raise ValueError(
                "fit: validation_data must be (x_val, y_val), (x_val, y_val, "
                f"val_sample_weight) or a dataset; received a tuple of {len(data)}."
            )
        return (*data, None)[:3]
    return data, None, None
