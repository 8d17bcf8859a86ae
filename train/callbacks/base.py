"""The callback protocol of the fit loop, with Keras's hook names.

A callback sees the training run through `self.model`, the object the loop
was started for (an `nn.Model`, or the `Trainer` itself). Its attributes
read and write the trainer's run context (`train.RunContext`), the one owner
of the run's state, so a callback may change the run between steps:

* `model.variables`: `{"params", "state"}` as of the last finished step;
  assigning new variables makes the next step start from them. Variables a
  callback reads stay valid after later steps (they are not donated).
* `model.train_state`: the whole `TrainState` (for checkpoints).
* `model.optimizer.learning_rate`: reading gives the current rate; assigning
  a float makes the next step use it. (It may be a schedule, a function of
  the step, which cannot be replaced mid-run.)
* `model.stop_training`: set it to True to end training after this step.
* `model.resume_training_at(epoch, batch)`: from `on_train_begin`, make the
  run go on at that epoch after that many batches (BackupAndRestore).
* `model.save(path)` / `model.save_weights(path)`: persist the model.

`logs` are dicts of Python floats: `{"loss": ..., "<metric>": ...}` and, at
epoch end, `val_`-prefixed entries when there is validation data. With
`steps_per_execution=k`, the batch hooks run once per k fused steps, with the
index of the last batch of the k.
"""

from __future__ import annotations

from typing import Any

HOOKS = (
    "on_train_begin", "on_train_end",
    "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end",
    "on_test_begin", "on_test_end",
    "on_test_batch_begin", "on_test_batch_end",
    "on_predict_begin", "on_predict_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)  # fmt: skip


class Callback:
    """Base class: every hook does nothing until overridden.

    Attributes:
      model: the model being trained (set by the loop before `on_train_begin`).
      params: `{"epochs": int, "steps": int | None, "verbose": int}`.

    Example:
      >>> class PrintLoss(Callback):
      ...     def on_epoch_end(self, epoch, logs=None):
      ...         print(f"epoch {epoch}: {logs['loss']:.2f}")
      >>> PrintLoss().on_epoch_end(0, {"loss": 0.5})
      epoch 0: 0.50
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def implements_train_batch_hooks(self) -> bool:
        """Whether the loop must call the per-batch training hooks (and so turn
        each step's logs into Python floats, a host sync). True when either
        hook is overridden, on the class or on the instance; a callback whose
        batch hooks do nothing in its current mode may answer False."""
        return self.overrides("on_train_batch_begin", "on_train_batch_end")

    def implements_batch_hooks(self, mode: str) -> bool:
        """Whether the `mode` ("train", "test" or "predict") batch hooks must be
        called (each call turns a step's logs into Python floats)."""
        if mode == "train":
            return self.implements_train_batch_hooks()
        return self.overrides(f"on_{mode}_batch_begin", f"on_{mode}_batch_end")

    def overrides(self, *hooks: str) -> bool:
        """Whether any of `hooks` is overridden, on the class or the instance."""
        return any(
            hook in vars(self)
            or getattr(type(self), hook) is not getattr(Callback, hook)
            for hook in hooks
        )

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...
