"""Optimizers whose update rule is Keras's own (see `train.optimizers.rules`):
Nadam and Ftrl.

Example:
  >>> tx = Nadam(0.01).transform()
  >>> updates, _ = tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.ones(2)}))
  >>> updates["w"].shape
  (2,)
"""

from __future__ import annotations

from typing import Any

import optax

from train.optimizers import rules
from train.optimizers.base import AdamFamily, Optimizer


class Nadam(AdamFamily):
    """Adam with Nesterov momentum and Dozat's momentum schedule (Keras's
    defaults: betas 0.9 and 0.999, epsilon 1e-7).

    Example:
      >>> Nadam().beta_2
      0.999
    """

    default_name = "nadam"

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        rule = rules.scale_by_keras_nadam(self.beta_1, self.beta_2, self.epsilon)
        return optax.chain(rule, optax.scale(-learning_rate))


class Ftrl(Optimizer):
    """Follow-the-regularized-leader, proximal (McMahan et al., 2013), for
    wide sparse models; L1 makes weights exactly zero.

    Args:
      learning_rate_power: <= 0; -0.5 (the default) for a rate that falls with
        the square root of the accumulated squared gradients, 0 for a fixed one.
      initial_accumulator_value: >= 0, the accumulators' start.
      l1_regularization_strength, l2_regularization_strength: >= 0.
      l2_shrinkage_regularization_strength: >= 0, an L2 penalty added to the
        gradient (a magnitude penalty, unlike the stabilizing L2 above).
      beta: >= 0, added to the L2 strength as `beta / (2 * learning_rate)`.

    Example:
      >>> Ftrl(l1_regularization_strength=0.01).learning_rate_power
      -0.5
    """

    hyperparameters = (
        "learning_rate_power", "initial_accumulator_value",
        "l1_regularization_strength", "l2_regularization_strength",
        "l2_shrinkage_regularization_strength", "beta",
    )  # fmt: skip
    default_name = "ftrl"

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0,
                 **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        values = dict(zip(self.hyperparameters, (
            learning_rate_power, initial_accumulator_value,
            l1_regularization_strength, l2_regularization_strength,
            l2_shrinkage_regularization_strength, beta)))  # fmt: skip
        for key, value in values.items():
            at_most_zero = key == "learning_rate_power"
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or (value > 0 if at_most_zero else value < 0)
            ):
                raise ValueError(
                    f"Ftrl: {key} must be a number "
                    f"{'<= 0' if at_most_zero else '>= 0'}, received {value!r}."
                )
            setattr(self, key, value)

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return rules.keras_ftrl(
            learning_rate, self.learning_rate_power, self.initial_accumulator_value,
            self.l1_regularization_strength, self.l2_regularization_strength,
            self.l2_shrinkage_regularization_strength, self.beta,
        )  # fmt: skip


class Lamb(AdamFamily):
    """LAMB (You et al., 2019): Adam's step scaled per array by the trust
    ratio of the weights' norm to the step's (Keras's defaults).

    Example:
      >>> Lamb(1e-2).beta_1
      0.9
    """

    default_name = "lamb"

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        rule = rules.scale_by_keras_lamb(self.beta_1, self.beta_2, self.epsilon)
        return optax.chain(rule, optax.scale(-learning_rate))


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018): a matrix's second moment kept as
    row and column means (memory linear in its sides), steps relative to the
    weights' scale (see `rules.keras_adafactor`).

    Args:
      beta_2_decay: the second moment's decay, `1 - t ** beta_2_decay`.
      epsilon_1: added to squared gradients.
      epsilon_2: the smallest weight scale a step is relative to.
      clip_threshold: the largest RMS of an update before scaling.
      relative_step: whether the rate is capped at `1 / sqrt(t)`.

    Example:
      >>> Adafactor().epsilon_2
      0.001
    """

    hyperparameters = ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold",
                       "relative_step")  # fmt: skip
    default_name = "adafactor"

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=0.001, clip_threshold=1.0, relative_step=True,
                 **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1 = beta_2_decay, epsilon_1
        self.epsilon_2, self.clip_threshold = epsilon_2, clip_threshold
        self.relative_step = relative_step

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return rules.keras_adafactor(
            learning_rate, self.beta_2_decay, self.epsilon_1, self.epsilon_2,
            self.clip_threshold,
        )  # fmt: skip
