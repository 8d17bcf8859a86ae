"""Initializers by name or object: `(key, shape, dtype) -> array`.

They are `jax.nn.initializers` underneath. Named ones follow Keras
(`"glorot_uniform"`, `"he_normal"`, `"lecun_normal"`, `"orthogonal"`, `"zeros"`,
`"ones"`...). Fans are read as Keras reads kernels:
the last axis is the output, the one before it the input, and any leading
(spatial) axes multiply both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any

import jax

from nn.registry import register
from stateless.dtypes import standardize_dtype

jinit = jax.nn.initializers


@dataclass(frozen=True)
class Initializer(ABC):
    """Base class: a frozen config whose `build()` gives the JAX initializer."""

    @abstractmethod
    def build(self) -> Any:
        """The `jax.nn.initializers`-style function `(key, shape, dtype)`."""

    def __call__(self, key: jax.Array, shape: tuple[int, ...], dtype: Any = "float32"):
        return self.build()(key, tuple(shape), standardize_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Initializer:
        return cls(**config)


@register()
@dataclass(frozen=True)
class Constant(Initializer):
    """Every entry equals `value`.

    Example:
      >>> Constant(0.5)(sl.random.key(0), (2,)).tolist()
      [0.5, 0.5]
    """

    value: float = 0.0

    def build(self):
        return jinit.constant(self.value)


@register()
@dataclass(frozen=True)
class RandomNormal(Initializer):
    """Normal samples with `mean` and `stddev`.

    Example:
      >>> RandomNormal(stddev=0.1)(sl.random.key(0), (3, 4)).shape
      (3, 4)
    """

    mean: float = 0.0
    stddev: float = 0.05

    def build(self):
        normal = jinit.normal(self.stddev)
        return lambda key, shape, dtype: normal(key, shape, dtype) + self.mean


@register()
@dataclass(frozen=True)
class RandomUniform(Initializer):
    """Uniform samples in `[minval, maxval)`.

    Example:
      >>> RandomUniform(-1.0, 1.0)(sl.random.key(0), (5,)).shape
      (5,)
    """

    minval: float = -0.05
    maxval: float = 0.05

    def build(self):
        def uniform(key, shape, dtype):
            return jax.random.uniform(key, shape, dtype, self.minval, self.maxval)

        return uniform


@register()
@dataclass(frozen=True)
class VarianceScaling(Initializer):
    """Samples scaled by the fan: `stddev = sqrt(scale / fan)`.

    Args:
      scale: the variance factor (2.0 for He, 1.0 for Glorot and LeCun).
      mode: `"fan_in"`, `"fan_out"` or `"fan_avg"`.
      distribution: `"truncated_normal"`, `"normal"` or `"uniform"`.

    A vector of length `n` is drawn with both fans `n`, a scalar with both 1,
    as Keras draws them.

    Example:
      >>> VarianceScaling(2.0)(sl.random.key(0), (3, 3, 1, 8)).shape
      (3, 3, 1, 8)
    """

    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"

    def build(self):
        init = jinit.variance_scaling(self.scale, self.mode, self.distribution)
        by_length = jinit.variance_scaling(self.scale, "fan_in", self.distribution)

        def run(key, shape, dtype):
            if len(shape) >= 2:
                return init(key, shape, dtype)
            # Keras reads both fans of a vector as its length, of a scalar as 1:
            # an (n, 1) matrix has fan_in n.
            column = by_length(key, (shape[0] if shape else 1, 1), dtype)
            return column.reshape(shape)

        return run


@register()
@dataclass(frozen=True)
class Orthogonal(Initializer):
    """A (scaled) orthogonal matrix over the last two axes' flattening.

    Example:
      >>> w = Orthogonal()(sl.random.key(0), (4, 4))
      >>> bool(jnp.allclose(w @ w.T, jnp.eye(4), atol=1e-5))
      True
    """

    gain: float = 1.0

    def build(self):
        return jinit.orthogonal(self.gain)


_NAMED = {
    "zeros": Constant(0.0),
    "ones": Constant(1.0),
    "random_normal": RandomNormal(),
    "random_uniform": RandomUniform(),
    "truncated_normal": VarianceScaling(1.0, "fan_in", "truncated_normal"),
    "glorot_uniform": VarianceScaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": VarianceScaling(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": VarianceScaling(2.0, "fan_in", "uniform"),
    "he_normal": VarianceScaling(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": VarianceScaling(1.0, "fan_in", "uniform"),
    "lecun_normal": VarianceScaling(1.0, "fan_in", "truncated_normal"),
    "orthogonal": Orthogonal(),
}


def get(identifier: str | Initializer) -> Initializer:
    """The initializer a name or object stands for.

    Raises:
      ValueError: an unknown name; the message lists the valid ones.

    Example:
      >>> get("he_normal")
      VarianceScaling(scale=2.0, mode='fan_in', distribution='truncated_normal')
    """
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier in _NAMED:
        return _NAMED[identifier]
    raise ValueError(
        f"unknown initializer {identifier!r}. Valid names: {', '.join(_NAMED)}; "
        "or pass an Initializer such as Constant(0.1)."
    )
