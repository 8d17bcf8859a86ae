"""Symbolic tensors: the placeholders a functional model is drawn with.

`layers.Input(shape)` makes one; calling a layer on symbolic tensors returns
new ones and records a `Node` (the layer, its arguments, its outputs). A
functional `Model(inputs, outputs)` walks those nodes back from its outputs.
Shapes come from `jax.eval_shape` on the layer's own `init` and `apply`; the
batch axis is `None` throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax

from stateless.dtypes import standardize_dtype


class SymbolicTensor:
    """A placeholder for a batch of values: a shape (batch axis `None`) and a dtype.

    Example:
      >>> from nn import layers
      >>> x = layers.Input((28, 28, 1))
      >>> x.shape, x.dtype
      ((None, 28, 28, 1), 'float32')
    """

    __slots__ = ("shape", "dtype", "node", "index")

    def __init__(
        self, shape: tuple[Any, ...], dtype: Any, node: Node | None, index: int
    ):
        self.shape = tuple(shape)
        self.dtype = standardize_dtype(dtype)
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def spec(self, batch_size: int = 1) -> jax.ShapeDtypeStruct:
        """A concrete `ShapeDtypeStruct`, with `None` axes set to `batch_size`."""
        shape = tuple(batch_size if d is None else d for d in self.shape)
        return jax.ShapeDtypeStruct(shape, self.dtype)

    def __repr__(self) -> str:
        layer = self.node.layer if self.node else None
        origin = f", from {type(layer).__name__}" if layer is not None else ""
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype}{origin}>"


@dataclass(eq=False)
class Node:
    """One call of a layer on symbolic tensors."""

    layer: Any
    args: tuple[Any, ...]  # pytrees whose leaves may be SymbolicTensors
    kwargs: dict[str, Any]  # likewise (masks, initial states...)
    outputs: list[SymbolicTensor] = field(default_factory=list)
    output_tree: Any = None  # the outputs' structure, leaves replaced by tensors

    def parents(self) -> list[SymbolicTensor]:
        leaves = jax.tree.leaves((self.args, self.kwargs))
        return [t for t in leaves if isinstance(t, SymbolicTensor)]


def is_symbolic(tree: Any) -> bool:
    """Whether any leaf of `tree` is a `SymbolicTensor`."""
    return any(isinstance(t, SymbolicTensor) for t in jax.tree.leaves(tree))


def call_symbolic(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Records `layer(*args, **kwargs)` as a node; returns its symbolic outputs."""

    def to_spec(leaf):
        return leaf.spec() if isinstance(leaf, SymbolicTensor) else leaf

    specs, kw_specs = jax.tree.map(to_spec, (args, kwargs))
    out_specs = layer.output_spec(*specs, **kw_specs)
    node = Node(layer, args, kwargs)
    leaves, treedef = jax.tree.flatten(out_specs)
    for i, spec in enumerate(leaves):
        node.outputs.append(
            SymbolicTensor((None, *spec.shape[1:]), spec.dtype, node, i)
        )
    node.output_tree = jax.tree.unflatten(treedef, node.outputs)
    return node.output_tree
