"""What a `Trainer` trains: the pure functions of one model, in one object.

`apply` is required; `init` makes variables when there are none; `penalty`
adds regularization to the loss; the three steps replace the ones the
trainer builds from its loss, optimizer and metrics; `init_metrics` gives
the states of metrics the steps keep beside the compiled ones. Any object
with the first six attributes will do; `Program` is the plain one.

Example:
  >>> program = Program(apply=lambda v, x, training=False, rng=None: (x, {}))
  >>> program.train_step is None
  True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

Fn = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class Program:
    """The pure functions of a model.

    Attributes:
      apply: `apply(variables, x, training=False, rng=None) -> (y_pred, state)`.
      init: `init(key, x) -> variables`, or None.
      penalty: `params -> scalar` added to the loss (regularizers), or None.
      train_step: a pure `(TrainState, batch) -> (TrainState, logs)`, or None
        for the one built from the loss, optimizer and metrics.
      test_step: likewise for evaluation and validation.
      predict_step: a pure `(variables, x) -> y_pred`, or None.
      init_metrics: `() -> {key: state}`, the first states of metrics the
        steps keep in `TrainState.metrics` beside the loss and the compiled
        metrics (reset with them each epoch), or None.
      apply_with_masks: `apply` that returns `(y_pred, state, masks)`, the
        masks its outputs carry, for the built-in steps' loss and metrics
        (see `train.output_masks`); None for a model without masks.
    """

    apply: Fn
    init: Fn | None = None
    penalty: Fn | None = None
    train_step: Fn | None = None
    test_step: Fn | None = None
    predict_step: Fn | None = None
    init_metrics: Fn | None = None
    apply_with_masks: Fn | None = None


_PROGRAM_FIELDS = {"init_fn": "init", "penalty_fn": "penalty",
                   "train_step": "train_step", "eval_step": "test_step",
                   "predict_step": "predict_step"}  # fmt: skip


def as_program(program: Any, **functions: Any) -> Any:
    """`program` itself, or a `Program` around an apply function and the
    Trainer's keywords (`init_fn=`, `penalty_fn=`, `train_step=`,
    `eval_step=`, `predict_step=`).

    Example:
      >>> as_program(lambda v, x: (x, {}), init_fn=None).init is None
      True
    """
    given = {k: fn for k, fn in functions.items() if fn is not None}
    if hasattr(program, "apply") and hasattr(program, "train_step"):
        if given:
            raise TypeError(
                f"Trainer: given a program, it takes its functions from it; "
                f"received {sorted(given)} as well. Put them in the program."
            )
        return program
    if not callable(program):
        raise TypeError(
            "Trainer: expected a train.Program or an apply function, received "
            f"{type(program).__name__}."
        )
    return Program(apply=program, **{_PROGRAM_FIELDS[k]: v for k, v in given.items()})
