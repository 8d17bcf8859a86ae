"""Sharded training: the same `fit` over many devices, by naming a distribution.

* `DataParallel`: batches split over the devices, variables replicated.
* `ModelParallel`: variables sharded by layout rules (`{pattern:
  PartitionSpec}`), combined with data parallelism over a batch axis.
* `PmapDataParallel`: the per-replica (`jax.pmap`) programming model with
  explicit collectives.
* `multihost`: `initialize()` and `host_slice()` for pods and clusters.

Everything is built on `jax.sharding` (Mesh, NamedSharding, jit with pinned
shardings) and `jax.shard_map`; the collectives are XLA's.

Example:
  >>> from train import distribute
  >>> dist = distribute.DataParallel()
  >>> dist.replicas == len(jax.devices())
  True
"""

from train.distribute.distribution import DataParallel as DataParallel
from train.distribute.distribution import Distribution as Distribution
from train.distribute.distribution import ModelParallel as ModelParallel
from train.distribute.distribution import current as current
from train.distribute.distribution import make_mesh as make_mesh
from train.distribute.layout import LayoutError as LayoutError
from train.distribute.multihost import host_slice as host_slice
from train.distribute.multihost import initialize as initialize
from train.distribute.replicas import PmapDataParallel as PmapDataParallel
