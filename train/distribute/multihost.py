"""Several hosts, one run: start-up and per-host data loading.

On a TPU pod slice or a multi-node GPU cluster, every host runs the same
script. Each calls `initialize()` first (on Cloud TPU and under SLURM or
Open MPI JAX finds the coordinator itself; elsewhere pass it), after which
`jax.devices()` lists every device of every host and a `DataParallel()` or a
mesh built from it spans them all.

Each host loads only its own part of the data: `host_slice(arrays)` takes the
process's contiguous share, and with `fit(..., batch_size=global // hosts)`
every host feeds its local batch; `Distribution.shard_batch` assembles the
global batch from the local parts with `jax.make_array_from_process_local_data`.
Hosts must run the same number of steps: give each the same number of
examples (`host_slice` does, dropping at most `hosts - 1` examples at the end).

    # on every host of the slice
    from train import distribute
    distribute.initialize()                     # coordinator found on TPU
    x_local, y_local = distribute.host_slice((x, y))
    model.compile(..., distribution=distribute.DataParallel())
    model.fit(x_local, y_local, batch_size=1024 // jax.process_count())

Example (one process: the whole data is this host's share):
  >>> x = np.arange(10)
  >>> host_slice(x).tolist() == x.tolist()
  True
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    **kwargs: Any,
) -> None:
    """Connects this process to the others (`jax.distributed.initialize`).

    Call once per process, before anything touches a device. With no
    arguments JAX detects Cloud TPU, SLURM and Open MPI environments.
    """
    jax.distributed.initialize(coordinator_address, num_processes, process_id, **kwargs)


def host_slice(
    tree: Any, process_index: int | None = None, process_count: int | None = None
) -> Any:
    """This process's equal, contiguous share of every array in `tree` (along
    axis 0); all hosts get the same number of examples."""
    index = jax.process_index() if process_index is None else process_index
    count = jax.process_count() if process_count is None else process_count

    def share(x: Any) -> Any:
        x = np.asarray(x)
        per_host = len(x) // count
        return x[index * per_host : (index + 1) * per_host]

    return jax.tree.map(share, tree)
