"""Keras's `OrbaxCheckpoint`: ModelCheckpoint's options, saved with orbax."""

from __future__ import annotations

import os
from typing import Any

from train.callbacks.model_checkpoint import ModelCheckpoint
from train.checkpoint import CheckpointManager


class OrbaxCheckpoint(ModelCheckpoint):
    """Saves the live `TrainState` under `directory` with orbax, at each epoch
    end or every `save_freq` batches, as `ModelCheckpoint` decides.

    The checkpoints are a `train.checkpoint.CheckpointManager`'s (the
    `manager` attribute): `epoch_<n>` after `n` epochs completed, or
    `step_<n>` at optimizer step `n` with `save_freq=N`, the newest
    `max_to_keep` kept; restore one with `manager.restore(template)` into
    `model.train_state`. Keras numbers epoch checkpoints from 0; here `n`
    counts epochs completed, so `fit(..., initial_epoch=n)` resumes.

    Args:
      directory: where the checkpoints live.
      monitor, verbose, save_best_only, mode, save_freq,
        initial_value_threshold: as `ModelCheckpoint`'s.
      max_to_keep: how many checkpoints to keep (None: all).
      save_on_background: write in a background thread (the arrays are
        copied to host first); training end waits for the writes.
      save_weights_only: save only the weights (`params`, `state`), with an
        empty optimizer state and no metrics; restore such a checkpoint with
        `manager.restore(template._replace(opt_state=(), metrics={}))`.

    Example:
      >>> import tempfile
      >>> import train
      >>> def apply(v, x, training=False, rng=None):
      ...     return x @ v["params"]["w"], v["state"]
      >>> trainer = train.Trainer(apply, "mse", train.optimizers.SGD(0.1))
      >>> trainer.variables = {"params": {"w": jnp.zeros((2, 1))}, "state": {}}
      >>> x = np.ones((8, 2), "float32")
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     keep = OrbaxCheckpoint(tmp, max_to_keep=2)
      ...     _ = trainer.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0,
      ...                     callbacks=[keep])
      ...     print(sorted(os.listdir(tmp)), keep.manager.latest)
      ['epoch_2', 'epoch_3'] 3
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
        max_to_keep: int | None = 1,
        save_on_background: bool = True,
        save_weights_only: bool = False,
    ) -> None:
        manager = CheckpointManager(
            directory,
            unit="epoch" if save_freq == "epoch" else "step",
            max_to_keep=max_to_keep,
            async_save=save_on_background,
        )
        super().__init__(
            monitor=monitor, verbose=verbose, save_best_only=save_best_only,
            mode=mode, save_freq=save_freq,
            initial_value_threshold=initial_value_threshold, manager=manager,
        )  # fmt: skip
        self.directory = os.fspath(directory)
        self.max_to_keep = max_to_keep
        self.save_on_background = save_on_background
        self.save_weights_only = save_weights_only

    def _state_to_save(self) -> Any:
        ts = super()._state_to_save()
        return ts._replace(opt_state=(), metrics={}) if self.save_weights_only else ts
