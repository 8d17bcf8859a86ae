"""Random numbers from explicit keys: the same key always gives the same numbers.

Every sampler takes `seed=`, which may be

* a key from `key(seed)` or `split` (the pure way; required inside `jax.jit`);
  a typed key from `jax.random.key` works as well,
* an int (shorthand for `key(int)`),
* a `SeedGenerator` (stateful convenience: each draw advances it), or
* None: the innermost `StatelessScope` that holds an `rng` provides a fresh key,
  else the global generator does, in eager code only. A draw from the global
  generator while `jax.jit` traces raises `RandomStateError` instead of baking
  one fixed sample into the compiled program.

Keys are raw `uint32[2]` arrays (`jax.random.PRNGKey`), not typed key arrays,
so they save to `.npz`, shard, checkpoint and lower onto other backends as
plain arrays.
"""

from __future__ import annotations

import os
import random as py_random
import sys
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from stateless import scope as scope_lib
from stateless.dtypes import INT_TYPES, is_float, standardize_dtype
from stateless.errors import DTypeError, RandomStateError

Shape = Sequence[int]


def key(seed: int) -> jax.Array:
    """A key made from an integer seed.

    Example:
      >>> key(0).shape, key(0).dtype
      ((2,), dtype('uint32'))
    """
    return jax.random.PRNGKey(seed)


def split(key: jax.Array, num: int = 2) -> jax.Array:
    """Splits a key into `num` new, independent keys (shape `(num, 2)`).

    Example:
      >>> split(key(0), 3).shape
      (3, 2)
    """
    return jax.random.split(key, num)


def fold_in(key: jax.Array, data: int | jax.Array) -> jax.Array:
    """A new key derived from `key` and an integer, e.g. the step number.

    Example:
      >>> fold_in(key(0), 7).shape
      (2,)
    """
    return jax.random.fold_in(key, data)


class SeedGenerator:
    """A stateful source of keys for eager code: each `next()` gives a new key.

    It holds one key and advances it on every draw. Inside `jax.jit`, pass
    keys explicitly instead: a draw while tracing raises `RandomStateError`.

    Args:
      seed: an int; None draws one from the global generator (so
        `set_random_seed` fixes it).

    Example:
      >>> gen = SeedGenerator(42)
      >>> a, b = gen.next(), gen.next()
      >>> bool((a == b).all())
      False
    """

    def __init__(self, seed: int | None = None):
        if seed is None:  # from the global generator: set_random_seed fixes it
            seed = int(jax.random.randint(_global().next(), (), 0, 2**31 - 1))
        self.seed = seed
        self._key = key(self.seed)
        self.variable = None  # set when a layer keeps this generator

    def next(self, caller: str = "SeedGenerator.next") -> jax.Array:
        """Returns a fresh key and advances the generator.

        When a layer keeps the generator (`self.seed_generator =
        SeedGenerator(1337)` in its `__init__`), its key is a variable in the
        layer's state: inside the layer's `call` each draw reads it from the
        scope and assigns the advanced key, so the draws stay pure under
        `jax.jit` and `fit` carries the key from step to step.
        """
        found = None if self.variable is None else self.variable.locate()
        if found is not None:
            scope, path = found
            new_state, drawn = jax.random.split(scope.read(path))
            scope.assign(path, new_state)
            return drawn
        new_state, drawn = jax.random.split(self._key)
        if isinstance(new_state, jax.core.Tracer):
            raise RandomStateError(
                f"{caller} drew from a stateful generator while being traced "
                "by jax.jit; the compiled program would reuse one fixed sample "
                "on every call. Hint: pass an explicit key, e.g. "
                "seed=sl.random.fold_in(key, step), or run the code under "
                "sl.StatelessScope(values, rng=key)."
            )
        self._key = new_state
        return drawn


_global_generator: SeedGenerator | None = None


def _global() -> SeedGenerator:
    global _global_generator
    if _global_generator is None:
        _global_generator = SeedGenerator(int.from_bytes(os.urandom(4), "little"))
    return _global_generator


def set_random_seed(seed: int) -> None:
    """Seeds Python, NumPy, the global generator, and torch and TF if loaded.

    torch and TensorFlow are seeded only when already imported; this never
    imports them.

    Example:
      >>> import stateless as sl
      >>> sl.set_random_seed(7); a = sl.random.uniform((2,))
      >>> sl.set_random_seed(7); b = sl.random.uniform((2,))
      >>> bool((a == b).all())
      True
    """
    global _global_generator
    py_random.seed(seed)
    np.random.seed(seed)
    _global_generator = SeedGenerator(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)


