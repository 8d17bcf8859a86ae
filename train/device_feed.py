"""In-memory training data kept on the device for a whole `fit`.

When `fit` is given arrays whose total size is at most `BUDGET_BYTES` (1 GiB),
and it runs compiled on JAX (not `run_eagerly`) without a distribution,
taking whole passes over the data (no `steps_per_epoch`), it puts the arrays
on the device once, if it runs more than one epoch or they are at most
`ONE_PASS_BYTES` (64 MiB): one pass over more data is faster sliced on the
host than copied whole first (on the 2-core CPU, copying the 100 MB of the
MLP benchmark took 63 ms, a fifth of its one-epoch fit).

When the data is shuffled, each epoch puts that epoch's order of examples
there too (one small copy) and permutes the arrays into it in one program
(so the device holds the data twice); each execution then slices its own
batch inside the compiled program, at a position that the program itself
advances: a step is one dispatch, with no host-to-device copy. The batches
are exactly those the host would have sliced (the same `Dataset.order`, the
same groups for `steps_per_execution`), so a fit trains the same either way
(bit for bit in the tests; with the slice fused into the step, XLA may sum a
metric in another order, off in the last digit).

Example:
  >>> from train.data import Dataset
  >>> data = Dataset.from_arrays(np.arange(10.0), batch_size=4)
  >>> feed = DeviceFeed(data)
  >>> [(kind.value, size) for kind, size in feed.epoch(0, steps_per_execution=2)]
  [('train_fused', 4), ('train', 2)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from train.class_weights import weigh_by_class
from train.compiling import StepKind

BUDGET_BYTES = 1 << 30
ONE_PASS_BYTES = 1 << 26


def can_feed(
    dataset: Any, steps_per_epoch: int | None, distribution: Any, epochs: int = 2
) -> bool:
    """Whether a `fit` of `epochs` epochs keeps `dataset` on the device (see the
    module docstring); the caller checks the backend and `run_eagerly`."""
    arrays = dataset.arrays
    if arrays is None or steps_per_epoch is not None or distribution is not None:
        return False
    size = sum(np.asarray(a).nbytes for a in jax.tree.leaves(arrays))
    return size <= BUDGET_BYTES and (epochs > 1 or size <= ONE_PASS_BYTES)


class DeviceFeed:
    """A `from_arrays` dataset on the device, and the position in its epoch.

    Args:
      dataset: a `train.data.Dataset` built from arrays.
      class_weight: Keras's `class_weight`, folded into the sample weights once.
    """

    def __init__(self, dataset: Any, class_weight: Mapping[int, float] | None = None):
        arrays = dataset.arrays
        if class_weight:
            arrays = weigh_by_class(arrays, class_weight)
        self.dataset = dataset
        self.arrays = jax.device_put(arrays)
        self.ordered: Any = None  # the arrays in this epoch's order
        self.start: jax.Array | None = None  # the next example of `ordered`

    def epoch(
        self, epoch: int, steps_per_execution: int, done: int = 0
    ) -> Iterator[tuple[StepKind, int]]:
        """The executions of epoch `epoch`, as `(kind, batch size)`: groups of
        `steps_per_execution` full batches fused, the rest one by one; with
        `done`, those after its first `done` batches (a resumed epoch)."""
        size, count = self.dataset.batch_size, self.dataset.num_examples
        order = self.dataset.order(epoch)[:count]
        self.ordered = self.arrays
        if not np.array_equal(order, np.arange(len(order))):
            self.ordered = _permute(self.arrays, jax.device_put(order.astype(np.int32)))
        self.start = jax.device_put(np.int32(min(done * size, count)))
        full, rest = divmod(count, size)
        k = steps_per_execution
        fused, single = (full // k, full % k) if k > 1 else (0, full)
        sizes = [size] * single + ([rest] if rest else [])
        runs = [(StepKind.TRAIN_FUSED, size)] * fused
        runs += [(StepKind.TRAIN, one) for one in sizes]
        yield from runs[_executions_in(runs, done, k) :]

    def inputs(self) -> tuple[Any, jax.Array]:
        """What a slicing step takes: the epoch's arrays and the position."""
        return self.ordered, self.start


def _executions_in(runs: list[tuple[StepKind, int]], done: int, k: int) -> int:
    """How many of `runs` the first `done` batches make up.

    Raises:
      ValueError: if `done` batches end inside a fused execution.
    """
    batches = 0
    for taken, (kind, _) in enumerate(runs):
        if batches == done:
            return taken
        batches += k if kind is StepKind.TRAIN_FUSED else 1
    if batches != done:
        raise ValueError(
            f"fit: cannot resume after {done} batches of an epoch of {batches} "
            f"run {k} at a time (steps_per_execution={k}); resume at a multiple of it."
        )
    return len(runs)


@jax.jit
def _permute(arrays: Any, order: jax.Array) -> Any:
    return jax.tree.map(lambda a: jnp.take(a, order, axis=0), arrays)


def slicing(step: Callable[..., Any], count: int, size: int) -> Callable[..., Any]:
    """`step(ts, batch)` as `run(ts, (arrays, start)) -> (ts, (logs,
    next_start))`: it slices `count` batches of `size` examples from
    `arrays[start:]` (stacked when `count > 1`, for a fused step), inside
    the program."""

    def run(ts: Any, feed: tuple[Any, jax.Array]) -> Any:
        arrays, start = feed

        def take(array: jax.Array) -> jax.Array:
            batch = jax.lax.dynamic_slice_in_dim(array, start, count * size)
            return batch if count == 1 else batch.reshape(count, size, *array.shape[1:])

        ts, logs = step(ts, jax.tree.map(take, arrays))
        return ts, (logs, start + count * size)

    return run
