"""Weight constraints: projections applied to a weight after each update.

Keras's four, under Keras's names and arguments. A constraint is a pure
function `w -> w`; `add_weight(constraint=...)` attaches one to a weight,
and `fit` applies it right after the optimizer's update (through
`train.projection`), so the stored weight always satisfies it, as in Keras.
Norms are taken over `axis` (0 by default: per output unit of a Dense
kernel), with Keras's epsilon of 1e-7.

Example:
  >>> w = jnp.array([[3.0, 0.0], [4.0, 1.0]])
  >>> (MaxNorm(max_value=1.0)(w) * 10).round().tolist()
  [[6.0, 0.0], [8.0, 10.0]]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nn.registry import register
from stateless import ops
from stateless.lookup import lookup

EPSILON = 1e-7


def _norms(w: Any, axis: Any) -> Any:
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


@dataclass(frozen=True)
class Constraint:
    """Base class: a frozen config whose call projects a weight."""

    def __call__(self, w: Any) -> Any:
        return w

    def get_config(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Constraint:
        return cls(**config)


@register()
@dataclass(frozen=True)
class MaxNorm(Constraint):
    """Scales each slice along `axis` down to a norm of at most `max_value`."""

    max_value: float = 2.0
    axis: Any = 0

    def __call__(self, w: Any) -> Any:
        norms = _norms(w, self.axis)
        return w * (ops.clip(norms, 0.0, self.max_value) / (EPSILON + norms))


@register()
@dataclass(frozen=True)
class MinMaxNorm(Constraint):
    """Moves each slice's norm toward `[min_value, max_value]` by `rate`."""

    min_value: float = 0.0
    max_value: float = 1.0
    rate: float = 1.0
    axis: Any = 0

    def __call__(self, w: Any) -> Any:
        norms = _norms(w, self.axis)
        clipped = ops.clip(norms, self.min_value, self.max_value)
        desired = self.rate * clipped + (1.0 - self.rate) * norms
        return w * (desired / (EPSILON + norms))


@register()
@dataclass(frozen=True)
class NonNeg(Constraint):
    """Sets negative entries to zero."""

    def __call__(self, w: Any) -> Any:
        return w * ops.cast(w >= 0.0, w.dtype)


@register()
@dataclass(frozen=True)
class UnitNorm(Constraint):
    """Scales each slice along `axis` to a norm of 1."""

    axis: Any = 0

    def __call__(self, w: Any) -> Any:
        return w / (EPSILON + _norms(w, self.axis))


_NAMED = {
    "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg, "unit_norm": UnitNorm,
}  # fmt: skip


def get(identifier: Any) -> Any:
    """The constraint a name or object stands for (None for none).

    Example:
      >>> get("non_neg")
      NonNeg()
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        return lookup("constraint", identifier, _NAMED)()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"cannot interpret {identifier!r:.80} as a constraint: pass a name such "
        "as 'non_neg', a Constraint object or a function w -> w."
    )
