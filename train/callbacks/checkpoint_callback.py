"""Saving the live `TrainState` through a `train.checkpoint.CheckpointManager`."""

from __future__ import annotations

from train.callbacks._train_state import live_train_state
from train.callbacks.base import Callback
from train.checkpoint import CheckpointManager


class CheckpointCallback(Callback):
    """Saves the live `TrainState` through `manager` during `fit`.

    With an epoch manager it saves after every `save_every`-th epoch: the
    state after epoch index `epoch` is checkpoint `epoch + 1`, when that is a
    multiple of `save_every`. With a step manager it saves at the end of a
    batch whenever the step count `int(train_state.step)` has passed a
    multiple of `save_every` since the previous batch (with
    `steps_per_execution=k` the hooks see every k-th step, so a save may land
    up to k - 1 steps after the multiple), as checkpoint `step`. The epoch's
    or batch's logs go with it (for `best_metric`). At train end it waits
    for pending writes.

    The state comes from `self.model.trainer.train_state` (an `nn.Model`) or
    `self.model.train_state` (a `Trainer` used directly): the fit loop keeps
    `train_state` live, as of the last finished step, while callbacks run.

    Args:
      manager: the `CheckpointManager` to save through.
      save_every: epochs or steps (the manager's unit) between two saves.

    Raises:
      ValueError: if `save_every` is not a positive int.

    Example:
      >>> import tempfile
      >>> import train
      >>> def apply(v, x, training=False, rng=None):
      ...     return x @ v["params"]["w"], v["state"]
      >>> trainer = train.Trainer(apply, "mse", train.optimizers.SGD(0.1))
      >>> trainer.variables = {"params": {"w": jnp.zeros((2, 1))}, "state": {}}
      >>> x = np.ones((8, 2), "float32")  # 4 batches of 2: 4 steps an epoch
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     epochs = CheckpointManager(tmp, max_to_keep=2)
      ...     steps = CheckpointManager(tmp, unit="step")
      ...     _ = trainer.fit(x, x[:, :1], batch_size=2, epochs=3, verbose=0,
      ...                     seed=0, callbacks=[CheckpointCallback(epochs),
      ...                                        CheckpointCallback(steps, 5)])
      ...     print(epochs.checkpoints, steps.checkpoints)
      ...     epochs.close(); steps.close()
      [2, 3] [5, 10]
    """

    def __init__(self, manager: CheckpointManager, save_every: int = 1) -> None:
        super().__init__()
        if not isinstance(save_every, int) or save_every < 1:
            raise ValueError(
                "CheckpointCallback: expected save_every a positive int. "
                f"Received: save_every={save_every!r}."
            )
        self.manager = manager
        self.save_every = save_every
        self._step = 0

    def implements_train_batch_hooks(self) -> bool:
        return self.manager.unit == "step"

    def on_train_begin(self, logs=None):
        if self.manager.unit == "step":
            ts = live_train_state(self.model, "CheckpointCallback")
            self._step = int(ts.step)

    def on_train_batch_end(self, batch, logs=None):
        if self.manager.unit != "step":
            return
        ts = live_train_state(self.model, "CheckpointCallback")
        step, previous = int(ts.step), self._step
        self._step = step
        if step // self.save_every > previous // self.save_every:
            self.manager.save(step, ts, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.manager.unit == "epoch" and (epoch + 1) % self.save_every == 0:
            ts = live_train_state(self.model, "CheckpointCallback")
            self.manager.save(epoch + 1, ts, logs)

    def on_train_end(self, logs=None):
        self.manager.wait()
