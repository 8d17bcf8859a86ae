"""Eager ops on torch and TensorFlow tensors, when that backend is chosen.

With `STATELESS_BACKEND=torch` (or `tensorflow`), an op called eagerly with
that backend's tensors computes with JAX on their values and returns the
backend's tensors, so a script can mix `sl.ops` with its own tensors. Under
the `jax` backend the wrapper is one check and a call. Gradients do not flow
through such an eager call into torch autograd or `tf.GradientTape`; for
that, lower the whole function (`interop.lower`), which is what `fit` does.

Example:
  >>> import torch
  >>> sl.set_backend("torch")
  >>> sl.ops.add(torch.ones(2), 1.0)
  tensor([2., 2.])
  >>> sl.set_backend("jax")
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from stateless import config
from stateless.variable import Variable, unwrap_variables


def _root(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def to_numpy(value: Any) -> Any:
    """A torch or TensorFlow tensor as a NumPy array; anything else as it is."""
    root = _root(value)
    if root == "torch":
        return value.detach().cpu().numpy()
    if root == "tensorflow" and hasattr(value, "numpy"):
        return value.numpy()
    return value


def _to_backend(value: Any, name: str) -> Any:
    if not isinstance(value, jax.Array):
        return value
    array = np.asarray(value)
    if name == "torch":
        return sys.modules["torch"].from_numpy(array.copy())
    return sys.modules["tensorflow"].constant(array)


def accepting_backend_tensors(op: Callable[..., Any]) -> Callable[..., Any]:
    """`op`, also taking and returning the chosen backend's tensors, and
    reading the value of any `stateless.Variable` handle it is given."""

    @functools.wraps(op)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, Variable | list | tuple) for a in args) or any(
            isinstance(a, Variable) for a in kwargs.values()
        ):
            args, kwargs = unwrap_variables(args, kwargs)
        name = config.backend()
        if name == "jax" or name not in sys.modules:  # no such tensor can exist
            return op(*args, **kwargs)
        leaves = jax.tree.leaves((args, kwargs))
        if not any(_root(leaf) == name for leaf in leaves):
            return op(*args, **kwargs)
        args, kwargs = jax.tree.map(to_numpy, (args, kwargs))
        return jax.tree.map(lambda v: _to_backend(v, name), op(*args, **kwargs))

    return wrapped
