"""Dynamic loss scaling as an optimizer that wraps another (Keras's
`LossScaleOptimizer`), for float16 training.

The step multiplies the loss by the current scale before differentiating;
this optimizer divides the gradients by it, skips a step whose gradients are
not finite (halving the scale), and doubles the scale after
`dynamic_growth_steps` finite steps in a row (see `train.precision`). Under a
`mixed_float16` policy `compile` wraps an optimizer this way on its own;
wrapping it yourself sets the scale's start and growth.

Example:
  >>> from train.optimizers import SGD
  >>> opt = LossScaleOptimizer(SGD(1.0), initial_scale=4.0)
  >>> tx = opt.transform()
  >>> state = tx.init({"w": jnp.zeros(1)})
  >>> updates, state = tx.update({"w": jnp.array([8.0])}, state)  # 4 x grad 2
  >>> updates["w"].tolist(), float(state.scale)
  ([-2.0], 4.0)
"""

from __future__ import annotations

from typing import Any

import optax

from train.optimizers.base import COMMON, Optimizer, Schedule
from train.precision import dynamic_loss_scale


class LossScaleOptimizer(Optimizer, common_keywords=False):
    """`inner_optimizer` applied to gradients of a dynamically scaled loss.

    Args:
      inner_optimizer: the optimizer that applies the unscaled gradients (its
        own `loss_scale_factor` is switched off, as Keras does).
      initial_scale: the first scale (> 0); a high one falls fast.
      dynamic_growth_steps: finite steps in a row after which it doubles.
      name: defaults to "loss_scale_optimizer".
      **kwargs: Keras's common keywords, accepted at their defaults only (set
        them on the inner optimizer).

    Example:
      >>> from train.optimizers import Adam
      >>> opt = LossScaleOptimizer(Adam(0.01))
      >>> opt.learning_rate, opt.initial_scale
      (0.01, 32768.0)
    """

    hyperparameters = ("inner_optimizer", "initial_scale", "dynamic_growth_steps")
    default_name = "loss_scale_optimizer"

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0**15,
                 dynamic_growth_steps: int = 2000, name: str | None = None,
                 **kwargs: Any):  # fmt: skip
        for key, value in kwargs.items():
            if key not in COMMON or key == "name":
                raise ValueError(f"LossScaleOptimizer: unknown argument {key!r}.")
            if value != COMMON[key]:
                raise ValueError(
                    f"LossScaleOptimizer does not take {key}={value!r}. Hint: set "
                    f"{key} on the inner optimizer."
                )
        if not isinstance(inner_optimizer, Optimizer) or isinstance(
            inner_optimizer, LossScaleOptimizer
        ):
            raise ValueError(
                "LossScaleOptimizer: inner_optimizer must be a train.optimizers "
                "optimizer other than a LossScaleOptimizer, received "
                f"{inner_optimizer!r:.80}."
            )
        self.inner_optimizer = inner_optimizer
        inner_optimizer.loss_scale_factor = None  # else scaled twice
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        self.name = self.default_name if name is None else name

    def __getattr__(self, name: str) -> Any:
        # Keras's common keywords (use_ema, clipnorm...) read the inner one's.
        if name in COMMON and "inner_optimizer" in vars(self):
            return getattr(self.inner_optimizer, name)
        raise AttributeError(f"LossScaleOptimizer has no attribute {name!r}.")

    @property
    def learning_rate(self) -> float | Schedule:
        """The inner optimizer's rate; assigning one sets it there."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, rate: float | Schedule) -> None:
        self.inner_optimizer.learning_rate = rate

    def follow(self, run: Any) -> None:
        self.inner_optimizer.follow(run)

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        """The inner rule (`transform` wraps the inner optimizer's whole)."""
        return self.inner_optimizer._core(learning_rate)

    def transform(self) -> optax.GradientTransformation:
        return dynamic_loss_scale(
            self.inner_optimizer.transform(), self.initial_scale,
            self.dynamic_growth_steps,
        )  # fmt: skip

    @property
    def scales_loss(self) -> bool:
        return True

    def scale_loss(self, loss: Any) -> Any:
        """`loss` times the current scale: the built state's, else the first."""
        built = vars(self).get("_built_variables")
        scale = self.initial_scale if built is None else built[0]
        return loss * scale

    def get_config(self) -> dict[str, Any]:
        """Keras's: the name, the inner optimizer's spec and the scaling."""
        from train.optimizers import serialize  # the registry imports this module

        return {
            "name": self.name,
            "inner_optimizer": serialize(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LossScaleOptimizer:
        from train.optimizers import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("inner_optimizer")), **config)
