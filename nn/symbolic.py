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

    __slots__ = ("shape", "dtype", "node", "index", "mask")

    def __init__(
        self,
        shape: tuple[Any, ...],
        dtype: Any,
        node: Node | None,
        index: int,
        mask: tuple[Any, ...] | None = None,
    ):
        self.shape = tuple(shape)
        self.dtype = standardize_dtype(dtype)
        self.node = node
        self.index = index
        self.mask = mask  # the shape of the mask it carries (see nn.layers.masking)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def spec(self, batch_size: int = 1) -> jax.ShapeDtypeStruct:
        """A concrete `ShapeDtypeStruct`, with `None` axes set to `batch_size`."""
        shape = tuple(batch_size if d is None else d for d in self.shape)
        return jax.ShapeDtypeStruct(shape, self.dtype)

    def mask_spec(self, batch_size: int = 1) -> jax.ShapeDtypeStruct | None:
        """The spec of the boolean mask this tensor carries, or None."""
        if self.mask is None:
            return None
        shape = tuple(batch_size if d is None else d for d in self.mask)
        return jax.ShapeDtypeStruct(shape, "bool")

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


_FILLS = (16, 24)  # sizes tried for `None` axes, to see which output axes follow


def call_symbolic(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Records `layer(*args, **kwargs)` as a node; returns its symbolic outputs.

    Output shapes come from `layer.output_spec`. When an input has a `None`
    axis besides the batch axis (sequences of any length), the shapes are
    found twice, with that axis at two sizes; an output axis that changes
    with it is `None` too.
    """
    tensors = [t for t in jax.tree.leaves((args, kwargs)) if is_symbolic(t)]
    free = any(None in t.shape[1:] for t in tensors)
    any_batch = any(t.shape[0] is None for t in tensors if t.shape)
    fills = _FILLS if free else (1,)
    found = [_output_specs(layer, args, kwargs, fill) for fill in fills]
    node = Node(layer, args, kwargs)
    leaves, treedef = jax.tree.flatten(found[0][0])
    others = [jax.tree.leaves(out) for out, _ in found[1:]]
    other_masks = [masks for _, masks in found[1:]]
    for i, (spec, mask) in enumerate(zip(leaves, found[0][1])):
        shape = _free_axes(spec, [other[i] for other in others], any_batch)
        if mask is not None:
            mask = _free_axes(mask, [other[i] for other in other_masks], any_batch)
        node.outputs.append(SymbolicTensor(shape, spec.dtype, node, i, mask))
    node.output_tree = jax.tree.unflatten(treedef, node.outputs)
    return node.output_tree


def _free_axes(spec: Any, others: list[Any], any_batch: bool) -> tuple[Any, ...]:
    """`spec`'s shape with `None` for each axis that differs in `others`
    (the same output found with other sizes of the free input axes), and
    for the batch axis."""
    shape = [
        None if any(other.shape[axis] != size for other in others) else size
        for axis, size in enumerate(spec.shape)
    ]
    if shape and any_batch:
        shape[0] = None
    return tuple(shape)


def _output_specs(layer: Any, args: Any, kwargs: Any, fill: int) -> Any:
    """`(output specs, mask specs)` with `None` axes set to `fill`."""
    from nn.layers import masking

    def to_spec(leaf):
        return leaf.spec(fill) if isinstance(leaf, SymbolicTensor) else leaf

    def to_mask(leaf):
        return leaf.mask_spec(fill) if isinstance(leaf, SymbolicTensor) else None

    specs, kw_specs = jax.tree.map(to_spec, (args, kwargs))
    masks = jax.tree.map(to_mask, (args, kwargs))
    return masking.specs_with_masks(layer, specs, kw_specs, masks)
