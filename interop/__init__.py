"""interop: lowering pure JAX functions onto PyTorch and TensorFlow.

* `lower(fn, *example_args, backend="torch"|"tensorflow")`: any pure JAX
  function as a callable over torch or TensorFlow tensors. Its jaxpr is
  interpreted primitive by primitive with the backend's own differentiable
  ops; a primitive without a rule raises `LoweringError`, naming it and `fn`.
* `interop.torch`: `to_torch(model, variables)` gives a `torch.nn.Module`
  (parameters, state buffers, a lowered forward) that trains with
  `torch.optim`; `from_torch(module)` gives the variables back.

It depends on `stateless` only (the one-way layering `stateless` <- `interop`
<- `train` <- `nn`), and imports torch or TensorFlow only when a backend or an
adapter is first used: `interop.torch` and `interop.tensorflow` load on first
access.

Example:
  >>> import torch, interop
  >>> f = interop.lower(lambda x: jnp.sin(x) ** 2, np.zeros(2, "float32"),
  ...                   backend="torch")
  >>> f(torch.zeros(2))
  tensor([0., 0.])
"""

import importlib

from interop import _no_shadowing as _no_shadowing  # first: see the module
from interop.lowering import LoweringError as LoweringError
from interop.lowering import lower as lower

_ADAPTERS = ("torch", "tensorflow")


def __getattr__(name: str):
    if name in _ADAPTERS:
        return importlib.import_module(f"interop.{name}")
    raise AttributeError(f"module 'interop' has no attribute {name!r}")
