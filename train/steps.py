"""Pure step builders: one training, evaluation or prediction step of any model.

A model is anything with a pure
`apply(variables, x, training=False, rng=None) -> (y_pred, new_state)`; a
batch is `(x,)`, `(x, y)` or `(x, y, sample_weight)`. The builders return
**unjitted** functions of `(train_state, batch)`: they compose (scan them,
vmap them, call one from another) and `jax.jit` cleanly. Only the fit loop
jits them.

Example:
  >>> import optax
  >>> def apply(v, x, training=False, rng=None):
  ...     return x @ v["params"]["w"], v["state"]
  >>> def mse(y, y_pred, sample_weight=None):
  ...     return jnp.mean((y - y_pred) ** 2)
  >>> tx = optax.sgd(0.1)
  >>> ts = init_train_state({"params": {"w": jnp.zeros((2, 1))}, "state": {}}, tx,
  ...                       {}, sl.random.key(0))
  >>> step = jax.jit(make_train_step(apply, mse, tx, {}))
  >>> ts, logs = step(ts, (jnp.ones((4, 2)), jnp.ones((4, 1))))
  >>> int(ts.step), round(float(logs["loss"]), 3)
  (1, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.extend import core as jcore

from stateless import random
from stateless.added_losses import collect_losses
from stateless.replica_axis import over_replicas
from train.label_checks import flag_log, update_flag
from train.metrics.means import Mean
from train.output_masks import loss_with_masks, update_with_masks
from train.precision import LossScaleState, cast_floats

ApplyFn = Callable[..., tuple[Any, Any]]
LossFn = Callable[..., Any]


class TrainState(NamedTuple):
    """Everything a training run carries from step to step, as one pytree.

    Attributes:
      step: the number of steps taken (int32 scalar).
      params: trainable parameters.
      state: non-trainable layer state (e.g. BatchNormalization statistics).
      opt_state: the optimizer's state (the learning rate lives here).
      metrics: `{name: metric state}`, including `"loss"`.
      key: the run's key; step `n` draws from `fold_in(key, n)`.
    """

    step: jax.Array
    params: Any
    state: Any
    opt_state: Any
    metrics: dict[str, Any]
    key: jax.Array


# The running mean of the loss, kept like any other metric: weighted by the
# batch size in the built-in steps, by 1 unless told otherwise.
LOSS = Mean(name="loss")


def init_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Fresh metric states: `{"loss": ..., name: metric.init() ...}`."""
    return {"loss": LOSS.init(), **{name: m.init() for name, m in metrics.items()}}


def init_train_state(
    variables: Mapping[str, Any], tx: optax.GradientTransformation,
    metrics: Mapping[str, Any], key: jax.Array,
) -> TrainState:  # fmt: skip
    """The state a run starts from: step 0, fresh optimizer and metric states."""
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=variables["params"],
        state=variables["state"],
        opt_state=tx.init(variables["params"]),
        metrics=init_metrics(metrics),
        key=key,
    )


def unpack_batch(batch: Any) -> tuple[Any, Any, Any]:
    """`(x, y, sample_weight)` from a batch of 1 to 3 parts (missing ones are None)."""
    if isinstance(batch, tuple | list) and 1 <= len(batch) <= 3:
        x, y, w = (*batch, None, None)[:3]
        return x, y, w
    return batch, None, None


def examples_in(y_pred: Any) -> jax.Array:
    """The batch size of `y_pred`, as the float32 weight of its mean loss."""
    return jnp.asarray(jax.tree.leaves(y_pred)[0].shape[0], jnp.float32)


def update_metrics(states, metrics, loss, y, y_pred, w, masks=None):
    """New metric states after one batch; the running loss is updated only
    when `loss` is given (weighted by the batch size, as Keras weighs it).
    `masks`: the outputs' masks, for the metrics that read them."""
    new = dict(states)
    if loss is not None:
        new["loss"] = LOSS.update(states["loss"], loss, examples_in(y_pred))
    for name, metric in metrics.items():
        new[name] = update_with_masks(metric, states[name], y, y_pred, w, masks)
    return new


def results(metrics: Mapping[str, Any], states: Mapping[str, Any]) -> dict[str, Any]:
    """`{name: result}` for the loss and every metric (device scalars)."""
    logs = {"loss": LOSS.result(states["loss"])}
    logs.update({name: m.result(states[name]) for name, m in metrics.items()})
    return logs


def total_loss(
    loss_fn: Any, y: Any, y_pred: Any, w: Any, added: list[Any], masks: Any = None
) -> Any:
    """The compiled loss (if any), honouring the outputs' `masks`, plus the
    losses the model added with `add_loss` during the forward pass."""
    if loss_fn is None and not added:
        raise ValueError(
            "no loss to minimize: compile() was given no loss and the model added "
            "none with add_loss. Hint: model.compile(loss=...)."
        )
    loss = 0.0 if loss_fn is None else loss_with_masks(loss_fn, y, y_pred, w, masks)
    return loss + sum(added) if added else loss


