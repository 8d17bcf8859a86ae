"""Keras's stateless view of an optimizer: its state as a flat list of arrays.

Keras's guide to a custom `train_step` on JAX updates the weights with
`optimizer.stateless_apply(optimizer_variables, grads, trainable_variables)
-> (trainable_variables, optimizer_variables)`, every argument a list in the
order of `model.trainable_variables`. Here the optimizer's state is an optax
state; its list is `jax.tree.leaves(state)`.

On its own (Keras's loop written from scratch: `optimizer.build(vars)`, then
`optimizer.variables`) the optax state is made over the list of weights.
Inside `fit`, the step that runs a Keras-style `train_step` binds the
optimizer (`bound(...)`) to the run's own optimizer state, made over the
model's parameter tree by the trainer's transformation (frozen weights,
constraints): the lists are mapped onto that tree and back.

Example:
  >>> from train.optimizers import SGD
  >>> sgd = SGD(0.5)
  >>> weights = [jnp.ones(2)]
  >>> sgd.build(weights)
  >>> new, _ = sgd.stateless_apply(sgd.variables, [jnp.ones(2)], weights)
  >>> new[0].tolist()
  [0.5, 0.5]
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import optax


@dataclasses.dataclass(frozen=True)
class Binding:
    """What `stateless_apply` needs to update a run's own optimizer state.

    Attributes:
      optimizer: the optimizer object the binding is for.
      tx: the run's optax transformation.
      treedef: the structure of the run's optimizer state.
      to_tree: a list in the order of the trainable weights -> the run's
        parameter tree (zeros where a weight is frozen).
      to_list: the parameter tree -> that list.
    """

    optimizer: Any
    tx: optax.GradientTransformation
    treedef: Any
    to_tree: Callable[[Sequence[Any]], Any]
    to_list: Callable[[Any], list[Any]]


_BOUND: contextvars.ContextVar[Binding | None] = contextvars.ContextVar(
    "bound_optimizer", default=None
)


@contextlib.contextmanager
def bound(binding: Binding) -> Iterator[None]:
    """Within it, `binding.optimizer.stateless_apply` updates the run's state."""
    token = _BOUND.set(binding)
    try:
        yield
    finally:
        _BOUND.reset(token)


def _unflattened(optimizer: Any, treedef: Any, variables: Sequence[Any]) -> Any:
    given = list(variables)
    if len(given) != treedef.num_leaves:
        raise ValueError(
            f"{type(optimizer).__name__}.stateless_apply: expected "
            f"{treedef.num_leaves} optimizer variables, received {len(given)}. "
            "Hint: pass optimizer.variables after optimizer.build(trainable), or "
            "the optimizer_variables of the train_step's state, unchanged in order."
        )
    return jax.tree.unflatten(treedef, given)


def _check_lengths(optimizer: Any, grads: Sequence[Any], weights: Sequence[Any]):
    if len(grads) != len(weights):
        raise ValueError(
            f"{type(optimizer).__name__}.stateless_apply: received {len(grads)} "
            f"gradients for {len(weights)} trainable variables; expected one each."
        )


def stateless_apply(
    optimizer: Any,
    optimizer_variables: Sequence[Any],
    grads: Sequence[Any],
    trainable_variables: Sequence[Any],
) -> tuple[list[Any], list[Any]]:
    """`(new trainable_variables, new optimizer_variables)` after one update."""
    grads, weights = list(grads), [_array(w) for w in trainable_variables]
    _check_lengths(optimizer, grads, weights)
    binding = _BOUND.get()
    if binding is not None and binding.optimizer is optimizer:
        state = _unflattened(optimizer, binding.treedef, optimizer_variables)
        params = binding.to_tree(weights)
        updates, state = binding.tx.update(binding.to_tree(grads), state, params)
        new = binding.to_list(optax.apply_updates(params, updates))
        return new, jax.tree.leaves(state)
    tx = optimizer.transform()
    treedef = jax.tree.structure(jax.eval_shape(tx.init, weights))
    state = _unflattened(optimizer, treedef, optimizer_variables)
    updates, state = tx.update(grads, state, weights)
    return list(optax.apply_updates(weights, updates)), jax.tree.leaves(state)


def initial_variables(optimizer: Any, trainable_variables: Sequence[Any]) -> list:
    """The optimizer's first state over these weights, as a list."""
    weights = [_array(w) for w in trainable_variables]
    return jax.tree.leaves(optimizer.transform().init(weights))


def _array(weight: Any) -> Any:
    """A weight's array: itself, or a handle's (`model.trainable_variables`) value."""
    return weight.value if hasattr(weight, "assign") else weight
