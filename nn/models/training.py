"""Keras's training grammar on `nn.Model`: compile, fit, evaluate, predict.

The methods delegate to `train.Trainer`, which trains the model's pure
`apply`; the model only holds the trainer and its own `variables`. The
arguments are Keras 3's, with Keras's meaning; `fit` takes one of ours,
`seed`, to fix shuffling, dropout and initialization.

Three steps may be overridden, each pure and jitted by the loop:
`train_step(train_state, batch) -> (train_state, logs)`,
`test_step(train_state, batch) -> (train_state, logs)` (evaluation and
validation) and `predict_step(variables, x) -> y_pred`. A step whose first
argument is named `state` is written in Keras's JAX layout instead
(`train_step(self, state, data) -> (logs, state)` over lists, with
`stateless_call` and `optimizer.stateless_apply`; see
`nn.models.keras_state`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nn.layers import weights_surface
from nn.models import keras_state
from train import steps as steps_lib
from train.compiling import StepKind
from train.fit import Trainer
from train.program import Program
from train.stateless_metric import CompiledMetrics


def _overridden(model: Any, name: str) -> Any:
    """The model's own `name` step when its class overrides it, else None."""
    if getattr(type(model), name) is getattr(TrainingMixin, name):
        return None
    return getattr(model, name)


def _masked_apply(model: Any) -> Any:
    """The model's `apply_with_masks` (Sequential and functional models),
    unless its class overrides `apply` below it; else None."""
    owner = next(
        (c for c in type(model).__mro__ if "apply_with_masks" in vars(c)), None
    )
    if owner is None or type(model).apply is not owner.apply:
        return None
    return model.apply_with_masks


