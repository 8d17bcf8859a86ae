"""The fit loop: Keras's `fit / evaluate / predict` for any pure apply function.

`Trainer` holds what `compile` fixes (loss, optimizer, metrics) and runs the
jitted pure steps of `train.steps` over the data, epoch by epoch, with
validation and callbacks. It trains anything with
`apply(variables, x, training, rng) -> (y_pred, new_state)`; `nn.Model`
delegates to it, and a hand-written function trains the same way.

Live state: the loop holds the only `TrainState`. At every callback hook
(batch hooks: of a callback that reads the model, see
`Callback.reads_model_per_batch`) it publishes the current variables on the
model (`model.variables`) and reads them back afterwards, with the
optimizer's learning rate, so a callback that assigns new variables or a new
rate changes the very next step. The step donates every buffer but the
variables it has published, which callbacks may keep (EarlyStopping keeps
the best ones): see `train._donation`. When training stops on an exception
(a KeyboardInterrupt too), the model is left with the last finished step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import numpy as np

from stateless import config, mixed_precision, random
from train import backends, distribute
from train import data as data_lib
from train import losses as losses_lib
from train import metrics as metrics_lib
from train import optimizers as optimizers_lib
from train import steps as steps_lib
from train._epochs import EpochStream, executions
from train._inference import InferenceMixin, adapt, flat_logs, verbosity
from train.callbacks import Callback, CallbackList, History, ProgbarLogger
from train.compiling import StepKind, compile_step
from train.freezing import freeze
from train.precision import dynamic_loss_scale
from train.projection import project


def _class_weights(batch: tuple[Any, ...], class_weight: Mapping[int, float]) -> tuple:
    """`(x, y, w)` with `w` scaled by the weight of each example's class."""
    x, y, w = steps_lib.unpack_batch(batch)
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(-1)
    scale = np.vectorize(lambda c: class_weight.get(int(c), 1.0))(
        labels.reshape(len(labels), -1)[:, 0]
    )
    w = scale.astype(np.float32) if w is None else np.asarray(w) * scale
    return x, y, w


