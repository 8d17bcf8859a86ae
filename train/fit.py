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

import itertools
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
from train._donation import donating_step
from train.callbacks import Callback, CallbackList, History, ProgbarLogger
from train.precision import dynamic_loss_scale


def _floats(logs: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in logs.items()}


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


class Trainer:
    """Compiled training for a pure apply function; the engine behind `Model.fit`.

    Args:
      apply_fn: `apply(variables, x, training=False, rng=None) -> (y_pred, state)`.
      loss: a loss name or object (see `train.losses`); None only with a
        custom `train_step` (then `evaluate` cannot run).
      optimizer: an optimizer name or object (see `train.optimizers`).
      metrics: metric names or objects (see `train.metrics`).
      init_fn: `init(key, x) -> variables`, used when `model.variables` is None.
      penalty_fn: `params -> scalar` added to the loss (regularizers).
      steps_per_execution: steps fused into one compiled `lax.scan`.
      model: the object callbacks see as `model` (default: the trainer); it
        must have a `variables` attribute.
      train_step: a pure `(TrainState, batch) -> (TrainState, logs)` to use
        instead of the one built from the loss, optimizer and metrics.
      distribution: a `train.distribute` distribution to run on (default: the
        one of an enclosing `distribution.scope()`, else one device).
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
        distribution: distribute.Distribution | None = None,
    ):
        self.apply_fn, self.init_fn, self.penalty_fn = apply_fn, init_fn, penalty_fn
        if loss is None and train_step is None:
            raise ValueError(
                "a loss is required (e.g. loss='mse') unless a train_step is given."
            )
        self.loss = None if loss is None else losses_lib.get(loss)
        self.optimizer = optimizers_lib.get(optimizer)
        resolved = [metrics_lib.resolve(m, self.loss) for m in metrics]
        self.metrics = {m.name: m for m in resolved}
        if steps_per_execution < 1:
            raise ValueError(
                f"steps_per_execution must be >= 1, received {steps_per_execution}."
            )
        self.steps_per_execution = steps_per_execution
        self.model = self if model is None else model
        if model is None:
            self.variables = None
        self.stop_training = False
        policy = mixed_precision.global_policy()  # as of compile, like Keras
        self.compute_dtype = None if policy.name == "float32" else policy.compute_dtype
        self.tx = self.optimizer.transform()
        if policy.uses_loss_scaling:
            self.tx = dynamic_loss_scale(self.tx)
        self._ts: steps_lib.TrainState | None = None
        self._jitted: dict[str, Any] = {}
        self._train_step = train_step
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

    def _step(self, kind: str) -> Callable[..., Any]:
        dist, backend = self.distribution, config.backend()
        if dist is not None and backend != "jax":
            raise ValueError(
                f"distribution={dist!r} runs on the jax backend only; the "
                f"current backend is {backend!r}."
            )
        if (kind, dist, backend) not in self._jitted:
            axis_name = getattr(dist, "axis_name", None)  # the per-replica path
            train = self._train_step or steps_lib.make_train_step(
                self.apply_fn, self.loss, self.tx, self.metrics,
                penalty_fn=self.penalty_fn, compute_dtype=self.compute_dtype,
                axis_name=axis_name,
            )  # fmt: skip
            evaluate = steps_lib.make_eval_step(
                self.apply_fn, self.loss, self.metrics,
                penalty_fn=self.penalty_fn, compute_dtype=self.compute_dtype,
                axis_name=axis_name,
            )  # fmt: skip
            made = {
                "train": train,
                "train_multi": steps_lib.make_multi_step(train),
                "eval": evaluate,
                "predict": steps_lib.make_predict_step(
                    self.apply_fn, self.compute_dtype
                ),
            }
            compiled = made[kind]
            if dist is not None:
                wrap = {
                    "train": dist.wrap_train_step,
                    "train_multi": lambda s: dist.wrap_train_step(s, stacked=True),
                    "eval": dist.wrap_eval_step,
                    "predict": dist.wrap_predict_step,
                }[kind]
                compiled = wrap(compiled)
            if backend != "jax":
                compiled = backends.compile_step(compiled, backend)
            elif kind.startswith("train"):
                compiled = donating_step(compiled)
            else:
                compiled = jax.jit(compiled)
            self._jitted[kind, dist, backend] = compiled
        return self._jitted[kind, dist, backend]

    def _batch(self, batch: Any, kind: str = "train") -> Any:
        """`batch` split over the distribution's batch axis (as is without one)."""
        dist = self.distribution
        if dist is None:
            return batch
        return dist.shard_batch(batch, stacked=kind == "train_multi")

    def _train(self, kind: str, ts: steps_lib.TrainState, batch: Any) -> Any:
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

    def _executions(self, dataset: Iterable[Any]) -> Iterable[tuple[str, Any]]:
        """Batches grouped by `steps_per_execution` into stacked executions."""
        k, group, group_shape = self.steps_per_execution, [], None
        for batch in dataset:
            if k == 1:
                yield "train", batch
                continue
            shape = jax.tree.map(np.shape, batch)
            if group and shape != group_shape:  # a short last batch: run the
                for b in group:  # others singly
                    yield "train", b
                group = []
            if not group:
                group_shape = shape
            group.append(batch)
            if len(group) == k:
                yield "train_multi", jax.tree.map(lambda *xs: np.stack(xs), *group)
                group = []
        for b in group:
            yield "train", b

    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        batch_size: int = 32,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Iterable[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: Mapping[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        seed: int | None = None,
    ) -> History:
        """Trains for `epochs` epochs; returns the `History` callback."""
        key = random.key(seed) if seed is not None else random.next_key()
        data_seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        dataset = data_lib.adapt(
            x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, seed=data_seed
        )
        if validation_split:
            if validation_data is not None:
                raise ValueError(
                    "fit: pass validation_split or validation_data, not both."
                )
            dataset, validation_data = dataset.split(validation_split)
        if validation_data is not None:
            validation_data = data_lib.adapt(
                *_as_tuple(validation_data), batch_size=batch_size
            )
        if self.distribution is not None and _is_arrays(x):
            self.distribution.check_batch_size(batch_size)
        verbose = 1 if verbose == "auto" else int(verbose)
        history = History()  # after the user's callbacks, to see what they log
        built_in = [history] + ([ProgbarLogger()] if verbose else [])
        calls = CallbackList(
            [*(callbacks or []), *built_in],
            self.model,
            epochs=epochs,
            steps=_length(dataset),
            verbose=verbose,
        )
        batch_hooks = [c for c in calls.callbacks if c.implements_train_batch_hooks()]
        per_batch = any(c.reads_model_per_batch for c in batch_hooks)
        epoch_batches = iter(dataset.batches(initial_epoch))
        first = next(epoch_batches, None)
        if first is None:
            raise ValueError("fit: the training data held no batches.")
        ts = self._start_state(steps_lib.unpack_batch(first)[0], key)
        self.model.stop_training = False
        self._publish(ts)
        calls.call("on_train_begin", {})
        ts = self._absorb(ts)
        try:
            for epoch in range(initial_epoch, epochs):
                ts = ts._replace(metrics=steps_lib.init_metrics(self.metrics))
                calls.call("on_epoch_begin", epoch, {})
                ts = self._absorb(ts)
                logs: dict[str, Any] = {}
                if epoch > initial_epoch:
                    epoch_batches = iter(dataset.batches(epoch))
                    first = next(epoch_batches, None)
                batches = itertools.chain([first], epoch_batches)
                if class_weight:
                    batches = (_class_weights(b, class_weight) for b in batches)
                index = -1  # the last batch run so far in this epoch
                if not dataset.in_memory:  # read and decode ahead, on a thread
                    batches = data_lib.prefetch(batches)
                for kind, batch in self._executions(batches):
                    index += self.steps_per_execution if kind == "train_multi" else 1
                    if batch_hooks:
                        calls.call("on_train_batch_begin", index, {})
                        ts = self._absorb(ts) if per_batch else ts
                    ts, logs = self._train(kind, ts, batch)
                    if batch_hooks:
                        if per_batch:
                            self._publish(ts)
                        calls.call("on_train_batch_end", index, _floats(logs))
                        ts = self._absorb(ts) if per_batch else ts
                    if self.model.stop_training:
                        break
                epoch_logs = _floats(logs)
                if validation_data is not None:
                    val = self._evaluate(ts, validation_data)
                    epoch_logs.update({f"val_{k}": v for k, v in val.items()})
                self._publish(ts)
                calls.call("on_epoch_end", epoch, epoch_logs)
                ts = self._absorb(ts)
                if self.model.stop_training:
                    break
        except BaseException:
            if not _donated(ts):  # else the variables last published stand
                self._publish(ts)
            raise
        calls.call("on_train_end", {})
        ts = self._absorb(ts)
        self._ts = ts
        return history

    def _evaluate(
        self, ts: steps_lib.TrainState, dataset: Iterable[Any]
    ) -> dict[str, float]:
        if self.loss is None:
            raise ValueError("evaluate: no loss was given to compile; pass loss=...")
        ts = ts._replace(metrics=steps_lib.init_metrics(self.metrics))
        if self.distribution is not None:
            ts = self.distribution.place_state(ts)
        logs: dict[str, Any] = {}
        for batch in data_lib.prefetch(dataset):
            ts, logs = self._step("eval")(ts, self._batch(batch))
        if not logs:
            raise ValueError("evaluate: the data held no batches.")
        return _floats(logs)

    def evaluate(
        self,
        x: Any,
        y: Any = None,
        *,
        batch_size: int = 32,
        sample_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """The loss and metrics over the data, in inference mode."""
        dataset = data_lib.adapt(x, y, sample_weight, batch_size=batch_size)
        variables = self.model.variables
        if variables is None:
            raise ValueError(
                "evaluate: the model holds no variables yet (fit or build it)."
            )
        ts = backends.to_backend(
            self._fresh_state(variables, random.key(0)), config.backend()
        )
        logs = self._evaluate(ts, dataset)
        return (
            logs
            if return_dict
            else (logs["loss"] if len(logs) == 1 else list(logs.values()))
        )

    def predict(self, x: Any, *, batch_size: int = 32) -> Any:
        """The model's outputs over `x`, batch by batch, joined on the first axis
        (NumPy arrays; the backend's tensors on torch or TensorFlow)."""
        variables = self.model.variables
        if variables is None:
            raise ValueError(
                "predict: the model holds no variables yet (fit or build it)."
            )
        if self.distribution is not None:
            variables = self.distribution.place_variables(variables)
        variables = backends.to_backend(variables, config.backend())
        outputs = [
            self._step("predict")(
                variables, self._batch(steps_lib.unpack_batch(batch)[0])
            )
            for batch in data_lib.prefetch(data_lib.adapt(x, batch_size=batch_size))
        ]
        return backends.concatenate(outputs, config.backend())


def _donated(ts: steps_lib.TrainState) -> bool:
    """Whether a step has taken `ts`'s parameter buffers (JAX arrays only)."""
    return any(
        isinstance(leaf, jax.Array) and leaf.is_deleted()
        for leaf in jax.tree.leaves((ts.params, ts.state))
    )


def _is_arrays(data: Any) -> bool:
    """Whether `data` is arrays that `fit` batches itself (by `batch_size`)."""
    return isinstance(data, np.ndarray | dict | tuple | list) or hasattr(
        data, "__array__"
    )


def _as_tuple(data: Any) -> tuple[Any, ...]:
    return tuple(data) if isinstance(data, tuple) else (data,)


def _length(dataset: Any) -> int | None:
    try:
        return len(dataset)
    except TypeError:
        return None
