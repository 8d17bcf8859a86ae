"""Keras's activations, by name or as functions.

Each is a function of one array with Keras's defaults (`gelu` is exact, as
Keras's activation is; `leaky_relu` has slope 0.2). A layer takes a name or
one of these functions and keeps the name in its config, so configs stay
data; any other function runs but cannot be saved.

Example:
  >>> from nn import activations, layers
  >>> layers.Dense(2, activation=activations.relu6).get_config()["activation"]
  'relu6'
  >>> activations.get("hard_sigmoid")(jnp.array([-3.0, 0.0, 3.0])).tolist()
  [0.0, 0.5, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from stateless import ops
from stateless.lookup import lookup


def linear(x: Any) -> Any:
    """`x` unchanged."""
    return x


def gelu(x: Any) -> Any:
    """The exact Gaussian error linear unit (Keras's activation default)."""
    return ops.gelu(x, approximate=False)


def relu6(x: Any) -> Any:
    """`min(max(x, 0), 6)`."""
    return jax.nn.relu6(x)


def hard_sigmoid(x: Any) -> Any:
    """`relu6(x + 3) / 6`."""
    return jax.nn.hard_sigmoid(x)


def hard_silu(x: Any) -> Any:
    """`x * hard_sigmoid(x)` (also called hard_swish)."""
    return jax.nn.hard_silu(x)


def tanh_shrink(x: Any) -> Any:
    """`x - tanh(x)`."""
    return x - ops.tanh(x)


relu, sigmoid, tanh = ops.relu, ops.sigmoid, ops.tanh
softmax, log_softmax, silu = ops.softmax, ops.log_softmax, ops.silu
softplus, elu, leaky_relu, exponential = ops.softplus, ops.elu, ops.leaky_relu, ops.exp
selu, softsign, mish = jax.nn.selu, jax.nn.soft_sign, jax.nn.mish
log_sigmoid, celu, hard_tanh = jax.nn.log_sigmoid, jax.nn.celu, jax.nn.hard_tanh
squareplus, sparse_plus, glu = jax.nn.squareplus, jax.nn.sparse_plus, jax.nn.glu
swish, hard_swish = silu, hard_silu  # Keras's other names

_NAMED: dict[str, Callable[[Any], Any]] = {
    "linear": linear, "relu": relu, "gelu": gelu, "sigmoid": sigmoid,
    "tanh": tanh, "softmax": softmax, "log_softmax": log_softmax,
    "silu": silu, "swish": silu, "softplus": softplus, "elu": elu,
    "leaky_relu": leaky_relu, "exponential": exponential, "relu6": relu6,
    "selu": selu, "softsign": softsign, "mish": mish,
    "log_sigmoid": log_sigmoid, "celu": celu, "hard_tanh": hard_tanh,
    "hard_sigmoid": hard_sigmoid, "hard_silu": hard_silu,
    "hard_swish": hard_silu, "tanh_shrink": tanh_shrink,
    "squareplus": squareplus, "sparse_plus": sparse_plus, "glu": glu,
}  # fmt: skip
_NAME_OF = {id(fn): name for name, fn in reversed(_NAMED.items())}


def name_of(activation: Any) -> Any:
    """The name of one of these functions, else `activation` unchanged.

    Example:
      >>> name_of(relu6), name_of("relu")
      ('relu6', 'relu')
    """
    return _NAME_OF.get(id(activation), activation)


def get(identifier: str | Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The function an activation name stands for (None means linear); a
    function is returned as it is.

    Raises:
      ValueError: an unknown name; the message lists the valid names.

    Example:
      >>> get("relu")(jnp.array([-1.0, 2.0])).tolist()
      [0.0, 2.0]
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return lookup("activation", identifier, _NAMED)
    if callable(identifier):
        return identifier
    raise ValueError(
        f"cannot interpret {identifier!r:.80} as an activation: pass a name such "
        "as 'relu' or a function of one array."
    )