def _across_replicas(loss, y, y_pred, w, masks, axis_name):
    """The global view of a per-replica batch: the mean loss, and targets,
    predictions, weights and masks gathered along the batch axis (for metrics)."""
    gather = jax.tree.map(
        lambda v: jax.lax.all_gather(v, axis_name, tiled=True), (y, y_pred, w, masks)
    )
    return (jax.lax.pmean(loss, axis_name), *gather)


def _pmean_floats(tree, axis_name):
    return jax.tree.map(
        lambda v: (
            jax.lax.pmean(v, axis_name) if jnp.issubdtype(v.dtype, jnp.floating) else v
        ),
        tree,
    )


def make_train_step(
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    tx: optax.GradientTransformation,
    metrics: Mapping[str, Any],
    *,
    penalty_fn: Callable[[Any], Any] | None = None,
    compute_dtype: Any = None,
    axis_name: str | None = None,
    returns_masks: bool = False,
) -> Callable[[TrainState, Any], tuple[TrainState, dict[str, Any]]]:
    """Builds `train_step(ts, batch) -> (ts, logs)`: forward, loss, gradients, update.

    Args:
      apply_fn: the model's pure apply.
      loss_fn: `loss(y_true, y_pred, sample_weight) -> scalar`.
      tx: the optax transformation that turns gradients into updates.
      metrics: `{name: metric}` with pure `init/update/result`.
      penalty_fn: `params -> scalar` added to the loss (regularizers).
      compute_dtype: a half type to run the model in (see `train.precision`);
        when `tx` is wrapped in `dynamic_loss_scale`, the loss is scaled too.
      axis_name: for a step run per replica (`jax.pmap`, `jax.shard_map`) over
        this axis: gradients and float layer state are averaged across
        replicas, metrics see the whole batch, each replica folds its index
        into its key, and layers that ask (`BatchNormalization(
        synchronized=True)`) reduce across it (`stateless.replica_axis`).
      returns_masks: `apply_fn` returns `(y_pred, state, masks)`, the masks
        its outputs carry (None for an output without), which the loss and
        the metrics honour (see `train.output_masks`).

    Returns:
      An unjitted function; `logs` holds the running `loss` and metric results.
    """

    def train_step(ts: TrainState, batch: Any) -> tuple[TrainState, dict[str, Any]]:
        x, y, w = unpack_batch(batch)
        rng = random.fold_in(ts.key, ts.step)
        if axis_name is not None:
            rng = random.fold_in(rng, jax.lax.axis_index(axis_name))

        scaled = isinstance(ts.opt_state, LossScaleState)

        def objective(params):
            run_params, run_x = params, x
            if compute_dtype is not None:
                run_params, run_x = cast_floats((params, x), compute_dtype)
            variables = {"params": run_params, "state": ts.state}
            with collect_losses() as added, over_replicas(axis_name):
                out = apply_fn(variables, run_x, training=True, rng=rng)
            y_pred, new_state, masks = out if returns_masks else (*out, None)
            loss = total_loss(loss_fn, y, y_pred, w, added, masks)
            if penalty_fn is not None:
                loss = loss + penalty_fn(params)
            objective = loss * ts.opt_state.scale if scaled else loss
            return objective, (loss, y_pred, new_state, masks)

        grad_fn = jax.value_and_grad(objective, has_aux=True)
        (_, (loss, y_pred, new_state, masks)), grads = grad_fn(ts.params)
        if axis_name is not None:
            grads, new_state = _pmean_floats((grads, new_state), axis_name)
            loss, y, y_pred, w, masks = _across_replicas(
                loss, y, y_pred, w, masks, axis_name
            )
        updates, opt_state = tx.update(grads, ts.opt_state, ts.params)
        states = update_metrics(ts.metrics, metrics, loss, y, y_pred, w, masks)
        states = update_flag(states, loss_fn, y, y_pred)
        ts = TrainState(
            ts.step + 1, optax.apply_updates(ts.params, updates), new_state,
            opt_state, states, ts.key,
        )  # fmt: skip
        return ts, {**results(metrics, states), **flag_log(states)}

    return train_step


