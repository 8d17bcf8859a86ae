"""The live `TrainState` a checkpointing callback saves."""

from __future__ import annotations

from typing import Any


def live_train_state(model: Any, owner: str) -> Any:
    """`model.trainer.train_state` (an `nn.Model`) or `model.train_state` (a
    `Trainer` used directly): the state as of the last finished step.

    Its optimizer and metric buffers are donated to the next step, so whoever
    keeps them past the hook must copy them (orbax's save copies to host
    before it returns).

    Raises:
      ValueError: if neither holds a `train_state`; the message names `owner`.
    """
    for holder in (getattr(model, "trainer", None), model):
        ts = getattr(holder, "train_state", None)
        if ts is not None:
            return ts
    raise ValueError(
        f"{owner}: neither the model nor its trainer has a train_state to save."
    )
