"""The optimizers optax implements as Keras does: SGD, Adam, AdamW, RMSprop,
Adagrad, Adadelta, Adamax and Lion (Keras's defaults throughout).

Example:
  >>> tx = SGD(0.1, momentum=0.9).transform()
  >>> updates, _ = tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.ones(2)}))
  >>> updates["w"].tolist()
  [-0.10000000149011612, -0.10000000149011612]
"""

from __future__ import annotations

from typing import Any

import optax

from train.optimizers import rules
from train.optimizers.base import AdamFamily, Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Example:
      >>> SGD().learning_rate, SGD(momentum=0.9, nesterov=True).nesterov
      (0.01, True)
    """

    hyperparameters = ("momentum", "nesterov")
    default_name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum, self.nesterov = momentum, nesterov

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return optax.sgd(learning_rate, self.momentum or None, self.nesterov)


class Adam(Optimizer):
    """Adam (Keras's defaults: betas 0.9 and 0.999, epsilon 1e-7); with
    `amsgrad`, the denominator uses the largest second moment seen.

    Example:
      >>> Adam(3e-4).learning_rate
      0.0003
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon", "amsgrad")
    default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.amsgrad = amsgrad

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        rule = rules.scale_by_keras_adam(
            self.beta_1, self.beta_2, self.epsilon, self.amsgrad
        )
        return optax.chain(rule, optax.scale(-learning_rate))


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004, as Keras).

    Example:
      >>> AdamW(weight_decay=0.01).weight_decay
      0.01
    """

    default_name = "adam_w"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):  # fmt: skip
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)  # fmt: skip


class RMSprop(Optimizer):
    """RMSprop (Keras's defaults: rho 0.9, epsilon 1e-7).

    Example:
      >>> RMSprop(momentum=0.9).momentum
      0.9
    """

    hyperparameters = ("rho", "momentum", "epsilon", "centered")
    default_name = "rm_sprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon = rho, momentum, epsilon
        self.centered = centered

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return optax.rmsprop(
            learning_rate, self.rho, self.epsilon, centered=self.centered,
            momentum=self.momentum or None,
        )  # fmt: skip


class Adagrad(Optimizer):
    """Adagrad (Keras's defaults: initial accumulator 0.1, epsilon 1e-7).

    Example:
      >>> Adagrad(0.01).learning_rate
      0.01
    """

    hyperparameters = ("initial_accumulator_value", "epsilon")
    default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1,
                 epsilon=1e-7, **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return optax.adagrad(
            learning_rate, self.initial_accumulator_value, self.epsilon
        )


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of past steps to that
    of gradients (Keras's defaults: rho 0.95, epsilon 1e-7).

    Example:
      >>> Adadelta(1.0, rho=0.9).rho
      0.9
    """

    hyperparameters = ("rho", "epsilon")
    default_name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return optax.adadelta(learning_rate, self.rho, self.epsilon)


class Adamax(AdamFamily):
    """Adamax: Adam with the infinity norm in place of the second moment.

    Example:
      >>> Adamax(2e-3).learning_rate
      0.002
    """

    default_name = "adamax"

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        return optax.adamax(learning_rate, self.beta_1, self.beta_2, self.epsilon)


class Lion(Optimizer):
    """Lion (Keras's defaults: betas 0.9 and 0.99).

    Example:
      >>> Lion(1e-4).learning_rate
      0.0001
    """

    hyperparameters = ("beta_1", "beta_2")
    default_name = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        # optax's lion decays weights by 1e-3 unless told; Keras's does not
        return optax.lion(learning_rate, self.beta_1, self.beta_2, weight_decay=0.0)
