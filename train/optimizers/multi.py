"""Different optimizers for different weights (Keras's `MultiOptimizer` and
`OptimizerMap`).

An `OptimizerMap` names an optimizer per weight path (`"encoder/.*"`: a
regular expression matched against the whole path, an exact path first) and
a default for the rest; a plain function `weight -> optimizer` serves too
(`weight.path`, `.shape`, `.dtype`, as a Keras variable's). Each weight is
assigned once, the first time the transformation meets it, and each
optimizer updates its own weights with its own state (`optax.multi_transform`).
As in Keras, a MultiOptimizer has no learning rate of its own: read and set
each one's (`multi.optimizers[i].learning_rate = ...`, which a running fit
follows).

Example:
  >>> from train.optimizers import SGD, Adam
  >>> mapping = OptimizerMap(SGD(0.1), {"head/.*": Adam(0.01)})
  >>> mapping["head/kernel"].name, mapping["body/kernel"].name
  ('adam', 'sgd')
  >>> multi = MultiOptimizer(mapping)
  >>> params = {"body": {"kernel": jnp.ones(2)}, "head": {"kernel": jnp.ones(2)}}
  >>> tx = multi.transform()
  >>> grads = jax.tree.map(jnp.ones_like, params)
  >>> updates, _ = tx.update(grads, tx.init(params), params)
  >>> [round(u, 3) for u in updates["body"]["kernel"].tolist()]  # SGD: -0.1 g
  [-0.1, -0.1]
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from stateless.tree_paths import path_name
from train.optimizers.base import Optimizer
from train.optimizers.ema import ema_of, wrapped_field
from train.optimizers.loss_scale import LossScaleOptimizer
from train.precision import fixed_loss_scale


def _check_inner(optimizer: Any, where: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer) or isinstance(
        optimizer, LossScaleOptimizer | MultiOptimizer
    ):
        raise ValueError(
            f"{where} must be a train.optimizers optimizer other than a "
            f"LossScaleOptimizer or MultiOptimizer, received {optimizer!r:.80}."
        )
    return optimizer


class OptimizerMap(MutableMapping):
    """Weight paths (or regular expressions over them) -> optimizers, with a
    default for every weight no key matches.

    Args:
      default_optimizer: the optimizer of the weights no key names.
      optimizer_map: `{path or pattern: optimizer}`.

    Example:
      >>> from train.optimizers import SGD, Adam
      >>> mapping = OptimizerMap(SGD())
      >>> mapping["encoder/.*"] = Adam()
      >>> mapping["encoder/dense/kernel"].name
      'adam'
    """

    def __init__(self, default_optimizer: Optimizer,
                 optimizer_map: dict[str, Optimizer] | None = None):  # fmt: skip
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                "OptimizerMap: default_optimizer must be a train.optimizers "
                f"optimizer, received {default_optimizer!r:.80}."
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                "OptimizerMap: optimizer_map must be a dict of path patterns to "
                f"optimizers, received {optimizer_map!r:.80}."
            )
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, path: str) -> Optimizer:
        """The optimizer of `path`: its exact key's, else the one pattern that
        matches it whole, else the default.

        Raises:
          ValueError: when several patterns match `path`.
        """
        if path in self._optimizer_map:
            return self._optimizer_map[path]
        matching = [k for k in self._optimizer_map if re.fullmatch(k, path)]
        if len(matching) > 1:
            raise ValueError(
                f"OptimizerMap: the weight {path!r} matches several patterns "
                f"{matching}; make them exclusive."
            )
        return self._optimizer_map[matching[0]] if matching else self.default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: a key must be a string, received {key!r}.")
        if key in self._optimizer_map:
            raise ValueError(
                f"OptimizerMap: {key!r} is already mapped to "
                f"{self._optimizer_map[key]!r}; a key is set once."
            )
        self._optimizer_map[key] = _check_inner(optimizer, f"OptimizerMap[{key!r}]")

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, weight: Any) -> Optimizer:
        return self[weight.path]

    def get_config(self) -> dict[str, Any]:
        """The default and each key's optimizer as `{"class_name", "config"}`."""
        from train.optimizers import serialize  # the registry imports this module

        return {
            "default_optimizer": serialize(self.default_optimizer),
            "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()},
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> OptimizerMap:
        from train.optimizers import deserialize

        mapping = {k: deserialize(v) for k, v in config["optimizer_map"].items()}
        return cls(deserialize(config["default_optimizer"]), mapping)


class Weight(NamedTuple):
    """What an optimizer function is given for a weight: Keras's variable's
    `path`, `shape` and `dtype` (and `name`, the path's last part)."""

    path: str
    shape: tuple[int, ...]
    dtype: Any

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class _Slot:
    """Tells a run of a new rate of one of the optimizers, for its slot."""

    def __init__(self, run: Any, key: str):
        self.run, self.key = run, key

    def rate_changed(self, rate: Any) -> None:
        self.run.rate_changed(rate, slot=self.key)


_NO_RATE = ("MultiOptimizer has no learning rate of its own: read or set each "
            "optimizer's (multi.optimizers[i].learning_rate).")  # fmt: skip


class MultiOptimizer(Optimizer, common_keywords=False):
    """Each weight updated by the optimizer `optimizer_map` gives it.

    Args:
      optimizer_map: an `OptimizerMap`, or a function `weight -> optimizer`
        (it is called once per weight; the same optimizer object for several
        weights updates them together).
      loss_scale_factor: a fixed loss scale for all of them (theirs is
        switched off, as Keras does).
      name: defaults to "multi_optimizer".

    Example:
      >>> from train.optimizers import SGD, Adam
      >>> adam, sgd = Adam(), SGD()
      >>> multi = MultiOptimizer(lambda w: adam if len(w.shape) > 1 else sgd)
      >>> len(multi.optimizers)  # known as they are met
      0
    """

    hyperparameters = ("optimizer_map", "loss_scale_factor")
    default_name = "multi_optimizer"

    def __init__(
        self,
        optimizer_map: OptimizerMap | Callable[[Weight], Optimizer],
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ):
        if not callable(optimizer_map):
            raise ValueError(
                "MultiOptimizer: optimizer_map must be an OptimizerMap or a "
                f"function weight -> optimizer, received {optimizer_map!r:.80}."
            )
        self.optimizer_map = optimizer_map
        self._optimizers: list[Optimizer] = []
        self._assigned: dict[str, int] = {}
        # each run that follows this optimizer -> the followers it holds for it
        self._slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        if isinstance(optimizer_map, OptimizerMap):
            for optimizer in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                self._index(optimizer)
        self.loss_scale_factor = loss_scale_factor
        self.name = self.default_name if name is None else name

    def _index(self, optimizer: Optimizer) -> int:
        for i, known in enumerate(self._optimizers):
            if known is optimizer:
                return i
        self._optimizers.append(optimizer)
        optimizer.loss_scale_factor = None  # scaled once, by this one
        index = len(self._optimizers) - 1
        for run, slots in self._slots.items():  # met after the run began
            slots.append(_Slot(run, str(index)))
            optimizer.follow(slots[-1])
        return index

    @property
    def optimizers(self) -> list[Optimizer]:
        """The optimizers, in the order they were met."""
        return list(self._optimizers)

    @property
    def learning_rate(self) -> Any:
        """Refused, as in Keras: each optimizer has its own."""
        raise AttributeError(_NO_RATE)

    @learning_rate.setter
    def learning_rate(self, rate: Any) -> None:
        raise AttributeError(_NO_RATE)

    @property
    def use_ema(self) -> bool:
        return any(o.use_ema for o in self._optimizers)

    def follow(self, run: Any) -> None:
        """Tells `run` of each new rate of any of the optimizers, for its slot."""
        slots = [_Slot(run, str(i)) for i in range(len(self._optimizers))]
        self._slots[run] = slots  # held as long as the run
        for optimizer, slot in zip(self._optimizers, slots):
            optimizer.follow(slot)

    def _labels(self, tree: Any) -> Any:
        def label(path, leaf):
            name = path_name(path)
            if name not in self._assigned:
                weight = Weight(name, tuple(jnp.shape(leaf)), leaf.dtype)
                where = f"MultiOptimizer: the optimizer of {name!r}"
                chosen = _check_inner(self.optimizer_map(weight), where)
                self._assigned[name] = self._index(chosen)
            return str(self._assigned[name])

        return jax.tree_util.tree_map_with_path(label, tree)

    def _partition(self, tree: Any) -> optax.GradientTransformation:
        labels = self._labels(tree)
        keys = sorted(set(jax.tree.leaves(labels)), key=int)
        txs = {k: self._optimizers[int(k)].transform() for k in keys}
        return optax.multi_transform(txs, labels)

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        """Unused: `transform` gives each weight its own optimizer's whole."""
        raise TypeError("MultiOptimizer has no single rule; call transform().")

    def transform(self) -> optax.GradientTransformation:
        tx = optax.GradientTransformation(
            lambda params: self._partition(params).init(params),
            lambda grads, state, params=None: self._partition(grads).update(
                grads, state, params
            ),
        )  # fmt: skip
        if self.loss_scale_factor is not None:
            tx = fixed_loss_scale(tx, self.loss_scale_factor)
        return tx

    def finalized(self, params: Any, opt_state: Any) -> Any:
        """The weights with each `use_ema` optimizer's average in place of
        those it updates (Keras's `finalize_variable_values`)."""
        while (field := wrapped_field(opt_state)) is not None:
            opt_state = getattr(opt_state, field)
        for key, slot in opt_state.inner_states.items():
            ema = (
                ema_of(slot.inner_state) if self._optimizers[int(key)].use_ema else None
            )
            if ema is not None:
                params = jax.tree.map(
                    lambda a, p: p if isinstance(a, optax.MaskedNode) else a,
                    ema, params, is_leaf=lambda x: isinstance(x, optax.MaskedNode),
                )  # fmt: skip
        return params

    def get_config(self) -> dict[str, Any]:
        """Keras's: the map's config, the loss scale and the name.

        Raises:
          ValueError: when the map is a function (code, not data: use an
            `OptimizerMap` to save the model with its optimizer).
        """
        if not isinstance(self.optimizer_map, OptimizerMap):
            raise ValueError(
                "MultiOptimizer: a function optimizer_map cannot be saved as data; "
                "use an OptimizerMap of path patterns to save it."
            )
        return {
            "name": self.name,
            "optimizer_map": self.optimizer_map.get_config(),
            "loss_scale_factor": self.loss_scale_factor,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MultiOptimizer:
        config = dict(config)
        mapping = OptimizerMap.from_config(config.pop("optimizer_map"))
        return cls(mapping, **config)