class Trainer(InferenceMixin):
    """Compiled training for a pure apply function; the engine behind `Model.fit`.

    Args:
      apply_fn: `apply(variables, x, training=False, rng=None) -> (y_pred, state)`.
      loss: a loss name or object (see `train.losses`); None when the model
        adds its own with `add_loss`, or with a
        custom `train_step` (then `evaluate` needs a custom `eval_step`).
      optimizer: an optimizer name or object (see `train.optimizers`).
      metrics: metric names or objects (see `train.metrics`).
      init_fn: `init(key, x) -> variables`, used when `model.variables` is None.
      penalty_fn: `params -> scalar` added to the loss (regularizers).
      steps_per_execution: steps fused into one compiled `lax.scan`.
      model: the object callbacks see as `model` (default: the trainer); it
        must have a `variables` attribute.
      train_step: a pure `(TrainState, batch) -> (TrainState, logs)` to use
        instead of the one built from the loss, optimizer and metrics.
      eval_step: likewise for evaluation (`evaluate`, validation).
      predict_step: a pure `(variables, x) -> y_pred` for `predict`.
      distribution: a `train.distribute` distribution to run on (default: the
        one of an enclosing `distribution.scope()`, else one device).
      run_eagerly: run the pure steps un-jitted, op by op (for debugging, with
        `print` and breakpoints inside the step); `jit_compile=False` too.
      jit_compile: True or "auto" compile the steps (the default).
      auto_scale_loss: under the `mixed_float16` policy, scale the loss
        dynamically (True, Keras's default) or not.
      constraint_fn: `params -> params`, the weight constraints applied after
        each update (see `train.projection`), or None.
      trainable_mask: `params -> pytree of bools`, False where a parameter is
        frozen (see `train.freezing`); None trains everything.
    """

    def __init__(
        self,
        apply_fn: Callable[..., Any],
        loss: Any,
        optimizer: Any = "rmsprop",
        metrics: Iterable[Any] = (),
        *,
        init_fn: Callable[..., Any] | None = None,
        penalty_fn: Callable[[Any], Any] | None = None,
        steps_per_execution: int = 1,
        model: Any = None,
        train_step: Callable[..., Any] | None = None,
        eval_step: Callable[..., Any] | None = None,
        predict_step: Callable[..., Any] | None = None,
        distribution: distribute.Distribution | None = None,
        run_eagerly: bool = False,
        jit_compile: bool | str = "auto",
        auto_scale_loss: bool = True,
        trainable_mask: Callable[[Any], Any] | None = None,
        constraint_fn: Callable[[Any], Any] | None = None,
    ):
        self.apply_fn, self.init_fn, self.penalty_fn = apply_fn, init_fn, penalty_fn
        self.loss = None if loss is None else losses_lib.get(loss)
        self.optimizer = optimizers_lib.get(optimizer)
        resolved = [metrics_lib.resolve(m, self.loss) for m in metrics]
        self.metrics = {m.name: m for m in resolved}
        if steps_per_execution < 1:
            raise ValueError(
                f"steps_per_execution must be >= 1, received {steps_per_execution}."
            )
        if jit_compile not in (True, False, "auto"):
            raise ValueError(
                "jit_compile must be True, False or 'auto'; received "
                f"jit_compile={jit_compile!r}."
            )
        self.steps_per_execution = steps_per_execution
        self.run_eagerly = bool(run_eagerly) or jit_compile is False
        self.model = self if model is None else model
        if model is None:
            self.variables = None
        self.stop_training = False
        policy = mixed_precision.global_policy()  # as of compile, like Keras
        self.compute_dtype = None if policy.name == "float32" else policy.compute_dtype
        self.tx = self.optimizer.transform()
        if constraint_fn is not None:  # inside freeze: a frozen weight never moves
            self.tx = project(self.tx, constraint_fn)
        if trainable_mask is not None:
            self.tx = freeze(self.tx, trainable_mask)
        if policy.uses_loss_scaling and auto_scale_loss:
            self.tx = dynamic_loss_scale(self.tx)
        self._ts: steps_lib.TrainState | None = None
        self._compiled: dict[Any, Any] = {}
        self._train_step, self._eval_step = train_step, eval_step
        self._predict_step = predict_step
        self._distribution = distribution

    @property
    def distribution(self) -> distribute.Distribution | None:
        """The distribution steps run on: the one given, else the current scope's."""
        return self._distribution or distribute.current()

    @property
    def train_state(self) -> steps_lib.TrainState | None:
        """The current `TrainState`: live during `fit` (as of the last finished
        step, at each callback hook that is shown the model), then the one
        `fit` ended with (None before any fit).

        During `fit` its optimizer and metric buffers are donated to the next
        step: a callback that keeps them past its hook must copy them (orbax's
        save copies to host before returning).

        Assigning one (e.g. restored from a checkpoint) makes the next `fit`
        continue from it: parameters, layer state, optimizer state, step
        count (and so the per-step keys) and the run's key.
        """
        return self._ts

    @train_state.setter
    def train_state(self, ts: steps_lib.TrainState) -> None:
        self._ts = ts
        self.model.variables = {"params": ts.params, "state": ts.state}

    # -- compiled steps, built once ------------------------------------------

    def _pure_step(self, kind: StepKind, axis_name: str | None) -> Callable[..., Any]:
        """The unjitted step of `kind`: the user's override, else the built one."""
        if kind.trains:
            train = self._train_step or steps_lib.make_train_step(
                self.apply_fn, self.loss, self.tx, self.metrics,
                penalty_fn=self.penalty_fn, compute_dtype=self.compute_dtype,
                axis_name=axis_name,
            )  # fmt: skip
            if kind is StepKind.TRAIN:
                return train
            return steps_lib.make_multi_step(train)
        if kind is StepKind.EVAL:
            return self._eval_step or steps_lib.make_eval_step(
                self.apply_fn, self.loss, self.metrics,
                penalty_fn=self.penalty_fn, compute_dtype=self.compute_dtype,
                axis_name=axis_name,
            )  # fmt: skip
        return self._predict_step or steps_lib.make_predict_step(
            self.apply_fn, self.compute_dtype
        )

    def _step(self, kind: StepKind) -> Callable[..., Any]:
        """The compiled step of `kind` for the current distribution and backend,
        built once (see `train.compiling`)."""
        dist, backend = self.distribution, config.backend()
        if (kind, dist, backend) not in self._compiled:
            pure = self._pure_step(kind, getattr(dist, "axis_name", None))
            self._compiled[kind, dist, backend] = compile_step(
                pure, kind, dist, backend, self.run_eagerly
            )
        return self._compiled[kind, dist, backend]

    def _batch(self, batch: Any, kind: StepKind = StepKind.TRAIN) -> Any:
        """`batch` split over the distribution's batch axis (as is without one)."""
        dist = self.distribution
        if dist is None:
            return batch
        return dist.shard_batch(batch, stacked=kind is StepKind.TRAIN_FUSED)

    def _train(self, kind: StepKind, ts: steps_lib.TrainState, batch: Any) -> Any:
        """One training execution; it donates only variables never published."""
        step, batch = self._step(kind), self._batch(batch, kind)
        if config.backend() != "jax":
            return step(ts, batch)
        shown = self._shown
        return step(
            ts, batch, ts.params is shown["params"] or ts.state is shown["state"]
        )

    # -- live state shared with callbacks --------------------------------------

    def _publish(self, ts: steps_lib.TrainState) -> None:
        self._ts = ts  # live: callbacks may read (or checkpoint) `train_state`
        self._shown = {"params": ts.params, "state": ts.state}
        self.model.variables = self._shown
        self._rate_shown = self.optimizer.learning_rate

    def _absorb(self, ts: steps_lib.TrainState) -> steps_lib.TrainState:
        """Takes in what callbacks changed: variables, learning rate."""
        current = self.model.variables
        if current is not self._shown:
            ts = ts._replace(params=current["params"], state=current["state"])
        rate = self.optimizer.learning_rate
        if rate is not self._rate_shown:
            if callable(rate):
                raise TypeError(
                    "a learning-rate schedule cannot replace a rate mid-run."
                )
            ts = ts._replace(
                opt_state=optimizers_lib.with_learning_rate(ts.opt_state, rate)
            )
        self._publish(ts)
        return ts

    def _start_state(self, first_x: Any, key: jax.Array) -> steps_lib.TrainState:
        dist = self.distribution
        if self.model.variables is None:
            if self.init_fn is None:
                raise ValueError(
                    "fit: the model holds no variables and no init_fn was given."
                )
            init_key = random.split(key)[0]  # steps draw from fold_in(key, step)
            init = self.init_fn
            if dist is not None:  # layout checked on shapes, then born sharded
                specs = dist.variable_specs(jax.eval_shape(init, init_key, first_x))
                init = jax.jit(init, out_shardings=dist.shardings(specs))
            self.model.variables = init(init_key, first_x)
        variables = self.model.variables
        ts = self._ts
        if ts is None or jax.tree.structure(ts.params) != jax.tree.structure(
            variables["params"]
        ):
            ts = self._fresh_state(variables, key)
        ts = ts._replace(params=variables["params"], state=variables["state"], key=key)
        ts = backends.to_backend(ts, config.backend())
        return ts if dist is None else dist.place_state(ts)

    def _fresh_state(self, variables: Any, key: jax.Array) -> steps_lib.TrainState:
        """Step 0 with fresh optimizer and metric states, built with JAX (from
        variables that may be another backend's tensors)."""
        if config.backend() != "jax":
            variables = backends.to_numpy(variables)
        return steps_lib.init_train_state(variables, self.tx, self.metrics, key)

    # -- the loop --------------------------------------------------------------

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Iterable[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: Mapping[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int | Iterable[int] = 1,
        *,
        seed: int | None = None,
    ) -> History:
        """Trains for `epochs` epochs, with Keras's arguments; returns the
        `History` callback.

        `batch_size` defaults to 32 for arrays and must be left out for data
        that batches itself; `validation_batch_size` defaults to `batch_size`.
        `steps_per_epoch` takes that many batches per epoch from one running
        pass over the data (see `train._epochs`); `validation_steps` limits
        validation to its first batches; validation runs after epochs `e`
        with `(e + 1) % validation_freq == 0` (or `e + 1` in a list of
        epochs). `seed` (ours) fixes shuffling, dropout and initialization.
        """
        key = random.key(seed) if seed is not None else random.next_key()
        run = self._prepare(
            x, y, batch_size, validation_split, validation_data, shuffle,
            sample_weight, validation_batch_size, key,
        )  # fmt: skip
        stream = EpochStream(run["train"], steps_per_epoch)
        history = History()  # after the user's callbacks, to see what they log
        verbose = verbosity(verbose)
        built_in = [history] + ([ProgbarLogger()] if verbose else [])
        calls = CallbackList(
            [*(callbacks or []), *built_in], self.model,
            epochs=epochs, steps=stream.steps(), verbose=verbose,
        )  # fmt: skip
        first = stream.first(initial_epoch)
        if first is None:
            raise ValueError("fit: the training data held no batches.")
        ts = self._start_state(steps_lib.unpack_batch(first)[0], key)
        self.model.stop_training = False
        self._publish(ts)
        calls.call("on_train_begin", {})
        ts = self._absorb(ts)
        logs: dict[str, float] = {}  # the last epoch's, for on_train_end
        for epoch in range(initial_epoch, epochs):
            # An epoch leaves its last finished step on the model if it fails.
            ts, logs = self._fit_epoch(ts, epoch, stream, calls, class_weight)
            try:
                if run["validation"] is not None and _validates(epoch, validation_freq):
                    val = self.run_evaluation(
                        ts, run["validation"], validation_steps, calls
                    )
                    logs.update({f"val_{k}": v for k, v in val.items()})
                self._publish(ts)
                calls.call("on_epoch_end", epoch, logs)
                ts = self._absorb(ts)
            except BaseException:
                if not _donated(ts):  # else the variables last published stand
                    self._publish(ts)
                raise
            if self.model.stop_training or stream.exhausted:
                break
        calls.call("on_train_end", logs)
        self._ts = self._absorb(ts)
        return history

    def _prepare(
        self, x, y, batch_size, validation_split, validation_data, shuffle,
        sample_weight, validation_batch_size, key,
    ) -> dict[str, Any]:  # fmt: skip
        """The training and validation datasets of one `fit` call."""
        if x is None:
            raise ValueError("fit: x is required (arrays, a dataset or a generator).")
        data_seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        train = adapt(x, y, sample_weight, batch_size, shuffle=shuffle, seed=data_seed)
        if validation_split:
            if validation_data is not None:
                raise ValueError(
                    "fit: pass validation_split or validation_data, not both."
                )
            train, validation_data = train.split(validation_split)
        if validation_data is not None:
            parts = _validation_parts(validation_data)
            size = validation_batch_size
            if size is None and data_lib.is_arrays(parts[0]):
                size = batch_size
            validation_data = adapt(*parts, size)
        if self.distribution is not None and data_lib.is_arrays(x):
            self.distribution.check_batch_size(batch_size or 32)
        return {"train": train, "validation": validation_data}

    def _fit_epoch(
        self, ts: steps_lib.TrainState, epoch: int, stream: EpochStream,
        calls: CallbackList, class_weight: Mapping[int, float] | None,
    ) -> tuple[steps_lib.TrainState, dict[str, float]]:  # fmt: skip
        """One epoch of steps: the state after it and its last logs (floats)."""
        batch_hooks = [c for c in calls.callbacks if c.implements_train_batch_hooks()]
        per_batch = any(c.reads_model_per_batch for c in batch_hooks)
        ts = ts._replace(metrics=steps_lib.init_metrics(self.metrics))
        calls.call("on_epoch_begin", epoch, {})
        ts = self._absorb(ts)
        batches = stream.epoch(epoch)
        if class_weight:
            batches = (_class_weights(b, class_weight) for b in batches)
        if not stream.dataset.in_memory:  # read and decode ahead, on a thread
            batches = data_lib.prefetch(batches)
        index, logs = -1, {}  # the last batch run so far in this epoch
        try:
            for stacked, batch in executions(batches, self.steps_per_execution):
                index += self.steps_per_execution if stacked else 1
                if batch_hooks:
                    calls.call("on_train_batch_begin", index, {})
                    ts = self._absorb(ts) if per_batch else ts
                kind = StepKind.TRAIN_FUSED if stacked else StepKind.TRAIN
                ts, logs = self._train(kind, ts, batch)
                if batch_hooks:
                    if per_batch:
                        self._publish(ts)
                    calls.call("on_train_batch_end", index, self._floats(logs))
                    ts = self._absorb(ts) if per_batch else ts
                if self.model.stop_training:
                    break
        except BaseException:
            if not _donated(ts):  # else the variables last published stand
                self._publish(ts)
            raise
        return ts, self._floats(logs)

    # -- one batch at a time -----------------------------------------------------

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Mapping[int, float] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """One training step on one batch, continuing the run (optimizer state,
        step count, accumulating metrics) as Keras's does.

        Returns:
          As `evaluate`: the logs as a dict, or the loss, or a list in order.
        """
        batch = data_lib.as_batch(x, y, sample_weight)
        if class_weight:
            batch = _class_weights(batch, class_weight)
        ts = self._ts
        if (
            ts is None
            or self.model.variables is None
            or (ts.params is not self.model.variables["params"])
        ):
            metrics = None if ts is None else ts.metrics
            ts = self._start_state(steps_lib.unpack_batch(batch)[0], random.next_key())
            ts = ts if metrics is None else ts._replace(metrics=metrics)
        self._publish(ts)
        ts, logs = self._train(StepKind.TRAIN, ts, batch)
        self._publish(ts)
        return flat_logs(self._floats(logs), return_dict)


def _validates(epoch: int, validation_freq: Any) -> bool:
    """Keras's rule: after epoch `e` (from 0) when `(e + 1) % freq == 0`, or
    when `e + 1` is in a list of epochs."""
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(
                f"fit: validation_freq must be >= 1; received {validation_freq}."
            )
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _validation_parts(data: Any) -> tuple[Any, Any, Any]:
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


def _donated(ts: steps_lib.TrainState) -> bool:
    """Whether a step has taken `ts`'s parameter buffers (JAX arrays only)."""
    return any(
        isinstance(leaf, jax.Array) and leaf.is_deleted()
        for leaf in jax.tree.leaves((ts.params, ts.state))
    )
