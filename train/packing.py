"""A `TrainState` as the compiled train step carries it: in few buffers.

Each buffer a jitted call takes or returns costs about a microsecond of
dispatch, so on a small model the bookkeeping of a run (the step counter,
the optimizer's counts and learning rate, the running loss) and the small
arrays (biases, their optimizer moments) cost more than the arithmetic. A
`PackedState` ravels every scalar, and every array of at most
`SMALL_ELEMENTS` elements that lives on one device, into one vector per
dtype; larger arrays travel as they are (copying them into a vector would
cost more than it saves). The run's key rides beside the donated buffers,
not through them: a step that draws no randomness does not take it at all
(`jax.jit` prunes unused arguments).

`pack` and `unpack` trace (the compiled step unpacks at its start and packs
at its end). On the host they copy the packed leaves through host memory
(small by construction) rather than compile a program per layout; reading
the state of a running fit therefore waits for its last step. On the small MLP of
`bench/compare.py` (64-64-10, batch 32) a step of the fit loop takes 46 us
packed against 61 us with its scalars alone packed and 72 us unpacked.

Example:
  >>> from train.steps import TrainState
  >>> ts = TrainState(jnp.int32(3), {"w": jnp.ones((2, 2))}, {}, (jnp.int32(1),),
  ...                 {"loss": {"total": jnp.float32(2)}}, jnp.zeros(2, jnp.uint32))
  >>> packed = pack(ts)
  >>> [v.shape for v in packed.vectors]  # float32: w and the loss; int32: counts
  [(5,), (2,)]
  >>> unpack(packed).params["w"].shape
  (2, 2)
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from train.steps import TrainState

SMALL_ELEMENTS = 4096  # an array this small (16 KiB of float32) is packed


class Layout(NamedTuple):
    """Where each leaf of a `TrainState` (its key aside) lives when packed.

    Attributes:
      treedef: the structure of the state with its key set to None.
      kinds: per leaf, the dtype name of the vector it is raveled into, or
        None for a leaf kept as an array.
      shapes: per leaf, its shape.
      dtypes: the vectors' dtype names, in order.
      kept: how many of the leading arrays are parameters or layer state.
    """

    treedef: Any
    kinds: tuple[str | None, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]
    kept: int


@jax.tree_util.register_pytree_node_class
class PackedState:
    """The donated buffers of a `TrainState`, and its key beside them.

    Attributes:
      arrays: the leaves kept as arrays, in the state's order.
      vectors: one vector per dtype of `layout.dtypes`: the packed leaves
        raveled and joined, in the state's order.
      layout: how to rebuild the state (static: part of the tree structure).
      key: the run's key, which is not a leaf of this tree.
    """

    def __init__(self, arrays: tuple, vectors: tuple, layout: Layout, key: Any = None):
        self.arrays, self.vectors, self.layout, self.key = arrays, vectors, layout, key

    def tree_flatten(self) -> tuple[tuple[Any, Any], Layout]:
        return (self.arrays, self.vectors), self.layout

    @classmethod
    def tree_unflatten(cls, layout: Layout, children: Any) -> PackedState:
        return cls(*children, layout)


def _kind(leaf: Any) -> str | None:
    """The vector `leaf` is packed into: scalars always, small arrays when on
    one device (a sharded array keeps its layout); None for the rest."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return None
    small = leaf.ndim == 0 or (
        leaf.size <= SMALL_ELEMENTS
        and isinstance(leaf, jax.Array)
        and len(leaf.sharding.device_set) == 1
    )
    return jnp.dtype(leaf.dtype).name if small else None


def layout_of(ts: TrainState) -> Layout:
    """The layout that packs states shaped (and placed) as `ts`."""
    leaves, treedef = jax.tree.flatten(ts._replace(key=None))
    kinds = tuple(_kind(leaf) for leaf in leaves)
    held = len(jax.tree.leaves((ts.step, ts.params, ts.state)))
    kept = sum(kind is None for kind in kinds[:held])
    dtypes = tuple(sorted({k for k in kinds if k is not None}))
    shapes = tuple(tuple(leaf.shape) for leaf in leaves)
    return Layout(treedef, kinds, shapes, dtypes, kept)


