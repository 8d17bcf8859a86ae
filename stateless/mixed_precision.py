"""Dtype policies: which dtype variables are stored in, and which math runs in.

`"mixed_float16"` and `"mixed_bfloat16"` keep variables in float32 and compute
in the half type; float16 training also needs dynamic loss scaling (its range
is narrow), which `Policy.uses_loss_scaling` tells the training loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from stateless.errors import DTypeError

_COMPUTE = {
    "float32": "float32",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "float64": "float64",
    "mixed_float16": "float16",
    "mixed_bfloat16": "bfloat16",
}


@dataclass(frozen=True)
class Policy:
    """A named dtype policy.

    Args:
      name: `"mixed_float16"` or `"mixed_bfloat16"` (float32 variables,
        half-precision math), or one float dtype for both (`"float32"`,
        `"bfloat16"`, `"float16"`, `"float64"`).

    Example:
      >>> p = Policy("mixed_bfloat16")
      >>> p.compute_dtype, p.variable_dtype, p.uses_loss_scaling
      ('bfloat16', 'float32', False)
      >>> Policy("bfloat16").variable_dtype
      'bfloat16'
    """

    name: str

    def __post_init__(self):
        if self.name not in _COMPUTE:
            raise DTypeError(
                f"unknown dtype policy {self.name!r}. "
                f"Valid names: {', '.join(_COMPUTE)}."
            )

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in."""
        return _COMPUTE[self.name]

    @property
    def variable_dtype(self) -> str:
        """The dtype variables are created and stored in: float32 under a
        mixed policy, else the policy's one dtype."""
        return "float32" if self.name.startswith("mixed_") else self.name

    @property
    def uses_loss_scaling(self) -> bool:
        """Whether training should scale the loss dynamically (float16 only)."""
        return self.compute_dtype == "float16"


_global_policy = Policy("float32")


def set_global_policy(policy: str | Policy) -> None:
    """Sets the policy that layers created from now on follow.

    Example:
      >>> import stateless as sl
      >>> sl.mixed_precision.set_global_policy("mixed_float16")
      >>> sl.mixed_precision.global_policy().compute_dtype
      'float16'
      >>> sl.mixed_precision.set_global_policy("float32")
    """
    global _global_policy
    _global_policy = policy if isinstance(policy, Policy) else Policy(policy)


def global_policy() -> Policy:
    """The current global policy (`"float32"` unless set).

    Example:
      >>> global_policy().name
      'float32'
    """
    return _global_policy