def _key_for(seed: Any, caller: str) -> jax.Array:
    """Resolves a `seed=` argument into a key (see the module docstring)."""
    if seed is None:
        current = scope_lib.current_scope()
        if current is not None and current.has_rng:
            return current.next_key()
        return _global().next(f"random.{caller} (no seed given)")
    if isinstance(seed, SeedGenerator):
        return seed.next(f"random.{caller}")
    if isinstance(seed, int | np.integer):
        return key(int(seed))
    if getattr(seed, "shape", None) == (2,) and seed.dtype == jnp.uint32:
        return seed
    if getattr(seed, "shape", None) == () and jax.dtypes.issubdtype(
        seed.dtype, jax.dtypes.prng_key
    ):
        return seed  # a typed key from jax.random.key works as well
    raise TypeError(
        f"random.{caller}: seed must be a key, an int, a SeedGenerator or None; "
        f"received {type(seed).__name__} with shape {getattr(seed, 'shape', None)}."
    )


def next_key() -> jax.Array:
    """A fresh key from the innermost scope's `rng`, else the global generator.

    Like every unseeded draw, it refuses to run while `jax.jit` traces.

    Example:
      >>> set_random_seed(3); a = next_key()
      >>> set_random_seed(3); b = next_key()
      >>> bool((a == b).all())
      True
    """
    return _key_for(None, "next_key")


def _float_dtype(dtype: Any, caller: str) -> str:
    name = standardize_dtype(dtype)
    if not is_float(name):
        raise DTypeError(f"random.{caller}: dtype must be a float type, got {name!r}.")
    return name


def uniform(shape: Shape, minval=0.0, maxval=1.0, dtype="float32", seed=None):
    """Uniform samples in `[minval, maxval)`.

    Example:
      >>> uniform((2, 3), seed=key(0)).shape
      (2, 3)
    """
    dtype = _float_dtype(dtype, "uniform")
    k = _key_for(seed, "uniform")
    return jax.random.uniform(k, tuple(shape), dtype, minval, maxval)


def normal(shape: Shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    """Normal samples with the given mean and standard deviation.

    Example:
      >>> normal((4,), seed=key(0)).dtype
      dtype('float32')
    """
    dtype = _float_dtype(dtype, "normal")
    k = _key_for(seed, "normal")
    return mean + stddev * jax.random.normal(k, tuple(shape), dtype)


def truncated_normal(shape: Shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    """Normal samples redrawn to lie within two standard deviations of `mean`.

    Example:
      >>> x = truncated_normal((1000,), seed=key(0))
      >>> bool((abs(x) <= 2).all())
      True
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    k = _key_for(seed, "truncated_normal")
    return mean + stddev * jax.random.truncated_normal(
        k, -2.0, 2.0, tuple(shape), dtype
    )


def randint(shape: Shape, minval: int, maxval: int, dtype="int32", seed=None):
    """Integers drawn uniformly from `[minval, maxval)`.

    Example:
      >>> x = randint((5,), 0, 3, seed=key(0))
      >>> x.dtype, bool(((0 <= x) & (x < 3)).all())
      (dtype('int32'), True)
    """
    dtype = standardize_dtype(dtype)
    if dtype not in INT_TYPES:
        raise DTypeError(
            f"random.randint: dtype must be an integer type, got {dtype!r}."
        )
    k = _key_for(seed, "randint")
    return jax.random.randint(k, tuple(shape), minval, maxval, dtype)


def bernoulli(shape: Shape, p=0.5, seed=None):
    """Booleans that are True with probability `p`.

    Example:
      >>> bernoulli((3,), 0.5, seed=key(0)).dtype
      dtype('bool')
    """
    return jax.random.bernoulli(_key_for(seed, "bernoulli"), p, tuple(shape))


def dropout(inputs, rate: float, noise_shape: Shape | None = None, seed=None):
    """Zeroes each entry with probability `rate` and scales the rest by `1/(1-rate)`.

    Args:
      inputs: the array to drop from.
      rate: the drop probability, in `[0, 1)`.
      noise_shape: the shape of the mask, broadcast against `inputs` (e.g.
        `(batch, 1, channels)` drops whole channels); defaults to
        `inputs.shape`.
      seed: see the module docstring.

    Example:
      >>> import jax.numpy as jnp
      >>> y = dropout(jnp.ones((1000,)), 0.5, seed=key(0))
      >>> sorted(set(y.tolist()))
      [0.0, 2.0]
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"random.dropout: rate must be in [0, 1), received {rate}.")
    k = _key_for(seed, "dropout")
    shape = inputs.shape if noise_shape is None else tuple(noise_shape)
    keep = jax.random.bernoulli(k, 1.0 - rate, shape)
    return jnp.where(keep, inputs / (1.0 - rate), jnp.zeros_like(inputs))


def shuffle(x, axis: int = 0, seed=None):
    """Permutes `x` along `axis`.

    Example:
      >>> import jax.numpy as jnp
      >>> sorted(shuffle(jnp.arange(5), seed=key(0)).tolist())
      [0, 1, 2, 3, 4]
    """
    return jax.random.permutation(_key_for(seed, "shuffle"), x, axis, independent=False)
