"""The fit loop's jitted training step, donating every buffer nobody else holds.

A step that donates its state writes the new one into the old one's buffers;
one that keeps them allocates fresh output buffers every step, which on the
CPU (new pages faulted in each time) costs the MLP benchmark about a fifth
of its speed. The loop's optimizer and metric states are its own, so they
are always donated. The parameters and layer state are donated unless the
loop has handed them out (on `model.variables`, to callbacks) or they came
from the caller: then whoever holds them may keep them (EarlyStopping keeps
its best weights), so the step is given a copy instead.

The step takes and returns its state packed (`train.packing`): the scalars
and small arrays of a run in one vector per dtype, the key beside the
donated buffers.

Example:
  >>> import jax.numpy as jnp
  >>> from train.packing import pack, unpack
  >>> run = donating_step(lambda ts, batch: (ts._replace(step=ts.step + 1), {}))
  >>> ts = TrainState(jnp.zeros((), jnp.int32), {"w": jnp.ones(10_000)}, {}, (),
  ...                 {}, jnp.zeros(2, jnp.uint32))  # w is too big to pack
  >>> packed = pack(ts)
  >>> new, _ = run(packed, None, shown=True)  # ts.params are someone's: kept
  >>> bool(ts.params["w"].is_deleted()), int(unpack(new).step)
  (False, 1)
  >>> _ = run(new, None, shown=False)         # only the loop holds new's arrays
  >>> bool(new.arrays[0].is_deleted())
  True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from train.packing import PackedState, pack, unpack
from train.steps import TrainState, widened

Step = Callable[[TrainState, Any], tuple[TrainState, Any]]


def packed_step(step: Step) -> Callable[..., tuple[Any, Any, Any]]:
    """`step` over a packed state: `(packed, key, batch) -> (packed, new key
    or None, out)`; the key comes back only if the step changed it."""

    def run(packed: PackedState, key: Any, batch: Any) -> tuple[Any, Any, Any]:
        ts, out = step(unpack(packed, key), batch)
        new = pack(ts, like=packed.layout)
        return new, (None if ts.key is key else ts.key), out

    return run


def donating_step(step: Step, jit: bool = True) -> Callable[..., tuple[Any, Any]]:
    """`step` compiled once (with `jit`; else run op by op), donating its
    whole packed state but the key.

    Returns:
      `run(packed, batch, shown) -> (packed, out)`: with `shown=True` the
      step gets a copy of the parameters and layer state (one dispatch), so
      the arrays the caller holds stay valid.
    """
    body = packed_step(step)
    compiled = jax.jit(body, donate_argnums=(0,)) if jit else body
    steady = [None]  # the last layout the step was seen to return unchanged

    def run(packed: PackedState, batch: Any, shown: bool) -> tuple[PackedState, Any]:
        if packed.layout is not steady[0]:
            packed = _settled(compiled, packed, batch)
            steady[0] = packed.layout
        if shown:
            kept = packed.layout.kept  # copied by the runtime: nothing to compile
            fresh = (*_copy(packed.arrays[:kept]), *packed.arrays[kept:])
            packed = PackedState(fresh, packed.vectors, packed.layout, packed.key)
        new, key, out = compiled(packed, packed.key, batch)
        new.key = packed.key if key is None else key
        return new, out

    return run


def _settled(compiled: Any, packed: PackedState, batch: Any) -> PackedState:
    """`packed` with its metric states widened, on the host, to the shapes the
    step gives them (see `train.steps.widened`), so that the step compiles
    once, for the shapes it keeps, and reuses the buffers it is donated."""
    after = jax.eval_shape(compiled, packed, packed.key, batch)[0].layout
    if after == packed.layout:
        return packed
    ts = unpack(packed)
    shapes = [jax.ShapeDtypeStruct(shape, "float32") for shape in after.shapes]
    metrics = jax.tree.unflatten(after.treedef, shapes).metrics
    return pack(ts._replace(metrics=widened(ts.metrics, metrics)))


def _copy(arrays: tuple) -> list:
    """Copies of `arrays`, by the runtime where it can (nothing to compile);
    arrays spanning other processes' devices are copied by a program."""
    if all(a.is_fully_addressable for a in arrays):
        return jax.device_put(list(arrays), may_alias=False) if arrays else []
    return _copy_program(arrays)


_copy_program = jax.jit(lambda arrays: [jnp.copy(a) for a in arrays])
