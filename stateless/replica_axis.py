"""The axis a step runs per replica over, for layers that reduce across it.

A step built for one replica per device (`make_train_step(...,
axis_name="batch")` under `jax.shard_map` or `jax.pmap`) opens
`over_replicas(axis_name)` around the model's forward pass, and a layer that
wants statistics of the whole batch rather than of its replica's slice
(`BatchNormalization(synchronized=True)`) reads `current()` and reduces
across that axis. Outside such a step `current()` is None: under `jax.jit`
with sharded arrays the batch is already whole, so there is nothing to add.
The value is read while tracing, so it costs nothing at run time.

Example:
  >>> current() is None
  True
  >>> with over_replicas("batch"):
  ...     current()
  'batch'
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_AXIS: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stateless_replica_axis", default=None
)


@contextlib.contextmanager
def over_replicas(axis_name: str | None) -> Iterator[None]:
    """Marks the block as running per replica over `axis_name` (None: not)."""
    token = _AXIS.set(axis_name)
    try:
        yield
    finally:
        _AXIS.reset(token)


def current() -> str | None:
    """The replica axis of the step being traced, or None."""
    return _AXIS.get()
