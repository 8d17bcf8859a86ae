"""A model with a pure `apply` as a `torch.nn.Module`, and its variables back.

`to_torch(model, variables)` registers every float leaf of the `params`
collection as an `nn.Parameter` and every other leaf (the `state`
collection: BatchNormalization statistics...) as a buffer, under its path
(`params.dense.kernel`). `forward(*inputs, training=False)` runs
`model.apply(variables, *inputs, training=..., rng=...)` lowered onto torch
ops (`interop.lower`), so the module trains with `torch.optim` in a plain
torch loop; in training mode it draws the `rng` key from torch's generator
(`torch.manual_seed` makes runs repeat) and writes the new state into the
buffers. `from_torch(module)` gives the variables back as JAX arrays, in the
structure they came in.

`model` is anything with `apply(variables, *inputs, training=False,
rng=None) -> (outputs, new_state)` (an `nn` layer or model, or another
library's module wrapped that way). A plain function `fn(params, *inputs) ->
outputs` written with `jax.numpy` works too: `to_torch(fn, params)` treats
it as a model without state, every float leaf of `params` a parameter.

Example:
  >>> import torch
  >>> def affine(p, x):
  ...     return x @ p["w"] + p["b"]
  >>> module = to_torch(affine, {"w": np.ones((3, 2), "float32"),
  ...                            "b": np.zeros(2, "float32")})
  >>> sorted(name for name, _ in module.named_parameters())
  ['b', 'w']
  >>> module(torch.ones(4, 3)).shape
  torch.Size([4, 2])
  >>> from_torch(module)["w"].shape
  (3, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch

from interop.lowering import check_no_typed_key, lower
from interop.torch.dtypes import to_tensor
from stateless.tree_paths import path_parts


class _Function:
    """A plain `fn(params, *inputs)` with the model contract, and no state."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def apply(self, variables, *inputs, training=False, rng=None):
        del training, rng
        return self.fn(variables, *inputs), {}


def _path_names(path: tuple[Any, ...]) -> list[str]:
    names = []
    for name in path_parts(path):
        if not name or "." in name:
            raise ValueError(
                f"to_torch: variable path {jax.tree_util.keystr(path)} has the part "
                f"{name!r}, which cannot name a torch parameter (empty, or a '.')."
            )
        names.append(name)
    return names


class LoweredModule(torch.nn.Module):
    """The `torch.nn.Module` that `to_torch` returns; see the module docstring."""

    def __init__(self, model: Any, variables: Any, is_function: bool):
        super().__init__()
        self._model = model
        name = getattr(model, "name", None) or getattr(model, "__name__", "model")
        leaves, tree = jax.tree_util.tree_flatten_with_path(variables)
        self._tree = tree
        self._slots: list[tuple[torch.nn.Module, str]] = []
        state_slots: dict[tuple[str, ...], int] = {}
        for path, leaf in leaves:
            names = _path_names(path)
            holder = self
            for part in names[:-1]:
                if part not in holder._modules:
                    holder.add_module(part, torch.nn.Module())
                holder = holder._modules[part]
            check_no_typed_key(leaf, f"to_torch({name})")
            tensor = to_tensor(np.asarray(leaf))
            trainable = is_function or names[0] == "params"
            if trainable and tensor.is_floating_point():
                holder.register_parameter(names[-1], torch.nn.Parameter(tensor))
            else:
                holder.register_buffer(names[-1], tensor)
            if not is_function and names[0] == "state":
                state_slots[tuple(names[1:])] = len(self._slots)
            self._slots.append((holder, names[-1]))
        self._state_order = list(state_slots.values())

        def infer(leaves, inputs):
            variables = jax.tree.unflatten(tree, leaves)
            return model.apply(variables, *inputs, training=False)[0]

        def train(leaves, inputs, rng):
            variables = jax.tree.unflatten(tree, leaves)
            outputs, new_state = model.apply(variables, *inputs, training=True, rng=rng)
            new = {}
            for path, value in jax.tree_util.tree_flatten_with_path(new_state)[0]:
                if tuple(_path_names(path)) not in state_slots:
                    raise ValueError(
                        f"{name}.apply: the new state has "
                        f"{jax.tree_util.keystr(path)}, which the variables given "
                        "to to_torch lack; initialize the model before converting."
                    )
                new[state_slots[tuple(_path_names(path))]] = value
            return outputs, [new.get(slot, leaves[slot]) for slot in self._state_order]

        infer.__name__ = train.__name__ = f"{name}.apply"
        self._infer = lower(infer, backend="torch")
        self._train = lower(train, backend="torch")

    def _leaves(self) -> list[torch.Tensor]:
        return [getattr(holder, name) for holder, name in self._slots]

    def forward(self, *inputs: Any, training: bool = False) -> Any:
        """Runs the lowered `apply`; with `training=True` it also draws the key
        from torch's generator and writes the new state into the buffers."""
        leaves = self._leaves()
        if not training:
            return _call(self._infer, leaves, inputs)
        device = leaves[0].device if leaves else None
        rng = torch.randint(0, 2**32, (2,), device=device).to(torch.uint32)
        outputs, new_state = _call(self._train, leaves, inputs, rng)
        with torch.no_grad():
            for slot, value in zip(self._state_order, new_state):
                leaves[slot].copy_(value)
        return outputs


@torch.compiler.disable
def _prepare(lowered, *args):
    return lowered.prepare(*args)


@torch.compiler.disable
def _finish(finish, outs):
    return finish(outs)


def _call(lowered, *args):
    """`lowered(*args)`; under `torch.compile`, JAX's pytree handling is kept
    out of the traced graph, which then holds the lowered program itself."""
    if not torch.compiler.is_compiling():
        return lowered(*args)
    interpreter, closed, values, finish = _prepare(lowered, *args)
    return _finish(finish, interpreter.run(closed, *values))


def to_torch(model: Any, variables: Any) -> LoweredModule:
    """A `torch.nn.Module` running `model.apply` with `variables` as its own
    parameters and buffers (see the module docstring).

    Args:
      model: anything with a pure `apply(variables, *inputs, training=False,
        rng=None) -> (outputs, new_state)`, or a plain function
        `fn(params, *inputs) -> outputs`.
      variables: `{"params": ..., "state": ...}` for a model, the `params`
        pytree for a plain function.

    Returns:
      The module; `forward(*inputs, training=False)`.
    """
    is_function = not hasattr(model, "apply")
    if is_function and not callable(model):
        raise TypeError(
            "to_torch: expected a model with `apply(variables, *inputs, "
            f"training, rng)` or a function `fn(params, *inputs)`. Received: "
            f"model={type(model).__name__}."
        )
    return LoweredModule(
        _Function(model) if is_function else model, variables, is_function
    )


def _to_jax(tensor: torch.Tensor) -> jax.Array:
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return jnp.asarray(tensor.float().numpy(), jnp.bfloat16)
    return jnp.asarray(tensor.numpy())


def from_torch(module: LoweredModule) -> Any:
    """The variables of a module made by `to_torch`, as JAX arrays in the
    structure `to_torch` received (training updates included).

    Raises:
      TypeError: `module` was not made by `to_torch`.
    """
    if not isinstance(module, LoweredModule):
        raise TypeError(
            "from_torch: expected a module made by interop.torch.to_torch. "
            f"Received: module={type(module).__name__}."
        )
    return jax.tree.unflatten(module._tree, [_to_jax(t) for t in module._leaves()])
