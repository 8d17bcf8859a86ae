"""Optimizers by name or object, built on optax, with Keras's names and keywords.

An optimizer is a small configuration object whose `transform()` gives the
optax `GradientTransformation` (see `train.optimizers.base`): `classic` holds
those optax implements as Keras does (SGD, Adam, AdamW, RMSprop, Adagrad,
Adadelta, Adamax, Lion), `keras_only` those whose rule is Keras's own (Nadam,
Ftrl, Lamb, Adafactor; see `rules`), `muon` and `schedule_free` two more of
those, `loss_scale` the dynamic loss scaling that wraps any of them, `multi`
an optimizer per weight path (MultiOptimizer, OptimizerMap), `ema` the
moving average of the weights (`use_ema`), and `schedules` the learning-rate
schedules. An optimizer
saves as data (`serialize`), its schedule included.

Example:
  >>> opt = get("nadam")
  >>> opt.name, opt.learning_rate
  ('nadam', 0.001)
"""

from __future__ import annotations

from typing import Any

from stateless.lookup import lookup
from train.optimizers import schedules as schedules
from train.optimizers.base import COMMON
from train.optimizers.base import Optimizer as Optimizer
from train.optimizers.base import learning_rate_of as learning_rate_of
from train.optimizers.base import with_learning_rate as with_learning_rate
from train.optimizers.classic import SGD as SGD
from train.optimizers.classic import Adadelta as Adadelta
from train.optimizers.classic import Adagrad as Adagrad
from train.optimizers.classic import Adam as Adam
from train.optimizers.classic import Adamax as Adamax
from train.optimizers.classic import AdamW as AdamW
from train.optimizers.classic import Lion as Lion
from train.optimizers.classic import RMSprop as RMSprop
from train.optimizers.ema import ema_of as ema_of
from train.optimizers.keras_only import Adafactor as Adafactor
from train.optimizers.keras_only import Ftrl as Ftrl
from train.optimizers.keras_only import Lamb as Lamb
from train.optimizers.keras_only import Nadam as Nadam
from train.optimizers.loss_scale import LossScaleOptimizer as LossScaleOptimizer
from train.optimizers.multi import MultiOptimizer as MultiOptimizer
from train.optimizers.multi import OptimizerMap as OptimizerMap
from train.optimizers.muon import Muon as Muon
from train.optimizers.schedule_free import ScheduleFreeAdamW as ScheduleFreeAdamW

CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Ftrl, Lion,
           Lamb, Adafactor, Muon, ScheduleFreeAdamW, LossScaleOptimizer,
           MultiOptimizer)  # fmt: skip
_WRAPPERS = (LossScaleOptimizer, MultiOptimizer)  # no defaults: built around others
_BY_CLASS = {cls.__name__: cls for cls in CLASSES}
_BY_NAME = {  # a name stands for an optimizer with Keras's defaults: no wrappers
    name: cls for cls in CLASSES if cls not in _WRAPPERS
    for name in (cls.__name__.lower(), cls.default_name)
}  # fmt: skip


def get(identifier: str | Optimizer) -> Optimizer:
    """The optimizer a name (with Keras's defaults) or object stands for.

    Example:
      >>> get("adam")
      <Adam learning_rate=0.001>
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return lookup("optimizer", identifier.lower(), _BY_NAME)()
    raise ValueError(
        f"cannot interpret {identifier!r:.80} as an optimizer: pass a name such "
        "as 'adam' or an object such as train.optimizers.Adam(1e-3)."
    )


def _plain(owner: str, key: str, value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if key == "name" and isinstance(value, str):
        return value
    if key == "exclude_layers" and isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return list(value)
    if key == "inner_optimizer" and isinstance(value, dict):
        return serialize(deserialize(value))  # checked, as data all the way down
    if key == "optimizer_map" and isinstance(value, dict):
        return OptimizerMap.from_config(value).get_config()  # checked likewise
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if key == "learning_rate" and isinstance(value, dict):
        return schedules.serialize(schedules.deserialize(value))  # checked
    hint = (
        "a schedule saves when it is a train.optimizers.schedules class (or "
        "one of yours with get_config); set a float learning_rate otherwise."
        if key == "learning_rate" and callable(value)
        else "pass plain numbers."
    )
    raise ValueError(f"{owner}: {key}={value!r:.80} is not a number. Hint: {hint}")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """`{"class_name", "config"}` for one of the optimizers here (data only; a
    schedule as nested `{"class_name", "config"}`).

    Raises:
      ValueError: another class, or a hyperparameter (e.g. a plain function as
        the rate) that is not data.

    Example:
      >>> spec = serialize(Adam(3e-4))
      >>> spec["class_name"], spec["config"]["learning_rate"]
      ('Adam', 0.0003)
      >>> deserialize(spec)
      <Adam learning_rate=0.0003>
    """
    name = type(optimizer).__name__
    if _BY_CLASS.get(name) is not type(optimizer):
        raise ValueError(
            f"cannot serialize an optimizer of type {type(optimizer).__qualname__}; "
            f"only {', '.join(_BY_CLASS)} from train.optimizers can be."
        )
    config = optimizer.get_config()
    return {
        "class_name": name,
        "config": {k: _plain(name, k, v) for k, v in config.items()},
    }


def deserialize(spec: Any) -> Optimizer:
    """Rebuilds an optimizer from `serialize`'s output, accepting data only.

    Raises:
      ValueError: an unknown class, unknown hyperparameters, or values that
        are not numbers, bools, None, a name or a schedule's data.
    """
    if not isinstance(spec, dict) or not {"class_name", "config"} <= set(spec):
        raise ValueError(f"optimizer: expected {{class_name, config}}: {spec!r:.200}")
    name, config = spec["class_name"], spec["config"]
    if not isinstance(name, str):
        raise ValueError(f"optimizer: refusing class {name!r:.80}.")
    cls = lookup("optimizer", name, _BY_CLASS)
    allowed = {"learning_rate", *COMMON, *cls.hyperparameters}
    if not isinstance(config, dict) or not set(config) <= allowed:
        unknown = sorted(set(config) - allowed) if isinstance(config, dict) else config
        raise ValueError(f"optimizer {name}: unknown options {unknown!r:.200}.")
    for key, value in config.items():
        _plain(name, key, value)
    return cls.from_config(config)
