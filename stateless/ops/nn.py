"""Activations and other neural-network ops, from `jax.nn` (no NumPy twins)."""

from __future__ import annotations

from typing import Any

import jax

from stateless.dtypes import standardize_dtype
from stateless.ops._naming import names_shape_errors


def relu(x: Any) -> Any:
    """`max(x, 0)`.

    Example:
      >>> relu(jnp.array([-1.0, 2.0])).tolist()
      [0.0, 2.0]
    """
    return jax.nn.relu(x)


def gelu(x: Any, approximate: bool = True) -> Any:
    """The Gaussian error linear unit; the tanh approximation unless told otherwise.

    Example:
      >>> gelu(jnp.zeros(2)).tolist()
      [0.0, 0.0]
    """
    return jax.nn.gelu(x, approximate)


def sigmoid(x: Any) -> Any:
    """`1 / (1 + exp(-x))`.

    Example:
      >>> sigmoid(jnp.zeros(1)).tolist()
      [0.5]
    """
    return jax.nn.sigmoid(x)


def silu(x: Any) -> Any:
    """`x * sigmoid(x)` (also called swish).

    Example:
      >>> silu(jnp.zeros(1)).tolist()
      [0.0]
    """
    return jax.nn.silu(x)


def softplus(x: Any) -> Any:
    """`log(1 + exp(x))`, computed without overflow.

    Example:
      >>> softplus(jnp.zeros(1)).shape
      (1,)
    """
    return jax.nn.softplus(x)


def elu(x: Any, alpha: float = 1.0) -> Any:
    """`x` where positive, else `alpha * (exp(x) - 1)`.

    Example:
      >>> elu(jnp.array([0.0, 2.0])).tolist()
      [0.0, 2.0]
    """
    return jax.nn.elu(x, alpha)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Any:
    """`x` where positive, else `negative_slope * x` (Keras's default slope, 0.2).

    Example:
      >>> leaky_relu(jnp.array([-1.0, 2.0]), 0.5).tolist()
      [-0.5, 2.0]
    """
    return jax.nn.leaky_relu(x, negative_slope)


@names_shape_errors
def softmax(x: Any, axis: int = -1) -> Any:
    """`exp(x) / sum(exp(x))` along `axis`, computed stably.

    Example:
      >>> softmax(jnp.zeros((2, 4))).tolist()[0]
      [0.25, 0.25, 0.25, 0.25]
    """
    return jax.nn.softmax(x, axis)


@names_shape_errors
def log_softmax(x: Any, axis: int = -1) -> Any:
    """`log(softmax(x))` along `axis`, computed stably.

    Example:
      >>> log_softmax(jnp.zeros((2, 4))).shape
      (2, 4)
    """
    return jax.nn.log_softmax(x, axis)


@names_shape_errors
def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = "float32") -> Any:
    """Integer class ids as one-hot vectors along a new `axis`.

    Ids outside `[0, num_classes)` give all-zero vectors.

    Example:
      >>> one_hot(jnp.array([0, 2]), 3).tolist()
      [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return jax.nn.one_hot(x, num_classes, dtype=standardize_dtype(dtype), axis=axis)
