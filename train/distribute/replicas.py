"""The pmap path: one program per replica, with explicit collectives.

`PmapDataParallel` runs the step the way `jax.pmap` does: each device runs the
step on its slice of the batch, and the step itself averages what must agree
(`lax.pmean` of the gradients and of float layer state such as
BatchNormalization statistics) and gathers what metrics need
(`lax.all_gather` of targets and predictions), because it is built with
`make_train_step(..., axis_name=...)`. The per-replica program runs through
`jax.shard_map`, which `jax.pmap` itself is built on in current JAX; the
run's state stays one replicated global array, so the fit loop and callbacks
see ordinary arrays.

Differences from `DataParallel` (the jit path, usually what you want):
BatchNormalization normalizes with per-replica batch statistics (as
`jax.pmap` code without a cross-replica BatchNorm does; with
`synchronized=True` it uses the whole batch's) and averages the moving
statistics; each replica draws its own dropout key
(`fold_in(step key, replica index)`); every batch must divide by the number
of replicas (use `Dataset(..., drop_remainder=True)` for ragged data); a custom
`train_step` must do its own collectives over `axis_name`.

For a hand-written loop, `make_train_step(..., axis_name="batch")` also runs
under `jax.pmap(step, axis_name="batch")` directly.

Example:
  >>> dist = PmapDataParallel()
  >>> dist.axis_name
  'batch'
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import PartitionSpec

from train.distribute.distribution import DataParallel


class PmapDataParallel(DataParallel):
    """Data parallelism written per replica (the `jax.pmap` model); see the
    module docstring.

    Args:
      devices: the devices (default: all).
      axis_name: the collective axis the step reduces over.
    """

    def __init__(self, devices: Any = None, axis_name: str = "batch"):
        super().__init__(devices, axis_name)
        self.axis_name = axis_name

    def batch_spec(self, leaf: Any, stacked: bool = False) -> PartitionSpec:
        axis = 1 if stacked else 0
        size = np.shape(leaf)[axis] if np.ndim(leaf) > axis else None
        if size is None or size % self.replicas:
            raise ValueError(
                f"PmapDataParallel: a batch of {size} examples does not divide "
                f"by the {self.replicas} replicas; every batch must. Use "
                f"train.data.Dataset(..., drop_remainder=True), or DataParallel, "
                f"which runs such batches unsplit."
            )
        return PartitionSpec(*([None] * axis), self.axis_name)

    def _per_replica(self, step: Any, out_specs: Any, stacked: bool) -> Any:
        def run(shared: Any, batch: Any) -> Any:
            batch_specs = jax.tree.map(lambda x: self.batch_spec(x, stacked), batch)
            mapped = jax.shard_map(
                step,
                mesh=self.mesh,
                in_specs=(PartitionSpec(), batch_specs),
                out_specs=out_specs,
                check_vma=False,
            )
            return mapped(shared, batch)

        return run

    def wrap_train_step(self, step: Any, stacked: bool = False) -> Any:
        return self._per_replica(step, (PartitionSpec(), PartitionSpec()), stacked)

    wrap_eval_step = wrap_train_step

    def wrap_predict_step(self, step: Any) -> Any:
        return self._per_replica(step, PartitionSpec(self.axis_name), False)
