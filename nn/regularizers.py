"""Weight penalties that a layer adds to the training loss.

A layer field named `<param>_regularizer` penalizes the parameter `<param>`
(`kernel_regularizer` penalizes `kernel`); `Layer.penalty(params)` sums them
and models sum their layers' penalties.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nn.registry import register
from stateless import ops
from stateless.lookup import lookup


@register()
@dataclass(frozen=True)
class L1L2:
    """`l1 * sum(|w|) + l2 * sum(w**2)`.

    Example:
      >>> float(L1L2(l1=0.5, l2=0.25)(jnp.array([1.0, -2.0])))
      2.75
    """

    l1: float = 0.0
    l2: float = 0.0

    def __call__(self, w: Any) -> Any:
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * ops.sum(ops.abs(w))
        if self.l2:
            penalty = penalty + self.l2 * ops.sum(ops.square(w))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> L1L2:
        return cls(**config)


def L1(l1: float = 0.01) -> L1L2:  # noqa: N802 (Keras's name)
    """An L1 penalty (Keras's default factor 0.01).

    Example:
      >>> L1(0.1)
      L1L2(l1=0.1, l2=0.0)
    """
    return L1L2(l1=l1)


def L2(l2: float = 0.01) -> L1L2:  # noqa: N802 (Keras's name)
    """An L2 penalty (Keras's default factor 0.01).

    Example:
      >>> L2(0.1)
      L1L2(l1=0.0, l2=0.1)
    """
    return L1L2(l2=l2)


_NAMED = {"l1": L1(), "l2": L2(), "l1_l2": L1L2(0.01, 0.01)}


def get(identifier: str | L1L2 | None) -> L1L2 | None:
    """The regularizer a name or object stands for (None for none).

    Example:
      >>> get("l2")
      L1L2(l1=0.0, l2=0.01)
    """
    if identifier is None or isinstance(identifier, L1L2):
        return identifier
    if isinstance(identifier, str):
        return lookup("regularizer", identifier, _NAMED)
    raise ValueError(
        f"cannot interpret {identifier!r:.80} as a regularizer: pass a name such "
        "as 'l2' or L1L2(l1=..., l2=...)."
    )
