"""The one place a step is compiled: jitted, donated, sharded or lowered.

(`compile_init` does the same for a model's `init` under a distribution.)

The loop runs four kinds of step (`StepKind`). `compile_step` turns a pure
step of a kind into what the loop calls, for a distribution (or none) and a
backend:

* under a distribution, the step is first wrapped to run per shard (a
  fused train step takes a stack of batches);
* on torch or TensorFlow it is lowered onto that backend (`interop.lower`);
* with `run_eagerly` it runs op by op, un-jitted;
* otherwise a train step is jitted donating its packed `TrainState`
  (`train._donation`, `train.packing`), and the others are jitted plainly.

On JAX every train step has the calling form `run(packed, batch, shown)`
(see `train._donation`), lowered ones `(ts, batch)`; eval steps `(ts,
batch)`, predict steps `(variables, x)`.

Example:
  >>> step = compile_step(lambda v, x: x * 2, StepKind.PREDICT, None, "jax")
  >>> step({}, jnp.ones(2)).tolist()
  [2.0, 2.0]
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import jax

from train import backends
from train._donation import donating_step


class StepKind(enum.Enum):
    """What a compiled step does, and how it is called."""

    TRAIN = "train"  # (ts, batch, shown) -> (ts, logs)
    TRAIN_FUSED = "train_fused"  # the same over a stack of batches (lax.scan)
    EVAL = "eval"  # (ts, batch) -> (ts, logs)
    PREDICT = "predict"  # (variables, x) -> y_pred

    __hash__ = object.__hash__  # members are singletons; the loop hashes per step

    @property
    def trains(self) -> bool:
        return self in (StepKind.TRAIN, StepKind.TRAIN_FUSED)


def _per_shard(step: Callable[..., Any], kind: StepKind, distribution: Any) -> Any:
    if kind is StepKind.TRAIN:
        return distribution.wrap_train_step(step)
    if kind is StepKind.TRAIN_FUSED:
        return distribution.wrap_train_step(step, stacked=True)
    if kind is StepKind.EVAL:
        return distribution.wrap_eval_step(step)
    return distribution.wrap_predict_step(step)


def compile_init(init: Callable[..., Any], distribution: Any) -> Callable[..., Any]:
    """`init(key, x) -> variables`, its variables born sharded under
    `distribution` (their layout decided on shapes first); as is without one."""
    if distribution is None:
        return init

    def sharded(key: Any, x: Any) -> Any:
        specs = distribution.variable_specs(jax.eval_shape(init, key, x))
        return jax.jit(init, out_shardings=distribution.shardings(specs))(key, x)

    return sharded


def compile_step(
    step: Callable[..., Any],
    kind: StepKind,
    distribution: Any,
    backend: str,
    run_eagerly: bool = False,
) -> Callable[..., Any]:
    """The pure `step` of `kind`, compiled for `distribution` and `backend`.

    Raises:
      ValueError: a distribution on a backend other than JAX.
    """
    if distribution is not None and backend != "jax":
        raise ValueError(
            f"distribution={distribution!r} runs on the jax backend only; the "
            f"current backend is {backend!r}."
        )
    if distribution is not None:
        step = _per_shard(step, kind, distribution)
    if backend != "jax":
        return backends.lower_step(step, backend)
    if kind.trains:
        return donating_step(step, jit=False) if run_eagerly else donating_step(step)
    return step if run_eagerly else jax.jit(step)
