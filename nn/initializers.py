"""Initializers, Keras's catalogue: `(key, shape, dtype) -> array`.

They are `jax.nn.initializers` underneath, under Keras's class names
(`GlorotUniform`, `HeNormal`, `TruncatedNormal`...) and string names
(`"glorot_uniform"`, `"he_normal"`, `"zeros"`...). Fans are read as Keras
reads kernels: the last axis is the output, the one before it the input,
and any leading (spatial) axes multiply both.

A random initializer given a `seed` draws from `stateless.random.key(seed)`
whatever key it is called with, so it gives the same values every time, as
a seeded Keras initializer does. Called Keras's way, `init(shape, dtype)`,
an unseeded one draws from the global generator (`sl.set_random_seed`).

Example:
  >>> w = GlorotUniform(seed=1)((3, 4))  # Keras's way: shape, then dtype
  >>> bool((w == GlorotUniform(seed=1)(sl.random.key(9), (3, 4))).all())
  True
  >>> get("HeNormal")
  HeNormal(seed=None)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from nn import registry
from nn.registry import register
from stateless import random
from stateless.dtypes import standardize_dtype
from stateless.lookup import lookup

jinit = jax.nn.initializers


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple | list) and all(
        isinstance(n, int) and not isinstance(n, bool) for n in value
    )


@dataclass(frozen=True)
class Initializer(ABC):
    """Base class: a frozen config whose `build()` gives the JAX initializer."""

    @abstractmethod
    def build(self) -> Any:
        """The `jax.nn.initializers`-style function `(key, shape, dtype)`."""

    def __call__(self, key: Any, shape: Any = None, dtype: Any = None) -> jax.Array:
        """`init(key, shape, dtype="float32")`, or Keras's `init(shape, dtype)`."""
        if _is_shape(key):  # Keras's order: (shape, dtype)
            key, shape, dtype = None, key, shape
        seed = getattr(self, "seed", None)
        if seed is not None:
            key = random.key(seed)
        elif key is None:
            key = random.next_key()
        if shape is None:
            raise TypeError(f"{type(self).__name__}: no shape given.")
        return self.build()(key, tuple(shape), standardize_dtype(dtype or "float32"))

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
class Zeros(Initializer):
    """Every entry 0.

    Example:
      >>> Zeros()(sl.random.key(0), (2,)).tolist()
      [0.0, 0.0]
    """

    def build(self):
        return jinit.zeros


@register()
@dataclass(frozen=True)
class Ones(Initializer):
    """Every entry 1.

    Example:
      >>> Ones()(sl.random.key(0), (2,)).tolist()
      [1.0, 1.0]
    """

    def build(self):
        return jinit.ones


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
    seed: int | None = None

    def build(self):
        normal = jinit.normal(self.stddev)
        return lambda key, shape, dtype: normal(key, shape, dtype) + self.mean


