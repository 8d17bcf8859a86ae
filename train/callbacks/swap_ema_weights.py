"""Evaluating with the optimizer's moving average of the weights (`use_ema`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from train.callbacks._train_state import live_train_state
from train.callbacks.base import Callback
from train.optimizers.ema import ema_of, with_ema


class SwapEMAWeights(Callback):
    """Puts the optimizer's moving average of the weights in the model for
    evaluation, and the trained weights back after it (Keras's callback).

    With `swap_on_epoch`, the average is also in the model for the epoch-end
    hooks (a `ModelCheckpoint` after this callback saves it) and swapped back
    when the next epoch begins; after the last epoch the average and the
    weights are the same. The optimizer must be built with `use_ema=True`.

    Args:
      swap_on_epoch: whether to swap for the epoch-end hooks too.

    Example:
      >>> SwapEMAWeights(swap_on_epoch=True).swap_on_epoch
      True
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._average_in_model = False

    def _swap(self, to_average: bool) -> None:
        if self._average_in_model == to_average:
            return
        ts = live_train_state(self.model, "SwapEMAWeights")
        ema = ema_of(ts.opt_state)
        if ema is None:
            raise ValueError(
                "SwapEMAWeights: the optimizer keeps no moving average of the "
                "weights. Hint: build it with use_ema=True."
            )
        weights = _copy(ts.params)  # what was handed out stays valid
        self.model.train_state = ts._replace(
            params=ema, opt_state=with_ema(ts.opt_state, weights)
        )
        self._average_in_model = to_average

    def _finalize(self) -> None:
        """The average becomes the weights (now in the model) themselves."""
        ts = live_train_state(self.model, "SwapEMAWeights")
        state = with_ema(ts.opt_state, _copy(ts.params))
        self.model.train_state = ts._replace(opt_state=state)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self.swap_on_epoch:
            self._swap(to_average=False)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self.swap_on_epoch:
            self._swap(to_average=True)
            if epoch == self.params.get("epochs", 0) - 1:
                self._finalize()

    def on_test_begin(self, logs: Any = None) -> None:
        self._swap(to_average=True)

    def on_test_end(self, logs: Any = None) -> None:
        self._swap(to_average=False)

    def on_predict_begin(self, logs: Any = None) -> None:
        self._swap(to_average=True)

    def on_predict_end(self, logs: Any = None) -> None:
        self._swap(to_average=False)


def _copy(tree: Any) -> Any:
    return jax.tree.map(jnp.copy, tree)
