"""What a `Trainer` trains: the pure functions of one model, in one object.

`apply` is required; `init` makes variables when there are none; `penalty`
adds regularization to the loss; the three steps replace the ones the
trainer builds from its loss, optimizer and metrics. Any object with these
six attributes will do; `Program` is the plain one.

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
    """

    apply: Fn
    init: Fn | None = None
    penalty: Fn | None = None
    train_step: Fn | None = None
    test_step: Fn | None = None
    predict_step: Fn | None = None
