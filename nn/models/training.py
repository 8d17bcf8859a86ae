"""Keras's training grammar on `nn.Model`: compile, fit, evaluate, predict.

The methods delegate to `train.Trainer`, which trains the model's pure
`apply`; the model only holds the trainer and its own `variables`.
"""

from __future__ import annotations

from typing import Any

from nn.models import weights
from train.fit import Trainer
from train.steps import make_train_step


class TrainingMixin:
    """`compile / fit / evaluate / predict` and an overridable pure `train_step`."""

    trainer: Trainer | None = None
    stop_training: bool = False

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = (),
        steps_per_execution: int = 1,
        distribution: Any = None,
    ) -> None:
        """Fixes the loss, optimizer and metrics that `fit` and `evaluate` use.

        `distribution` (a `train.distribute` one) shards `fit`, `evaluate` and
        `predict` over devices; without it, an enclosing
        `distribution.scope()` does.

        Example:
          >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
          >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
          >>> model.optimizer
          <Adam learning_rate=0.001>
        """
        step = None
        if type(self).train_step is not TrainingMixin.train_step:
            step = self.train_step
        self.trainer = Trainer(
            self.apply, loss, optimizer, metrics,
            init_fn=self.init, penalty_fn=self.penalty,
            steps_per_execution=steps_per_execution, model=self, train_step=step,
            distribution=distribution,
        )  # fmt: skip
        self.optimizer = self.trainer.optimizer

    def _compiled(self, what: str) -> Trainer:
        if self.trainer is None:
            raise ValueError(
                f"{what}: the model is not compiled. Hint: "
                "model.compile(optimizer='adam', loss=..., metrics=[...]) first."
            )
        return self.trainer

    def train_step(self, train_state: Any, batch: Any) -> tuple[Any, dict[str, Any]]:
        """One pure training step; override it to change what `fit` does.

        The default is `train.make_train_step` over this model's `apply`, loss,
        optimizer, metrics and regularizer penalties. An override must stay
        pure: `(TrainState, batch) -> (TrainState, logs)`.
        """
        trainer = self._compiled("train_step")
        step = make_train_step(
            self.apply, trainer.loss, trainer.tx, trainer.metrics,
            penalty_fn=self.penalty, compute_dtype=trainer.compute_dtype,
        )  # fmt: skip
        return step(train_state, batch)

    def fit(self, x: Any, y: Any = None, **kwargs: Any) -> Any:
        """Trains the model (see `train.Trainer.fit` for the arguments)."""
        self.history = self._compiled("fit").fit(x, y, **kwargs)
        return self.history

    def evaluate(self, x: Any, y: Any = None, **kwargs: Any) -> Any:
        """Loss and metrics in inference mode (see `train.Trainer.evaluate`)."""
        return self._compiled("evaluate").evaluate(x, y, **kwargs)

    def predict(self, x: Any, **kwargs: Any) -> Any:
        """Outputs for `x`, batch by batch (see `train.Trainer.predict`)."""
        if self.trainer is None:  # predicting needs no loss: use a bare trainer
            return Trainer(self.apply, "mse", model=self).predict(x, **kwargs)
        return self.trainer.predict(x, **kwargs)

    def save_weights(self, path: Any) -> None:
        """Writes the held variables to one `.npz` file, atomically."""
        if self.variables is None:
            raise ValueError("save_weights: the model holds no variables yet.")
        weights.save_weights(self.variables, path)

    def load_weights(self, path: Any, skip_mismatch: bool = False) -> list[str]:
        """Reads variables saved by `save_weights` into the model, by name
        (build the model first).

        Args:
          path: a file written by `save_weights`.
          skip_mismatch: load what fits and skip the rest (missing, extra or
            mis-shaped paths) instead of raising.

        Returns:
          What was skipped, one line per path (empty when everything fit).

        Raises:
          VariablesError: something does not fit and `skip_mismatch` is False.

        Example:
          >>> import os, tempfile
          >>> model = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
          >>> _ = model.build((None, 3), seed=0)
          >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.npz")
          >>> model.save_weights(path); model.load_weights(path)
          []
        """
        loaded = weights.load_weights(path)
        if self.variables is None:
            raise ValueError(
                "load_weights: build the model first (model.build(shape))."
            )
        if not skip_mismatch:
            weights.check_same_layout(
                type(self).__name__, self.variables, loaded,
                hint="load_weights(path, skip_mismatch=True) loads what fits.",
            )  # fmt: skip
        problems = weights.layout_problems(self.variables, loaded)
        self.variables = weights.merge_fitting(self.variables, loaded)
        return problems

    def save(self, path: Any) -> None:
        """Saves architecture, weights and optimizer state in one archive (see
        `nn.archive.save_model`); `nn.load_model(path)` brings it back."""
        from nn.archive import save_model  # nn.archive imports nn's models

        save_model(self, path)