def make_eval_step(
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    metrics: Mapping[str, Any],
    *,
    penalty_fn: Callable[[Any], Any] | None = None,
    compute_dtype: Any = None,
    axis_name: str | None = None,
    returns_masks: bool = False,
) -> Callable[[TrainState, Any], tuple[TrainState, dict[str, Any]]]:
    """Builds `eval_step(ts, batch) -> (ts, logs)`: inference, loss and metrics only.

    `axis_name`, `returns_masks`: as for `make_train_step`.
    """

    def eval_step(ts: TrainState, batch: Any) -> tuple[TrainState, dict[str, Any]]:
        x, y, w = unpack_batch(batch)
        variables = {"params": ts.params, "state": ts.state}
        with collect_losses() as added:
            out = apply_fn(*_in_dtype(variables, x, compute_dtype), training=False)
        y_pred, _, masks = out if returns_masks else (*out, None)
        loss = total_loss(loss_fn, y, y_pred, w, added, masks)
        if penalty_fn is not None:
            loss = loss + penalty_fn(ts.params)
        if axis_name is not None:
            loss, y, y_pred, w, masks = _across_replicas(
                loss, y, y_pred, w, masks, axis_name
            )
        states = update_metrics(ts.metrics, metrics, loss, y, y_pred, w, masks)
        states = update_flag(states, loss_fn, y, y_pred)
        return ts._replace(metrics=states), {
            **results(metrics, states), **flag_log(states),
        }  # fmt: skip

    return eval_step


def make_predict_step(
    apply_fn: ApplyFn, compute_dtype: Any = None
) -> Callable[[Any, Any], Any]:
    """Builds `predict_step(variables, x) -> y_pred`, in inference mode."""

    def predict_step(variables: Any, x: Any) -> Any:
        return apply_fn(*_in_dtype(variables, x, compute_dtype), training=False)[0]

    return predict_step


def _in_dtype(variables: Any, x: Any, compute_dtype: Any) -> tuple[Any, Any]:
    """The parameters and inputs cast to `compute_dtype` (when given)."""
    if compute_dtype is None:
        return variables, x
    params = cast_floats(variables["params"], compute_dtype)
    return {**variables, "params": params}, cast_floats(x, compute_dtype)


def make_multi_step(
    step: Callable[[TrainState, Any], tuple[TrainState, dict[str, Any]]],
    unroll: int | bool | None = None,
) -> Callable[[TrainState, Any], tuple[TrainState, dict[str, Any]]]:
    """Runs `step` over batches stacked on a leading axis with one `lax.scan`.

    This is `steps_per_execution=k`: one dispatch for k steps. The logs are the
    last step's.

    Args:
      step: a step of `(train_state, batch)`.
      unroll: `lax.scan`'s `unroll`. None (the default) unrolls the loop fully
        when `step` convolves and JAX's default backend is the CPU, where XLA
        compiles a convolution inside a loop to a kernel about 6x slower than
        the same convolution outside one (jax-ml/jax#12868); the price is
        compile time that grows with k. Otherwise it keeps the loop.
    """

    def multi_step(ts: TrainState, batches: Any) -> tuple[TrainState, dict[str, Any]]:
        first = jax.tree.map(lambda b: b[0], batches)
        jaxpr, (after, _) = jax.make_jaxpr(step, return_shape=True)(ts, first)
        ts = ts._replace(metrics=widened(ts.metrics, after.metrics))
        n = unroll
        if n is None:
            n = jax.default_backend() == "cpu" and _convolves(jaxpr.jaxpr)
        ts, logs = jax.lax.scan(step, ts, batches, unroll=n)
        return ts, jax.tree.map(lambda v: v[-1], logs)

    return multi_step


def _convolves(jaxpr: Any) -> bool:
    """Whether `jaxpr` runs a convolution, at any depth."""
    return any(
        eqn.primitive.name == "conv_general_dilated"
        or any(_convolves(sub) for sub in jcore.jaxprs_in_params(eqn.params))
        for eqn in jaxpr.eqns
    )


def widened(states: Any, after: Any) -> Any:
    """Metric states broadcast to the shapes one step gives them.

    A metric whose state is sized by the data (F1Score's per-class counts)
    starts from scalar zeros that its first update widens; a loop that
    carries the state (`lax.scan`) needs the wide shape from the start.

    Example:
      >>> widened({"f1": {"tp": jnp.zeros(())}}, {"f1": {"tp": jnp.ones(3)}})
      {'f1': {'tp': Array([0., 0., 0.], dtype=float32)}}
    """

    def widen(state: Any, shaped: Any) -> Any:
        if state.shape == shaped.shape:
            return state
        wide = jnp.broadcast_to(state, shaped.shape)
        if isinstance(state, jax.core.Tracer):
            return wide
        return jax.device_put(wide, state.sharding)  # replicated as it was

    return jax.tree.map(widen, states, after)


def widened_for(step: Callable[..., Any], ts: TrainState, batch: Any) -> TrainState:
    """`ts` with its metric states widened to the shapes `step` gives them
    on `batch` (`jax.eval_shape`: traced, not run)."""
    after = jax.eval_shape(step, ts, batch)[0]
    return ts._replace(metrics=widened(ts.metrics, after.metrics))
