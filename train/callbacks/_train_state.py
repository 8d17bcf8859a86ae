"""The live `TrainState` a checkpointing callback saves."""

from __future__ import annotations

from typing import Any


def live_train_state(model: Any, owner: str) -> Any:
    """`model.train_state`: the run's state as of the last finished step (an
    `nn.Model` and a `Trainer` both read it from their run context).

    Its optimizer and metric buffers are donated to the next step, so whoever
    keeps them past the hook must copy them (orbax's save copies to host
    before it returns).

    Raises:
      ValueError: if the model has no train state yet; the message names `owner`.
    """
    ts = getattr(model, "train_state", None)
    if ts is None:
        raise ValueError(
            f"{owner}: the model has no train_state to save (compile and fit it)."
        )
    return ts
