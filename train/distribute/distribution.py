"""Distributions: where a run's state and batches live on a device mesh.

A distribution turns the single-device fit loop into a sharded one without
changing the step: it places the `TrainState` on the mesh (parameters
replicated, or sharded by layout rules), shards each batch along the mesh's
batch axis, and pins the shardings of the step's outputs. The step itself is
the same pure function, jitted: XLA's SPMD partitioner inserts the
collectives (the gradient all-reduce, the all-gathers of sharded kernels), so
metrics and BatchNormalization statistics are computed over the global batch,
exactly as on one device, and the dropout mask of each replica is its slice of
one global random draw (so replicas differ, and the run equals the
single-device run).

Batches: the `fit` batch size must divide by the size of the batch axis (an
error says so at the start). A batch that does not divide (the short last
batch of an epoch) is run replicated: correct, just not split.

Use one by passing `distribution=` to `compile` (or `Trainer`), or for
everything in a block with `with distribution.scope(): ...`.

Example:
  >>> dist = DataParallel()
  >>> dist.mesh.axis_names
  ('batch',)
  >>> with dist.scope():
  ...     current() is dist
  True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from train.distribute.layout import follow_params, layout_specs

_current: list[Distribution] = []


def current() -> Distribution | None:
    """The distribution of the innermost `scope()` block, or None."""
    return _current[-1] if _current else None


def make_mesh(axes: Mapping[str, int], devices: Sequence[Any] | None = None) -> Mesh:
    """A device mesh with named axes, e.g. `make_mesh({"batch": 2, "model": 4})`.

    Args:
      axes: `{axis name: size}`; the product must equal the number of devices.
      devices: the devices to use (default: all of `jax.devices()`).
    """
    devices = list(jax.devices() if devices is None else devices)
    sizes = tuple(axes.values())
    if int(np.prod(sizes)) != len(devices):
        raise ValueError(
            f"make_mesh: axes {dict(axes)} hold {int(np.prod(sizes))} devices, "
            f"but {len(devices)} devices were given."
        )
    auto = (jax.sharding.AxisType.Auto,) * len(sizes)  # the compiler propagates
    return jax.make_mesh(sizes, tuple(axes), axis_types=auto, devices=devices)


class Distribution:
    """Places a run on `mesh`; the base of `DataParallel` and `ModelParallel`.

    Args:
      mesh: the device mesh.
      layout: `{pattern: PartitionSpec}` for variables (see
        `train.distribute.layout`); unmatched variables are replicated.
      batch_axis: the mesh axis batches are split over (None: not split).
      strict: every variable must match a layout rule.
    """

    def __init__(
        self,
        mesh: Mesh,
        layout: Mapping[str, PartitionSpec] | None = None,
        *,
        batch_axis: str | None = "batch",
        strict: bool = False,
    ):
        if batch_axis is not None and batch_axis not in mesh.shape:
            raise ValueError(
                f"{type(self).__name__}: batch_axis {batch_axis!r} is not an axis "
                f"of the mesh {dict(mesh.shape)}."
            )
        self.mesh, self.layout = mesh, dict(layout or {})
        self.batch_axis, self.strict = batch_axis, strict

    @property
    def replicas(self) -> int:
        """How many ways a batch is split."""
        return 1 if self.batch_axis is None else self.mesh.shape[self.batch_axis]

    @contextlib.contextmanager
    def scope(self) -> Iterator[Distribution]:
        """Makes `fit/evaluate/predict` in the block use this distribution."""
        _current.append(self)
        try:
            yield self
        finally:
            _current.pop()

    # -- variables and train state ---------------------------------------------

    def variable_specs(self, variables: Any) -> Any:
        """`PartitionSpec`s for a `{"params", "state"}` tree (shapes suffice);
        raises `LayoutError` before anything is allocated."""
        return layout_specs(variables, self.layout, self.mesh, strict=self.strict)

    def state_specs(self, ts: Any) -> Any:
        """`PartitionSpec`s for every leaf of a `TrainState`."""
        specs = self.variable_specs({"params": ts.params, "state": ts.state})
        replicated = PartitionSpec()
        return ts._replace(
            step=replicated,
            params=specs["params"],
            state=specs["state"],
            opt_state=follow_params(ts.opt_state, specs["params"], ts.params),
            metrics=jax.tree.map(lambda _: replicated, ts.metrics),
            key=replicated,
        )

    def shardings(self, specs: Any) -> Any:
        return jax.tree.map(
            lambda s: NamedSharding(self.mesh, s),
            specs,
            is_leaf=lambda x: isinstance(x, PartitionSpec),
        )

    def place(self, tree: Any, specs: Any) -> Any:
        """`tree` put on the mesh as `specs` say."""
        return jax.device_put(tree, self.shardings(specs))

    def place_state(self, ts: Any) -> Any:
        """A `TrainState` put on the mesh: parameters as the layout says,
        optimizer slots like their parameters, the rest replicated."""
        return self.place(ts, self.state_specs(ts))

    def place_variables(self, variables: Any) -> Any:
        return self.place(variables, self.variable_specs(variables))

    # -- batches ----------------------------------------------------------------

    def check_batch_size(self, batch_size: int) -> None:
        if batch_size % self.replicas:
            raise ValueError(
                f"batch_size {batch_size} does not divide by the {self.replicas} "
                f"replicas of mesh axis {self.batch_axis!r}; use a multiple of "
                f"{self.replicas}."
            )

    def batch_spec(self, leaf: Any, stacked: bool = False) -> PartitionSpec:
        """Split along the batch axis (axis 1 for `stacked` executions) when
        the batch divides; replicated otherwise."""
        axis = 1 if stacked else 0
        shape = np.shape(leaf)
        if self.batch_axis is None or len(shape) <= axis or shape[axis] % self.replicas:
            return PartitionSpec()
        return PartitionSpec(*([None] * axis), self.batch_axis)

    def shard_batch(self, batch: Any, stacked: bool = False) -> Any:
        """`batch` (host arrays) put on the mesh, split along the batch axis.

        With several processes, each passes its own part of the global batch
        (see `train.distribute.multihost`)."""

        def put(leaf: Any) -> Any:
            sharding = NamedSharding(self.mesh, self.batch_spec(leaf, stacked))
            if jax.process_count() > 1:
                return jax.make_array_from_process_local_data(sharding, leaf)
            return jax.device_put(leaf, sharding)

        return jax.tree.map(put, batch)

    # -- steps ------------------------------------------------------------------

    def wrap_train_step(self, step: Any, stacked: bool = False) -> Any:
        """`step` with the shardings of its output `TrainState` pinned to the
        layout, so parameters stay where it put them. (`stacked`: the step
        takes fused executions' stacked batches.)"""

        def pinned(ts: Any, batch: Any) -> Any:
            new_ts, logs = step(ts, batch)
            shardings = self.shardings(self.state_specs(new_ts))
            return jax.lax.with_sharding_constraint(new_ts, shardings), logs

        return pinned

    wrap_eval_step = wrap_train_step

    def wrap_predict_step(self, step: Any) -> Any:
        return step

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(mesh={dict(self.mesh.shape)}, "
            f"batch_axis={self.batch_axis!r}, layout={self.layout})"
        )


class DataParallel(Distribution):
    """Batches split over all devices (or `devices`), variables replicated.

    Args:
      devices: the devices (default: `jax.devices()`, every device of every
        process).
      axis_name: the name of the mesh's single axis.

    Example:
      >>> dist = DataParallel()
      >>> dist.replicas == len(jax.devices())
      True
    """

    def __init__(self, devices: Sequence[Any] | None = None, axis_name: str = "batch"):
        devices = list(jax.devices() if devices is None else devices)
        mesh = make_mesh({axis_name: len(devices)}, devices)
        super().__init__(mesh, batch_axis=axis_name)


class ModelParallel(Distribution):
    """Variables sharded by layout rules, batches split over `batch_axis`.

    Args:
      mesh: a mesh with a model axis and (usually) a batch axis, e.g.
        `make_mesh({"batch": 2, "model": 4})`.
      layout: `{pattern: PartitionSpec}`, e.g.
        `{r"dense.*kernel": P(None, "model")}` splits Dense kernels' output
        dimension over the `"model"` axis.
      batch_axis: the mesh axis batches are split over (None: not split).
      strict: every variable must match a rule.

    Example:
      >>> from jax.sharding import PartitionSpec as P
      >>> mesh = make_mesh({"batch": 1, "model": len(jax.devices())})
      >>> dist = ModelParallel(mesh, {r"kernel": P(None, "model")})
      >>> dist.replicas
      1
    """

    def __init__(
        self,
        mesh: Mesh,
        layout: Mapping[str, PartitionSpec],
        *,
        batch_axis: str | None = "batch",
        strict: bool = False,
    ):
        super().__init__(mesh, layout, batch_axis=batch_axis, strict=strict)