class TrainingMixin:
    """`compile / fit / evaluate / predict`, the one-batch calls, and the
    overridable pure steps."""

    trainer: Trainer | None = None

    @property
    def stop_training(self) -> bool:
        """Set it to True (from a callback) to end `fit` after this step."""
        if self.trainer is not None:
            return self.trainer.context.stop_training
        return self.__dict__.get("_stop_training", False)

    @stop_training.setter
    def stop_training(self, stop: bool) -> None:
        if self.trainer is not None:
            self.trainer.context.stop_training = stop
        else:
            self.__dict__["_stop_training"] = stop

    def resume_training_at(self, epoch: int, batch: int = 0) -> None:
        """From a callback's `on_train_begin`: `fit` goes on at epoch `epoch`
        after its first `batch` batches (see `train.RunContext`)."""
        if self.trainer is None:
            raise ValueError("resume_training_at: compile the model first.")
        self.trainer.context.resume_training_at(epoch, batch)

    @property
    def train_state(self) -> Any:
        """The trainer's `TrainState` (see `train.RunContext.train_state`);
        None before the model is compiled and trained."""
        return None if self.trainer is None else self.trainer.context.train_state

    @train_state.setter
    def train_state(self, ts: Any) -> None:
        if self.trainer is None:
            raise ValueError("train_state: compile the model first.")
        self.trainer.context.train_state = ts

    def program(self) -> Program:
        """The model's pure functions as the trainer runs them: `apply`,
        `init`, `penalty`, and the steps this class overrides."""
        steps = {name: _overridden(self, name)
                 for name in ("train_step", "test_step", "predict_step")}  # fmt: skip
        return Program(
            apply=self.apply,
            init=self.init,
            penalty=self.penalty,
            apply_with_masks=_masked_apply(self),
            **keras_state.program_steps(self, steps),
        )

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: bool | str = "auto",
        auto_scale_loss: bool = True,
        *,
        distribution: Any = None,
    ) -> None:
        """Fixes the loss, optimizer and metrics that `fit` and `evaluate` use.

        Args:
          optimizer: a name (`"adam"`) or a `train.optimizers` object.
          loss: a name, a `train.losses` object or a function
            `(y_true, y_pred, sample_weight) -> scalar`; for a model of
            several outputs, one for all, a list in output order or a dict
            by output name (see `train.outputs`).
          loss_weights: a number, or a list or dict per output: each output's
            loss is scaled by its weight in the total.
          metrics: names or `train.metrics` objects, unweighted (they ignore
            `sample_weight`); per output, a list of lists or a dict.
          weighted_metrics: metrics that take `sample_weight` into account.
          run_eagerly: run the steps un-jitted (debugging); so does
            `jit_compile=False`.
          steps_per_execution: steps fused into one compiled `lax.scan`.
          auto_scale_loss: dynamic loss scaling under `mixed_float16`.
          distribution: a `train.distribute` one to shard `fit`, `evaluate`
            and `predict` over devices; without it, an enclosing
            `distribution.scope()` does.

        Example:
          >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
          >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
          >>> model.optimizer, model.loss
          (<Adam learning_rate=0.001>, 'mse')
        """
        variables = self.variables  # from here on, the new trainer holds them
        trainer = Trainer(
            self.program(), loss, optimizer, metrics,
            loss_weights=loss_weights, weighted_metrics=weighted_metrics,
            output_names=self._output_names(),
            steps_per_execution=steps_per_execution, model=self,
            distribution=distribution, run_eagerly=run_eagerly,
            jit_compile=jit_compile, auto_scale_loss=auto_scale_loss,
            trainable_mask=_frozen_mask(self),
            constraint_fn=self.constrain if self.has_constraints() else None,
        )  # fmt: skip
        trainer.context.variables = variables
        self.trainer, self.__dict__["_variables"] = trainer, None
        self.optimizer, self.loss = self.trainer.optimizer, loss  # as Keras keeps them
        self._compile_args = {
            "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
            "jit_compile": jit_compile, "auto_scale_loss": auto_scale_loss,
        }  # fmt: skip

    def _output_names(self) -> list[str] | None:
        """The outputs' names when the model has several (functional models
        name theirs), else None."""
        names = getattr(self, "output_names", None)
        return list(names) if names and len(names) > 1 else None

    def _compiled(self, what: str) -> Trainer:
        if what != "fit":  # `fit` initializes from its own seed when unbuilt
            weights_surface.home(self)  # a model with known inputs builds itself
        if self.trainer is None:
            raise ValueError(
                f"{what}: the model is not compiled. Hint: "
                "model.compile(optimizer='adam', loss=..., metrics=[...]) first."
            )
        return self.trainer

    def _inference_trainer(self) -> Trainer:
        """The compiled trainer, or (predicting needs no loss) a bare one kept
        on the model so that its compiled step is reused."""
        weights_surface.home(self)  # a model with known inputs builds itself
        return self._trainer_or_bare()

    def _trainer_or_bare(self) -> Trainer:
        if self.trainer is not None:
            return self.trainer
        if "_bare_trainer" not in vars(self):
            self._bare_trainer = Trainer(self.program(), "mse", model=self)
        return self._bare_trainer

    # -- the pure steps ---------------------------------------------------------

    def train_step(self, train_state: Any, batch: Any) -> tuple[Any, dict[str, Any]]:
        """One pure training step; override it to change what `fit` does.

        The default is `train.make_train_step` over this model's `apply`, loss,
        optimizer, metrics and regularizer penalties. An override must stay
        pure: `(TrainState, batch) -> (TrainState, logs)`.
        """
        step = self._compiled("train_step").default_step(StepKind.TRAIN)
        return step(train_state, batch)

    def test_step(self, train_state: Any, batch: Any) -> tuple[Any, dict[str, Any]]:
        """One pure evaluation step (`evaluate`, validation); override it like
        `train_step`: `(TrainState, batch) -> (TrainState, logs)`, updating only
        `train_state.metrics`."""
        step = self._compiled("test_step").default_step(StepKind.EVAL)
        return step(train_state, batch)

    def predict_step(self, variables: Any, x: Any) -> Any:
        """One pure prediction step, `(variables, x) -> y_pred`; override it to
        change what `predict` returns (e.g. probabilities instead of logits)."""
        step = self._trainer_or_bare().default_step(StepKind.PREDICT)
        return step(variables, x)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
        *,
        params: Any = None,
    ) -> Any:
        """The compiled loss of `y_pred` against `y`, for a custom `train_step`.

        Pure, unlike Keras's: the regularizer penalties need the parameters,
        so they are added only when `params` is given.
        """
        del x, training  # Keras's signature; the loss reads neither
        trainer = self._compiled("compute_loss")
        if trainer.loss is None:
            raise ValueError("compute_loss: no loss was given to compile.")
        loss = trainer.loss(y, y_pred, sample_weight)
        return loss if params is None else loss + self.penalty(params)

    def compute_metrics(
        self,
        x: Any,
        y: Any,
        y_pred: Any,
        sample_weight: Any = None,
        *,
        state: Mapping[str, Any],
        loss: Any = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Updated metric states and their results, for a custom `train_step`.

        Pure, unlike Keras's: it takes the metric states (`train_state.metrics`)
        and returns `(new_states, logs)`; the running loss is updated when
        `loss` is given.
        """
        del x
        metrics = self._compiled("compute_metrics").metrics
        new = steps_lib.update_metrics(state, metrics, loss, y, y_pred, sample_weight)
        return new, steps_lib.results(metrics, new)

    @property
    def metrics(self) -> list[Any]:
        """Keras's list: the running loss, then one entry for every compiled
        metric (`compile_metrics`, whose result is a dict); each has Keras's
        stateless methods (see `train.stateless_metric`). Override it to
        list metrics of the model's own, as Keras's guides do."""
        if self.trainer is None:
            return []
        compiled = self.trainer.metrics
        return [steps_lib.LOSS, *([CompiledMetrics(compiled)] if compiled else [])]

    @property
    def metrics_names(self) -> list[str]:
        """The names of what `evaluate` returns, in its order: `["loss",
        <metric names>...]` (Keras 3 names `compile_metrics` instead of the
        metrics it holds)."""
        names: list[str] = []
        for metric in self.metrics:
            if isinstance(metric, CompiledMetrics):
                names.extend(metric.metrics)
            else:
                names.append(metric.name)
        return names

    def stateless_call(
        self,
        trainable_variables: Any,
        non_trainable_variables: Any,
        *args: Any,
        return_losses: bool = False,
        **kwargs: Any,
    ) -> Any:
        """The forward pass over Keras's lists, pure (Keras's JAX layout).

        Args:
          trainable_variables: arrays in the order of `trainable_variables`.
          non_trainable_variables: arrays in the order of
            `non_trainable_variables`.
          *args, **kwargs: the inputs and `call`'s keywords (`training=`).
          return_losses: also return the losses `add_loss` added.

        Returns:
          `(outputs, non_trainable_variables)`, the latter updated (e.g.
          BatchNormalization's statistics); with `return_losses`, the losses
          third. Dropout draws from the step's key inside `fit`.
        """
        return keras_state.stateless_call(
            self, trainable_variables, non_trainable_variables, *args,
            return_losses=return_losses, **kwargs,
        )  # fmt: skip

    def reset_metrics(self) -> None:
        """Starts the metrics of `train_on_batch` / `test_on_batch` afresh."""
        if self.trainer is not None:
            self.trainer.reset_metrics()

    # -- running over data ----------------------------------------------------------

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Iterable[Any] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: Mapping[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: Any = 1,
        *,
        seed: int | None = None,
    ) -> Any:
        """Trains the model; returns its `History` (see `train.Trainer.fit`)."""
        self.history = self._compiled("fit").fit(
            x, y, batch_size, epochs, verbose, callbacks, validation_split,
            validation_data, shuffle, class_weight, sample_weight, initial_epoch,
            steps_per_epoch, validation_steps, validation_batch_size,
            validation_freq, seed=seed,
        )  # fmt: skip
        return self.history

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Iterable[Any] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss and metrics in inference mode (see `train.Trainer.evaluate`)."""
        return self._compiled("evaluate").evaluate(
            x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict
        )

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Iterable[Any] | None = None,
    ) -> Any:
        """Outputs for `x`, batch by batch (see `train.Trainer.predict`)."""
        trainer = self._inference_trainer()
        return trainer.predict(x, batch_size, verbose, steps, callbacks)

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Mapping[int, float] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """One training step on one batch (see `train.Trainer.train_on_batch`)."""
        return self._compiled("train_on_batch").train_on_batch(
            x, y, sample_weight, class_weight, return_dict
        )

    def test_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss and metrics of one batch; metrics accumulate until
        `reset_metrics()`."""
        return self._compiled("test_on_batch").test_on_batch(
            x, y, sample_weight, return_dict
        )

    def predict_on_batch(self, x: Any) -> Any:
        """The outputs for one batch."""
        return self._inference_trainer().predict_on_batch(x)


def _frozen_mask(model: Any) -> Any:
    """The optimizer mask for the layers frozen now (`trainable = False`), as
    Keras fixes them when the model is compiled; None when none is."""
    prefixes = weights_surface.frozen_prefixes(model)
    return weights_surface.trainable_mask(prefixes) if prefixes else None
