"""`evaluate`, `predict` and the one-batch calls of the `Trainer`.

These run the compiled evaluation and prediction steps over data, with
Keras's keywords: `batch_size` (32 for arrays, the data's own otherwise),
`verbose` (a progress bar of their own outside `fit`), `steps` (stop after
that many batches) and `callbacks` (their `on_test_*` / `on_predict_*`
hooks). `test_on_batch` and `predict_on_batch` run one batch, and
`test_on_batch` keeps accumulating metrics across calls until
`reset_metrics()`, as Keras's does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import numpy as np

from stateless import config, random
from train import backends
from train import data as data_lib
from train import steps as steps_lib
from train.callbacks import Callback, CallbackList, ProgbarLogger
from train.compiling import StepKind
from train.label_checks import (
    LABEL_FLAG,
    array_leaves,
    check_in_memory_labels,
    fresh_flag,
    one_row,
)
from train.step_logs import StepLogs


def floats(logs: Mapping[str, Any], order: Iterable[str] = ()) -> dict[str, float]:
    """Logs as Python floats (a host sync), the names in `order` first.

    A jitted step returns its logs as a dict, which JAX rebuilds with sorted
    keys; `order` restores Keras's: the loss, then the metrics as compiled.

    Example:
      >>> floats({"accuracy": np.float32(0.5), "loss": 2}, ["loss", "accuracy"])
      {'loss': 2.0, 'accuracy': 0.5}
    """
    return StepLogs(logs, order).copy()


def verbosity(verbose: Any) -> int:
    """Keras's `verbose`: "auto" is 1; 0 silent, 1 a progress bar, 2 one line."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, float):
        raise ValueError(
            f"verbose must be 'auto', 0, 1 or 2; received verbose={verbose!r}."
        )
    return int(verbose)


def adapt(x: Any, y: Any, w: Any, batch_size: int | None, **options: Any) -> Any:
    """`train.data.adapt` with Keras's `batch_size` rule: 32 by default for
    arrays; data that batches itself ignores it."""
    return data_lib.adapt(x, y, w, batch_size=batch_size or 32, **options)


def take(batches: Iterable[Any], steps: int | None, what: str) -> Iterable[Any]:
    """The first `steps` batches (all of them for None)."""
    if steps is None:
        return batches
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"{what}: steps must be a positive int or None; received steps={steps!r}."
        )
    return itertools.islice(batches, steps)


def callback_list(
    callbacks: Iterable[Callback] | None,
    model: Any,
    verbose: int,
    steps: int | None,
    dataset: Any,
) -> CallbackList:
    """The callbacks of one `evaluate` / `predict` pass (with a bar when
    `verbose`), told its steps: `steps`, else the data's length if known."""
    bar = [ProgbarLogger()] if verbose else []
    count = steps if steps is not None else data_lib.length(dataset)
    return CallbackList(
        [*(callbacks or []), *bar],
        model=model,
        epochs=1,
        steps=count,
        verbose=verbose,
    )


def flat_logs(logs: dict[str, float], return_dict: bool) -> Any:
    """Keras's return value: the dict, else its one value (the loss, usually)
    alone or a list in order."""
    if return_dict:
        return logs
    return next(iter(logs.values())) if len(logs) == 1 else list(logs.values())


def _empty_outputs(step: Any, variables: Any, x: Any) -> Any:
    """Outputs of no rows, shaped and typed as `step`'s, when `x` is arrays of
    no rows; else None."""
    leaves = array_leaves(x)
    if not leaves or any(a.shape[:1] != (0,) for a in leaves):
        return None
    out = jax.eval_shape(step, variables, one_row(x))
    return jax.tree.map(lambda s: np.zeros((0, *s.shape[1:]), s.dtype), out)