@register()
@dataclass(frozen=True)
class TruncatedNormal(Initializer):
    """Normal samples with `mean` and `stddev`, redrawn beyond two stddevs.

    Example:
      >>> w = TruncatedNormal(stddev=1.0)(sl.random.key(0), (1000,))
      >>> bool((jnp.abs(w) <= 2.0).all())
      True
    """

    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def build(self):
        def truncated(key, shape, dtype):
            unit = jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)
            return unit * self.stddev + self.mean

        return truncated


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
    seed: int | None = None

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
      distribution: `"truncated_normal"`, `"normal"` (Keras also says
        `"untruncated_normal"`) or `"uniform"`.
      seed: an int that fixes the values, or None.

    A vector of length `n` is drawn with both fans `n`, a scalar with both 1,
    as Keras draws them.

    Example:
      >>> VarianceScaling(2.0)(sl.random.key(0), (3, 3, 1, 8)).shape
      (3, 3, 1, 8)
    """

    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"
    seed: int | None = None

    def build(self):
        distribution = _DISTRIBUTIONS.get(self.distribution)
        if distribution is None:
            raise ValueError(
                f"{type(self).__name__}: distribution must be one of "
                f"{', '.join(_DISTRIBUTIONS)}, received {self.distribution!r}."
            )
        init = jinit.variance_scaling(self.scale, self.mode, distribution)
        by_length = jinit.variance_scaling(self.scale, "fan_in", distribution)

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
    seed: int | None = None

    def build(self):
        return jinit.orthogonal(self.gain)


@register("IdentityInitializer")
@dataclass(frozen=True)
class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only).

    Example:
      >>> Identity(2.0)(sl.random.key(0), (2, 3)).tolist()
      [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    gain: float = 1.0

    def build(self):
        def identity(key, shape, dtype):
            if len(shape) != 2:
                raise ValueError(
                    f"Identity initializer: expected a 2-D shape, received {shape}."
                )
            return self.gain * jnp.eye(*shape, dtype=dtype)

        return identity


@dataclass(frozen=True)
class _NamedScaling(Initializer):
    """A `VarianceScaling` of fixed `(scale, mode, distribution)`."""

    seed: int | None = None
    fixed: ClassVar[tuple[float, str, str]]

    def build(self):
        return VarianceScaling(*self.fixed).build()


@register()
@dataclass(frozen=True)
class GlorotUniform(_NamedScaling):
    """Uniform in `+-sqrt(6 / (fan_in + fan_out))`."""

    fixed: ClassVar[tuple[float, str, str]] = (1.0, "fan_avg", "uniform")


@register()
@dataclass(frozen=True)
class GlorotNormal(_NamedScaling):
    """Truncated normal, `stddev = sqrt(2 / (fan_in + fan_out))`."""

    fixed: ClassVar[tuple[float, str, str]] = (1.0, "fan_avg", "truncated_normal")


@register()
@dataclass(frozen=True)
class HeUniform(_NamedScaling):
    """Uniform in `+-sqrt(6 / fan_in)`."""

    fixed: ClassVar[tuple[float, str, str]] = (2.0, "fan_in", "uniform")


@register()
@dataclass(frozen=True)
class HeNormal(_NamedScaling):
    """Truncated normal, `stddev = sqrt(2 / fan_in)`."""

    fixed: ClassVar[tuple[float, str, str]] = (2.0, "fan_in", "truncated_normal")


@register()
@dataclass(frozen=True)
class LecunUniform(_NamedScaling):
    """Uniform in `+-sqrt(3 / fan_in)`."""

    fixed: ClassVar[tuple[float, str, str]] = (1.0, "fan_in", "uniform")


@register()
@dataclass(frozen=True)
class LecunNormal(_NamedScaling):
    """Truncated normal, `stddev = sqrt(1 / fan_in)`."""

    fixed: ClassVar[tuple[float, str, str]] = (1.0, "fan_in", "truncated_normal")


_DISTRIBUTIONS = {
    "truncated_normal": "truncated_normal",
    "normal": "normal",
    "untruncated_normal": "normal",
    "uniform": "uniform",
}

_CLASSES: dict[str, type[Initializer]] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
    # Keras's other spellings
    "uniform": RandomUniform, "normal": RandomNormal, "one": Ones, "zero": Zeros,
}  # fmt: skip
_BY_CLASS_NAME = {
    **{cls.__name__: cls for cls in _CLASSES.values()},
    "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
}  # fmt: skip


def get(identifier: Any) -> Initializer:
    """The initializer a name, class, config or object stands for: Keras's
    names (`"he_normal"`) and class names (`"HeNormal"`) both work.

    Raises:
      ValueError: an unknown name; the message lists the valid ones.

    Example:
      >>> get("he_normal")
      HeNormal(seed=None)
      >>> get({"class_name": "RandomNormal", "config": {"stddev": 0.1}}).stddev
      0.1
    """
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        return registry.deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _BY_CLASS_NAME:
            return _BY_CLASS_NAME[identifier]()
        return lookup("initializer", identifier, _CLASSES)()  # Keras's names
    raise ValueError(
        f"cannot interpret {identifier!r:.80} as an initializer: pass a name such "
        "as 'he_normal' (or its class name, HeNormal) or an Initializer such as "
        "Constant(0.1)."
    )
