"""Where `fit`'s steps run: jitted on JAX, or lowered onto torch or TensorFlow.

With `STATELESS_BACKEND=torch` (or `tensorflow`, or `sl.set_backend`), the
pure train, eval and predict steps are traced once per input signature and
their jaxprs run with the backend's ops (`interop.lower`): forward, loss,
gradients (already in the jaxpr, as JAX derived them) and the optax update
all execute on that backend's tensors and device. The `TrainState` then lives
as backend tensors, `model.variables` holds them during and after `fit`, and
`predict` returns a backend tensor.

What differs from the JAX backend: no XLA fusion (each primitive is one
backend op: eager torch ops, or one `tf.function` per step on TensorFlow), no
buffer donation, no `distribution=`; orbax
checkpoints restore as JAX arrays (exact resume is tested on the JAX backend
only). The random streams are JAX's threefry, so dropout masks match the JAX
run bit for bit.

Example:
  >>> import torch
  >>> step = lower_step(lambda ts, b: (ts + b, {}), "torch")
  >>> step(torch.ones(2), torch.ones(2))[0]
  tensor([2., 2.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from stateless.ops import backend_tensors


def lower_step(step: Callable[..., Any], backend: str) -> Callable[..., Any]:
    """`step` lowered onto `backend`'s tensors (see `interop.lower`)."""
    from interop import lowering

    return lowering.lower(step, backend=backend)


def _is_backend_tensor(value: Any, backend: str) -> bool:
    return type(value).__module__.split(".")[0] == backend


def to_numpy(tree: Any) -> Any:
    """Every leaf as a NumPy array (from JAX, torch or TensorFlow)."""
    return jax.tree.map(lambda leaf: np.asarray(backend_tensors.to_numpy(leaf)), tree)


def to_backend(tree: Any, backend: str) -> Any:
    """Every leaf as one of `backend`'s tensors (JAX: left as it is)."""
    if backend == "jax":
        return tree
    from interop import lowering

    constant = lowering.backend_named(backend).constant
    return jax.tree.map(
        lambda leaf: (
            leaf if _is_backend_tensor(leaf, backend) else constant(to_numpy(leaf))
        ),
        tree,
    )


def concatenate(parts: Sequence[Any], backend: str) -> Any:
    """Batches of outputs joined on the first axis, as `backend`'s tensors
    (NumPy arrays on JAX)."""
    joined = jax.tree.map(lambda *xs: np.concatenate(xs), *map(to_numpy, parts))
    return joined if backend == "jax" else to_backend(joined, backend)