def _vectors(layout: Layout, leaves: list[Any]) -> tuple:
    """The packed leaves raveled into one vector per dtype (traced)."""
    return tuple(
        jnp.concatenate(
            [jnp.ravel(v) for v, k in zip(leaves, layout.kinds) if k == dtype]
        ).astype(dtype)
        for dtype in layout.dtypes
    )


def _vectors_on_host(layout: Layout, leaves: list[Any]) -> tuple:
    """As `_vectors`, through host memory: the leaves are small, and a
    jitted concatenation would cost a compilation per layout."""
    vectors = []
    for dtype in layout.dtypes:
        packed = [v for v, k in zip(leaves, layout.kinds) if k == dtype]
        host = np.concatenate([np.ravel(np.asarray(v)) for v in packed]).astype(dtype)
        vectors.append(jax.device_put(host, getattr(packed[0], "sharding", None)))
    return tuple(vectors)


def _unravel(layout: Layout, vectors: tuple, on_host: bool = False) -> tuple:
    """The packed leaves, per vector, cut from `vectors` and reshaped; with
    `on_host`, cut in host memory and put back beside their vector."""
    columns = []
    for dtype, vector in zip(layout.dtypes, vectors):
        source = np.asarray(vector) if on_host else vector
        column, offset = [], 0
        for kind, shape in zip(layout.kinds, layout.shapes):
            if kind == dtype:
                size = math.prod(shape)
                column.append(source[offset : offset + size].reshape(shape))
                offset += size
        columns.append(jax.device_put(column, vector.sharding) if on_host else column)
    return tuple(columns)


def _tracing(tree: Any) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(tree))


def pack(ts: TrainState, like: Layout | None = None) -> PackedState:
    """`ts` as a `PackedState` (its arrays are the same buffers). Traced, it
    packs as `like` (the layout the step was given) when `ts` fits it."""
    leaves, treedef = jax.tree.flatten(ts._replace(key=None))
    tracing = _tracing(leaves)
    if tracing and like is not None and treedef == like.treedef:
        layout = like if _fits(like, treedef, leaves) else _resized(like, leaves)
    else:
        layout = layout_of(ts)
    arrays = tuple(v for v, k in zip(leaves, layout.kinds) if k is None)
    vectors = (_vectors if tracing else _vectors_on_host)(layout, leaves)
    return PackedState(arrays, vectors, layout, ts.key)


def _fits(layout: Layout | None, treedef: Any, leaves: list[Any]) -> bool:
    """Whether state leaves of this structure pack as `layout` does."""
    return (
        layout is not None
        and treedef == layout.treedef
        and all(
            tuple(v.shape) == shape and (k is None or jnp.dtype(v.dtype).name == k)
            for v, k, shape in zip(leaves, layout.kinds, layout.shapes)
        )
    )


def _resized(like: Layout, leaves: list[Any]) -> Layout:
    """`like` for traced leaves of the same structure whose shapes changed (a
    metric state the step widened): packed leaves stay packed while small."""
    kinds = tuple(
        None if k is None or v.size > SMALL_ELEMENTS else jnp.dtype(v.dtype).name
        for v, k in zip(leaves, like.kinds)
    )
    dtypes = tuple(sorted({k for k in kinds if k is not None}))
    shapes = tuple(tuple(v.shape) for v in leaves)
    return Layout(like.treedef, kinds, shapes, dtypes, like.kept)  # params alike


def unpack(packed: PackedState, key: Any = None) -> TrainState:
    """The `TrainState` that `packed` holds (its arrays are the same buffers);
    `key` replaces the packed state's key when given."""
    layout = packed.layout
    on_host = not _tracing(packed.vectors)
    columns = [iter(column) for column in _unravel(layout, packed.vectors, on_host)]
    arrays = iter(packed.arrays)
    leaves = [
        next(arrays) if kind is None else next(columns[layout.dtypes.index(kind)])
        for kind in layout.kinds
    ]
    ts = jax.tree.unflatten(layout.treedef, leaves)
    return ts._replace(key=packed.key if key is None else key)
