"""Tensors as values: conversion, dtype, shape, rank, and where they live."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from stateless.dtypes import standardize_dtype


def _host_value(x: Any) -> Any:
    """A torch tensor detached and on the CPU; anything else unchanged."""
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu()
    return x


def convert_to_tensor(x: Any, dtype: Any = None) -> jax.Array:
    """A JAX array from `x`: an array, a list or scalar, or a torch or TF tensor.

    It does not copy a JAX array that already has the asked dtype.

    Example:
      >>> convert_to_tensor([1.0, 2.0]).shape
      (2,)
      >>> convert_to_tensor([1, 2], "float32").dtype
      dtype('float32')
    """
    return jnp.asarray(
        _host_value(x), None if dtype is None else standardize_dtype(dtype)
    )


def convert_to_numpy(x: Any) -> np.ndarray:
    """A NumPy array holding the values of `x`.

    Example:
      >>> type(convert_to_numpy(jnp.ones(2))).__name__
      'ndarray'
    """
    return np.asarray(_host_value(x))


def cast(x: Any, dtype: Any) -> jax.Array:
    """`x` converted to `dtype` (a normalized name or any dtype-like).

    Example:
      >>> cast(jnp.array([1.7, -1.7]), "int32").tolist()
      [1, -1]
    """
    return jnp.asarray(x).astype(standardize_dtype(dtype))


def dtype(x: Any) -> str:
    """The normalized dtype name of `x`.

    Example:
      >>> dtype(jnp.ones(2, jnp.bfloat16))
      'bfloat16'
    """
    return standardize_dtype(x.dtype if hasattr(x, "dtype") else jnp.asarray(x).dtype)


def shape(x: Any) -> tuple[int, ...]:
    """The static shape of `x` as a tuple of ints (also for tracers).

    Example:
      >>> shape(jnp.zeros((2, 3)))
      (2, 3)
    """
    return tuple(jnp.shape(x))


def ndim(x: Any) -> int:
    """The number of dimensions of `x`.

    Example:
      >>> ndim(jnp.zeros((2, 3)))
      2
    """
    return jnp.ndim(x)


def _device_name(platform: str, index: int | None) -> str:
    return f"{platform.lower()}:{index or 0}"


def device(x: Any) -> str:
    """Where `x` lives, as `"platform:index"` (`"cpu:0"`, `"gpu:1"`, `"cuda:0"`...).

    A JAX array sharded over several devices gives them all, comma-separated.
    NumPy arrays live on the host, `"cpu:0"`; torch and TF tensors report
    their own device in the same form.

    Example:
      >>> device(jnp.ones(2))
      'cpu:0'
    """
    if isinstance(x, jax.core.Tracer):
        raise TypeError("device: a traced value has no device; call it outside jit.")
    if isinstance(x, jax.Array):
        devices = sorted(x.devices(), key=lambda d: d.id)
        return ",".join(_device_name(d.platform, d.id) for d in devices)
    module = type(x).__module__
    if module.startswith("torch"):
        return _device_name(x.device.type, x.device.index)
    if module.startswith("tensorflow"):
        spec = x.device.rsplit("device:", 1)[-1].split(":")
        return _device_name(spec[0], int(spec[1]) if len(spec) > 1 else 0)
    return "cpu:0"