class InferenceMixin:
    """The inference half of `train.Trainer` (it provides `_step`, `_batch`,
    `_fresh_state`, `context`, `model`, `metrics` and `loss`)."""

    @property
    def metrics_names(self) -> list[str]:
        """`["loss", <metric names>...]`: the order of every log and of the list
        `evaluate` returns."""
        return ["loss", *self.metrics]

    def _floats(self, logs: Mapping[str, Any]) -> dict[str, float]:
        return floats(logs, self.metrics_names)

    def _late(self, logs: Mapping[str, Any]) -> StepLogs:
        """A step's logs for batch hooks, read from the device only if read."""
        return StepLogs(logs, self.metrics_names)

    def run_evaluation(
        self, ts: Any, dataset: Iterable[Any], steps: int | None, calls: CallbackList
    ) -> dict[str, float]:
        """The loss and metrics over `dataset`, from fresh metric states,
        calling the `on_test_*` hooks of `calls`."""
        live = ts is self.context.current
        calls.call("on_test_begin", {})
        if live:  # a hook may have replaced the run's state (SwapEMAWeights)
            ts = self.context.current
        ts = ts._replace(metrics=self.fresh_metrics(not dataset.in_memory))
        if self.distribution is not None:
            ts = self.distribution.place_state(ts)
        hooks = any(c.implements_batch_hooks("test") for c in calls.callbacks)
        logs: dict[str, Any] = {}
        batches = take(data_lib.prefetch(dataset), steps, "evaluate")
        step = self._step(StepKind.EVAL)
        for index, batch in enumerate(batches):
            if hooks:
                calls.call("on_test_batch_begin", index, {})
            batch = self._batch(batch)
            if index == 0 and config.backend() == "jax":  # one compile, see widened
                ts = steps_lib.widened_for(step, ts, batch)
            ts, logs = step(ts, batch)
            if hooks:
                calls.call("on_test_batch_end", index, self._late(logs))
        if not logs:
            raise ValueError("evaluate: the data held no batches.")
        logs = self._floats(logs)
        calls.call("on_test_end", logs)
        return logs

    def _held_variables(self, what: str) -> Any:
        variables = self.model.variables
        if variables is None:
            raise ValueError(
                f"{what}: the model holds no variables yet (fit or build it)."
            )
        return variables

    def _eval_state(self) -> Any:
        """The state evaluation runs from: the run's, or one built from the
        model's variables."""
        ts = self.context.current
        if ts is None:
            variables = self._held_variables("evaluate")
            fresh = self._fresh_state(variables, random.key(0))
            ts = backends.to_backend(fresh, config.backend())
        return ts

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Iterable[Callback] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """The loss and metrics over the data, in inference mode.

        Returns:
          With `return_dict`, `{"loss": ..., "<metric>": ...}`; else the loss
          alone when there are no metrics, or the values in that order.
        """
        dataset = adapt(x, y, sample_weight, batch_size)
        verbose = verbosity(verbose)
        calls = callback_list(callbacks, self.model, verbose, steps, dataset)
        ts = self._eval_state()
        if config.backend() == "jax":  # the state holds JAX arrays
            variables = {"params": ts.params, "state": ts.state}
            check_in_memory_labels(self.loss, self.program.apply, variables, x, y)
        logs = self.run_evaluation(ts, dataset, steps, calls)
        return flat_logs(logs, return_dict)

    def _predict_variables(self) -> Any:
        variables = self._held_variables("predict")
        if self.distribution is not None:
            variables = self.distribution.place_variables(variables)
        return backends.to_backend(variables, config.backend())

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Iterable[Callback] | None = None,
    ) -> Any:
        """The model's outputs over `x`, batch by batch, joined on the first axis
        (NumPy arrays; the backend's tensors on torch or TensorFlow)."""
        variables, step = self._predict_variables(), self._step(StepKind.PREDICT)
        empty = _empty_outputs(step, variables, x)
        if empty is not None:  # no rows: no batches, but the shape is known
            return backends.concatenate([empty], config.backend())
        dataset = adapt(x, None, None, batch_size)
        verbose = verbosity(verbose)
        calls = callback_list(callbacks, self.model, verbose, steps, dataset)
        hooks = any(c.implements_batch_hooks("predict") for c in calls.callbacks)
        calls.call("on_predict_begin", {})
        if callbacks:  # a hook may have swapped the weights (SwapEMAWeights)
            variables = self._predict_variables()
        outputs = []
        batches = take(data_lib.prefetch(dataset), steps, "predict")
        for index, batch in enumerate(batches):
            if hooks:
                calls.call("on_predict_batch_begin", index, {})
            x = self._batch(steps_lib.unpack_batch(batch)[0])
            outputs.append(step(variables, x))
            if hooks:
                calls.call("on_predict_batch_end", index, {"outputs": outputs[-1]})
        calls.call("on_predict_end", {})
        if not outputs:
            raise ValueError("predict: the data held no batches.")
        return backends.concatenate(outputs, config.backend())

    def test_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss and metrics of one batch; metrics accumulate over calls (and over
        `train_on_batch` calls) until `reset_metrics()`, as in Keras."""
        ts = self._eval_state()
        evaluated, logs = self._step(StepKind.EVAL)(
            ts, self._batch(data_lib.as_batch(x, y, sample_weight))
        )
        if self.context.current is None:  # a run starts from the held variables
            self.context.begin(ts)
        self.context.update(metrics=evaluated.metrics)  # the params stay
        return flat_logs(self._floats(logs), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs for one batch `x` (NumPy arrays on JAX)."""
        (x,) = data_lib.as_batch(x)
        output = self._step(StepKind.PREDICT)(self._predict_variables(), self._batch(x))
        return backends.concatenate([output], config.backend())

    def fresh_metrics(self, streamed: bool = False) -> dict[str, Any]:
        """Every metric state at its start: the loss's and the compiled
        metrics', and those the program keeps besides (`Program.init_metrics`).
        For `streamed` data, whose labels were not checked up front, also the
        loss's label flag (see `train.label_checks`)."""
        states = steps_lib.init_metrics(self.metrics)
        if streamed and getattr(self.loss, "flag_labels", None) is not None:
            states[LABEL_FLAG] = fresh_flag()
        extra = getattr(self.program, "init_metrics", None)
        return states if extra is None else {**states, **extra()}

    def reset_metrics(self) -> None:
        """Starts every metric (and the running loss) afresh."""
        if self.context.current is not None:
            self.context.update(metrics=self.fresh_metrics())
