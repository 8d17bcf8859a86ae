"""The fit loop: Keras's `fit / evaluate / predict` for any pure apply function.

`Trainer` holds what `compile` fixes (loss, optimizer, metrics) and runs the
jitted pure steps of `train.steps` over the data, epoch by epoch, with
validation and callbacks. It trains a `train.Program` (the pure `apply`,
`init`, `penalty` and optional steps of one model); `nn.Model` hands it one,
and a hand-written function trains the same way.

Live state: the trainer's `RunContext` (`trainer.context`) is the only owner
of the `TrainState`. The loop advances it step by step; callbacks read and
change the run through `model.variables`, `model.train_state`,
`model.stop_training` and `model.optimizer.learning_rate`, which read and
write the context, so a change takes effect at the very next step. The step
donates every buffer but the parameters handed out since the last step,
which callbacks may keep (EarlyStopping keeps the best ones): see
`train._donation`. When training stops on an exception (a KeyboardInterrupt
too), the context holds the last finished step.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jax

from stateless import config, mixed_precision, random
from train import backends, distribute
from train import data as data_lib
from train import optimizers as optimizers_lib
from train import steps as steps_lib
from train._epochs import EpochStream, executions
from train._inference import InferenceMixin, flat_logs, verbosity
from train.callbacks import Callback, CallbackList, History, ProgbarLogger
from train.class_weights import weigh_by_class
from train.compiling import StepKind, compile_init, compile_step
from train.device_feed import DeviceFeed, can_feed, slicing
from train.freezing import freeze
from train.label_checks import check_in_memory_labels
from train.outputs import compile_objectives
from train.precision import dynamic_loss_scale
from train.program import as_program
from train.projection import project
from train.run_context import RunContext
from train.validation import fit_datasets, validates


class Trainer(InferenceMixin):
    """Compiled training for a pure program; the engine behind `Model.fit`.

    Args:
      program: a `train.Program` (or any object with its six attributes), or
        an apply function `apply(variables, x, training=False, rng=None) ->
        (y_pred, state)`, whose other functions the keywords below give.
      loss: a loss name or object (see `train.losses`); None when the model
        adds its own with `add_loss`, or with a
        custom `train_step` (then `evaluate` needs a custom `eval_step`).
      optimizer: an optimizer name or object (see `train.optimizers`).
      metrics: metric names or objects (see `train.metrics`), unweighted:
        they ignore `sample_weight`. With several outputs: a list per
        output, or a dict by output name (see `train.outputs`).
      loss_weights, weighted_metrics: Keras's; `loss` may also be a list or
        a dict, one per output (see `train.outputs`).
      output_names: the names of the model's outputs, in order, when it has
        several (None for one).
      init_fn, penalty_fn, train_step, eval_step, predict_step: with an apply
        function, the program's `init`, `penalty`, `train_step`, `test_step`
        and `predict_step` (see `train.Program`).
      steps_per_execution: steps fused into one compiled `lax.scan`.
      model: the object callbacks see as `model` (default: the trainer); its
        `variables` are the ones inference runs with.
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
        program: Any,
        loss: Any,
        optimizer: Any = "rmsprop",
        metrics: Any = (),
        *,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        output_names: Iterable[str] | None = None,
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
        self.program = as_program(
            program, init_fn=init_fn, penalty_fn=penalty_fn, train_step=train_step,
            eval_step=eval_step, predict_step=predict_step,
        )  # fmt: skip
        self.loss, self.metrics = compile_objectives(
            loss, loss_weights, metrics, weighted_metrics, output_names
        )
        self.optimizer = optimizers_lib.get(optimizer)
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
        policy = mixed_precision.global_policy()  # as of compile, like Keras
        self.compute_dtype = None if policy.name == "float32" else policy.compute_dtype
        self.tx = self.optimizer.transform()
        if constraint_fn is not None:  # inside freeze: a frozen weight never moves
            self.tx = project(self.tx, constraint_fn)
        if trainable_mask is not None:
            self.tx = freeze(self.tx, trainable_mask)
        scaling = policy.uses_loss_scaling and auto_scale_loss
        if scaling and not self.optimizer.scales_loss:
            self.tx = dynamic_loss_scale(self.tx)
        self.context = RunContext(self.optimizer)
        self._compiled: dict[Any, Any] = {}
        self._defaults: dict[Any, Any] = {}
        self._distribution = distribution

    @property
    def distribution(self) -> distribute.Distribution | None:
        """The distribution steps run on: the one given, else the current scope's."""
        return self._distribution or distribute.current()

    # -- the run's state, owned by the context ------------------------------------

    @property
    def train_state(self) -> steps_lib.TrainState | None:
        """The current `TrainState` (see `RunContext.train_state`): live during
        `fit`, then the one `fit` ended with (None before any fit). Assigning
        one (restored from a checkpoint) makes the next `fit` continue from
        it: parameters, layer state, optimizer state and step count."""
        return self.context.train_state

    @train_state.setter
    def train_state(self, ts: steps_lib.TrainState) -> None:
        self.context.train_state = ts

    @property
    def variables(self) -> Any:
        """`{"params", "state"}`: the run's, or the ones given to start from."""
        return self.context.variables

    @variables.setter
    def variables(self, variables: Any) -> None:
        self.context.variables = variables

    @property
    def stop_training(self) -> bool:
        """Set it to True (from a callback) to end training after this step."""
        return self.context.stop_training

    @stop_training.setter
    def stop_training(self, stop: bool) -> None:
        self.context.stop_training = stop

    def resume_training_at(self, epoch: int, batch: int = 0) -> None:
        """From `on_train_begin`: go on at epoch `epoch` after its first
        `batch` batches (see `RunContext.resume_training_at`)."""
        self.context.resume_training_at(epoch, batch)

    # -- compiled steps, built once ------------------------------------------

    def default_step(self, kind: StepKind, axis_name: str | None = None) -> Any:
        """The unjitted step of `kind` built from the loss, optimizer and
        metrics (built once; an override may call it)."""
        if (kind, axis_name) not in self._defaults:
            self._defaults[kind, axis_name] = self._build_step(kind, axis_name)
        return self._defaults[kind, axis_name]

    def _build_step(self, kind: StepKind, axis_name: str | None) -> Any:
        program, dtype = self.program, self.compute_dtype
        masked = getattr(program, "apply_with_masks", None)  # see train.output_masks
        apply, keywords = masked or program.apply, {
            "penalty_fn": program.penalty, "compute_dtype": dtype,
            "axis_name": axis_name, "returns_masks": masked is not None,
        }  # fmt: skip
        if kind is StepKind.TRAIN:
            return steps_lib.make_train_step(
                apply, self.loss, self.tx, self.metrics, **keywords
            )
        if kind is StepKind.EVAL:
            return steps_lib.make_eval_step(apply, self.loss, self.metrics, **keywords)
        return steps_lib.make_predict_step(program.apply, dtype)

    def _pure_step(self, kind: StepKind, axis_name: str | None) -> Callable[..., Any]:
        """The unjitted step of `kind`: the program's own, else the default."""
        if kind is StepKind.TRAIN_FUSED:
            return steps_lib.make_multi_step(self._pure_step(StepKind.TRAIN, axis_name))
        own = {
            StepKind.TRAIN: self.program.train_step,
            StepKind.EVAL: self.program.test_step,
            StepKind.PREDICT: self.program.predict_step,
        }[kind]
        return own or self.default_step(kind, axis_name)

    def _step(self, kind: StepKind, slices: int | None = None) -> Callable[..., Any]:
        """The compiled step of `kind` for the current distribution and backend,
        built once (see `train.compiling`); with `slices`, one that slices
        batches of that size from data on the device (see `train.device_feed`)."""
        dist, backend = self.distribution, config.backend()
        key = (kind, dist, backend, slices)
        if key not in self._compiled:
            pure = self._pure_step(kind, getattr(dist, "axis_name", None))
            if slices is not None:
                count = self.steps_per_execution if kind is StepKind.TRAIN_FUSED else 1
                pure = slicing(pure, count, slices)
            self._compiled[key] = compile_step(
                pure, kind, dist, backend, self.run_eagerly
            )
        return self._compiled[key]

    def _batch(self, batch: Any, kind: StepKind = StepKind.TRAIN) -> Any:
        """`batch` split over the distribution's batch axis (as is without one)."""
        dist = self.distribution
        if dist is None:
            return batch
        return dist.shard_batch(batch, stacked=kind is StepKind.TRAIN_FUSED)

    def _trainer(
        self, feed: DeviceFeed | None = None
    ) -> Callable[[StepKind, Any], Any]:
        """`train(kind, batch) -> logs`: one training execution of the compiled
        step of `kind` on a host batch, or with `feed`, on a batch of that
        size sliced on the device. Steps are looked up once per kind."""
        found: dict[Any, Callable[..., Any]] = {}
        execute = self._executor()

        def train(kind: StepKind, batch: Any) -> Any:
            if kind not in found:
                found[kind] = self._step(kind)
            return execute(found[kind], self._batch(batch, kind))

        def train_fed(kind: StepKind, size: int) -> Any:
            if (kind, size) not in found:
                found[kind, size] = self._step(kind, slices=size)
            logs, feed.start = execute(found[kind, size], feed.inputs())
            return logs

        return train if feed is None else train_fed

    def _executor(self) -> Callable[[Callable[..., Any], Any], Any]:
        """`execute(step, inputs)`: runs a compiled train step from the
        context's state and advances it; returns the step's other output. On
        JAX the step takes the state packed and donates the parameters
        unless they were handed out."""
        context = self.context

        def execute(step: Callable[..., Any], inputs: Any) -> Any:
            state, out = step(context.packed, inputs, context.shown)
            context.advance(state)
            return out

        def execute_lowered(step: Callable[..., Any], inputs: Any) -> Any:
            state, out = step(context.current, inputs)
            context.advance(state)
            return out

        return execute if config.backend() == "jax" else execute_lowered

    def _feed(self, dataset: Any, steps_per_epoch: Any, class_weight: Any,
              epochs: int) -> Any:  # fmt: skip
        """The data on the device for this fit of `epochs` epochs, or None to
        stream it from host memory (see `train.device_feed`)."""
        if config.backend() != "jax" or self.run_eagerly:
            return None
        if not can_feed(dataset, steps_per_epoch, self.distribution, epochs):
            return None
        return DeviceFeed(dataset, class_weight)

    def _start_state(self, first_x: Any, key: jax.Array) -> steps_lib.TrainState:
        """The state a run starts from: the context's, else a fresh one from
        the variables held (made by `init` when there are none)."""
        ts = self.context.current
        if ts is None:
            variables = self.context.variables
            if variables is None:
                variables = self._init(first_x, key)
            ts = self._fresh_state(variables, key)
        ts = backends.to_backend(ts._replace(key=key), config.backend())
        dist = self.distribution
        return ts if dist is None else dist.place_state(ts)

    def _init(self, first_x: Any, key: jax.Array) -> Any:
        if self.program.init is None:
            raise ValueError(
                "fit: the model holds no variables and its program has no init."
            )
        init_key = random.split(key)[0]  # steps draw from fold_in(key, step)
        return compile_init(self.program.init, self.distribution)(init_key, first_x)

    def _fresh_state(self, variables: Any, key: jax.Array) -> steps_lib.TrainState:
        """Step 0 with fresh optimizer and metric states, built with JAX (from
        variables that may be another backend's tensors)."""
        if config.backend() != "jax":
            variables = backends.to_numpy(variables)
        ts = steps_lib.init_train_state(variables, self.tx, self.metrics, key)
        return ts._replace(metrics=self.fresh_metrics())

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
        run = fit_datasets(
            x, y, batch_size, validation_split, validation_data, shuffle,
            sample_weight, validation_batch_size, key, self.distribution,
        )  # fmt: skip
        stream = EpochStream(run["train"], steps_per_epoch)
        history = History()  # after the user's callbacks, to see what they log
        verbose = verbosity(verbose)
        built_in = [history] + ([ProgbarLogger()] if verbose else [])
        calls = CallbackList(
            [*(callbacks or []), *built_in], model=self.model,
            epochs=epochs, steps=stream.steps(), verbose=verbose,
        )  # fmt: skip
        first = stream.first(initial_epoch)
        if first is None:
            raise ValueError("fit: the training data held no batches.")
        self.context.begin(self._start_state(steps_lib.unpack_batch(first)[0], key))
        if config.backend() == "jax":  # the variables are JAX arrays
            check_in_memory_labels(self.loss, self.program.apply, self.variables, x, y)
        validation = (run["validation"], validation_steps, validation_freq)
        feed = self._feed(
            run["train"], steps_per_epoch, class_weight, epochs - initial_epoch
        )
        try:
            calls.call("on_train_begin", {})
            first_epoch, done = self.context.take_resume_point(initial_epoch)
            logs = self._epochs(range(first_epoch, epochs), stream, calls,
                                (feed, class_weight), validation, done)  # fmt: skip
            self.context.finish(self.optimizer)
        except BaseException:
            self.context.recover()  # the last finished step stands
            raise
        calls.call("on_train_end", logs)
        return history

    def _epochs(
        self, epochs: range, stream: EpochStream, calls: CallbackList,
        source: tuple[Any, Any], validation: tuple[Any, Any, Any], done: int,
    ) -> dict[str, float]:  # fmt: skip
        """The epochs of one `fit`; returns the last epoch's logs. `source` is
        `(feed, class_weight)`: the data on the device, or None to stream it;
        the first epoch goes on after its first `done` batches."""
        data, steps, freq = validation
        logs: dict[str, float] = {}
        for epoch in epochs:
            logs = self._fit_epoch(epoch, stream, calls, source, done)
            done = 0
            if data is not None and validates(epoch, freq):
                val = self.run_evaluation(self.context.current, data, steps, calls)
                logs.update({f"val_{k}": v for k, v in val.items()})
            self.context.show()  # epoch-end hooks often keep the weights
            calls.call("on_epoch_end", epoch, logs)
            if self.context.stop_training or stream.exhausted:
                break
        return logs

    def _fit_epoch(
        self, epoch: int, stream: EpochStream, calls: CallbackList,
        source: tuple[Any, Any], done: int,
    ) -> dict[str, float]:  # fmt: skip
        """One epoch of steps, after its first `done` (a resumed epoch, whose
        metrics the state holds); returns its last logs (floats)."""
        hooks = any(c.implements_train_batch_hooks() for c in calls.callbacks)
        if not done:
            streamed = not stream.dataset.in_memory
            self.context.update(metrics=self.fresh_metrics(streamed))
        calls.call("on_epoch_begin", epoch, {})
        train = self._trainer(source[0])
        index, logs = done - 1, {}  # the last batch run so far in this epoch
        for kind, batch in self._executions(epoch, stream, source, done):
            index += self.steps_per_execution if kind is StepKind.TRAIN_FUSED else 1
            if hooks:
                calls.call("on_train_batch_begin", index, {})
            logs = train(kind, batch)
            if hooks:
                calls.call("on_train_batch_end", index, self._late(logs))
            if self.context.stop_training:
                break
        if done and not logs:  # resumed after its last batch: the state's logs
            states = backends.to_numpy(self.context.current.metrics)
            logs = steps_lib.results(self.metrics, states)
        return self._floats(logs)

    def _executions(
        self, epoch: int, stream: EpochStream, source: tuple[Any, Any], done: int
    ) -> Iterator[tuple[StepKind, Any]]:
        """`(kind, batch)` of each execution of the epoch after its first
        `done` batches; with data on the device, `(kind, batch size)`."""
        feed, class_weight = source
        if feed is not None:
            yield from feed.epoch(epoch, self.steps_per_execution, done)
            return
        batches = itertools.islice(stream.epoch(epoch), done, None)
        if class_weight:
            batches = (weigh_by_class(b, class_weight) for b in batches)
        groups = executions(batches, self.steps_per_execution)
        if not stream.dataset.in_memory:  # read, decode, stack ahead on a thread
            if config.backend() == "jax" and self.distribution is None:
                # and copy to the device: the batch is there when its step starts
                groups = ((s, jax.device_put(b)) for s, b in groups)
            groups = data_lib.prefetch(groups)
        for stacked, batch in groups:
            yield (StepKind.TRAIN_FUSED if stacked else StepKind.TRAIN), batch

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
            batch = weigh_by_class(batch, class_weight)
        if self.context.current is None:
            first_x = steps_lib.unpack_batch(batch)[0]
            self.context.begin(self._start_state(first_x, random.next_key()))
        logs = self._trainer()(StepKind.TRAIN, batch)
        return flat_logs(self._floats(logs), return_dict)
