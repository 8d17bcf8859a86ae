"""Numeric hyperparameters checked where they come in: finite, in range.

A config is data (a saved archive, a dict a user wrote); `Adam(beta_1=nan)`,
`Dropout(rate=1.5)` or `Huber(delta=-1)` built from one would train to
nonsense without a word. `checked(owner, name, value)` checks one named
hyperparameter against `RANGES` (optimizers call it whenever one is set);
`check_config(owner, config)` checks a whole config before an object is built
from it: every number in it finite, at any depth, and each named one in its
range.

Example:
  >>> check_config("Dropout", {"rate": 0.5, "seed": None})
  >>> check_config("Dropout", {"rate": 1.5})
  Traceback (most recent call last):
  ...
  ValueError: Dropout: rate must be a finite number in [0.0, 1.0], received 1.5.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

INF = float("inf")
# Each named hyperparameter's range, (low, high, brackets); the names mean the
# same wherever they appear (an optimizer's momentum, a BatchNormalization's).
RANGES = {
    "learning_rate": (0.0, INF, "[)"), "momentum": (0.0, 1.0, "[]"),
    "beta_1": (0.0, 1.0, "[)"), "beta_2": (0.0, 1.0, "[)"), "rho": (0.0, 1.0, "[)"),
    "epsilon": (0.0, INF, "[)"), "initial_accumulator_value": (0.0, INF, "[)"),
    "clipnorm": (0.0, INF, "()"), "clipvalue": (0.0, INF, "()"),
    "global_clipnorm": (0.0, INF, "()"), "weight_decay": (0.0, INF, "[)"),
    "gradient_accumulation_steps": (1, INF, "[)"),
    "rate": (0.0, 1.0, "[]"), "label_smoothing": (0.0, 1.0, "[]"),
    "delta": (0.0, INF, "()"), "l1": (0.0, INF, "[)"), "l2": (0.0, INF, "[)"),
    "stddev": (0.0, INF, "[)"), "units": (1, INF, "[)"),
    "loss_scale_factor": (0.0, INF, "()"), "initial_scale": (0.0, INF, "()"),
    "dynamic_growth_steps": (1, INF, "[)"),
    "adam_beta_1": (0.0, 1.0, "[)"), "adam_beta_2": (0.0, 1.0, "[)"),
    "adam_weight_decay": (0.0, INF, "[)"), "adam_lr_ratio": (0.0, INF, "[)"),
    "ns_steps": (0, INF, "[)"), "rms_rate": (0.0, INF, "()"),
    "warmup_steps": (0, INF, "[)"),
}  # fmt: skip
INTEGRAL = {"gradient_accumulation_steps", "units", "dynamic_growth_steps",
            "ns_steps", "warmup_steps"}  # fmt: skip
# None means "off" for these
OPTIONAL = {"clipnorm", "clipvalue", "global_clipnorm", "weight_decay",
            "gradient_accumulation_steps", "rate", "loss_scale_factor",
            "adam_weight_decay", "rms_rate"}  # fmt: skip


def checked(owner: str, name: str, value: Any) -> Any:
    """`value` if it is a valid `name` hyperparameter, else a ValueError.

    Example:
      >>> checked("Adam", "beta_1", float("nan"))
      Traceback (most recent call last):
      ...
      ValueError: Adam: beta_1 must be a finite number in [0.0, 1.0), received nan.
    """
    if value is None and name in OPTIONAL:
        return value
    if name == "learning_rate" and callable(value):
        return value  # a schedule
    low, high, brackets = RANGES[name]
    integral = name in INTEGRAL
    scalar = getattr(value, "shape", None) == () and not integral  # a 0-d array
    kind = (int, np.integer) if integral else (int, float, np.integer, np.floating)
    ok = (isinstance(value, kind) or scalar) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value))
    ok = ok and (value >= low if brackets[0] == "[" else value > low)
    ok = ok and (value <= high if brackets[1] == "]" else value < high)
    if not ok:
        what = "an integer" if integral else "a finite number"
        raise ValueError(
            f"{owner}: {name} must be {what} in {brackets[0]}{low}, {high}"
            f"{brackets[1]}, received {value!r:.80}."
        )
    return value


def _non_finite(value: Any, path: str) -> tuple[str, float] | None:
    """`(path, number)` of the first non-finite number in `value`, else None."""
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return path, float(value)
    items = (
        value.items() if isinstance(value, dict)
        else enumerate(value) if isinstance(value, list | tuple) else ()
    )  # fmt: skip
    for key, item in items:
        found = _non_finite(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


def check_config(owner: str, config: Any) -> None:
    """Refuses a config holding a non-finite number anywhere, or a named
    hyperparameter (`RANGES`) out of its range, naming `owner` and the entry."""
    if not isinstance(config, dict):
        return
    for name, value in config.items():
        found = _non_finite(value, name)
        if found is not None:
            raise ValueError(
                f"{owner}: the config's {found[0]} must be a finite number, "
                f"received {found[1]}. Hint: a file that holds it was written by "
                "a run that diverged, or edited by hand."
            )
        if name in RANGES and not isinstance(value, dict | list | str):
            checked(owner, name, value)
