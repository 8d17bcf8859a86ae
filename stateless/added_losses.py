"""Losses a model adds from inside its forward pass (Keras's `add_loss`).

`layer.add_loss(value)` inside `call` appends `value` to the innermost
collector opened with `collect_losses()`. The training and evaluation steps
open one around the model's `apply`, so the added values join the compiled
loss (an activity penalty, a VAE's KL term). Outside any collector an added
loss has nowhere to go and is dropped: a hand-written step that wants them
opens a collector itself. Everything stays inside one trace, so collecting
is pure under `jax.jit` and `jax.grad`.

Example:
  >>> import jax, jax.numpy as jnp
  >>> def forward(x):
  ...     add_loss(0.5 * jnp.sum(x**2))
  ...     return 2 * x
  >>> def objective(x):
  ...     with collect_losses() as added:
  ...         y = forward(x)
  ...     return jnp.sum(y) + sum(added)
  >>> float(jax.grad(objective)(jnp.float32(1.0)))
  3.0
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import jax

_COLLECTORS: contextvars.ContextVar[tuple[list[Any], ...]] = contextvars.ContextVar(
    "stateless_added_losses", default=()
)


@contextlib.contextmanager
def collect_losses() -> Iterator[list[Any]]:
    """Collects the values `add_loss` receives while the block runs."""
    found: list[Any] = []
    token = _COLLECTORS.set(_COLLECTORS.get() + (found,))
    try:
        yield found
    finally:
        _COLLECTORS.reset(token)


def add_loss(value: Any) -> None:
    """Adds `value` (a scalar) to the innermost collector's list, if any."""
    stack = _COLLECTORS.get()
    if stack:
        stack[-1].append(value)


def shapes_of(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """`jax.eval_shape(fn, ...)`, keeping the losses `fn` adds to itself.

    Finding shapes traces `fn` in a trace of its own; a loss it added would
    leak that trace's values into an enclosing collector. Every shape
    inference that may run a model's `call` goes through here.
    """

    def isolated(*a: Any, **k: Any) -> Any:
        with collect_losses():
            return fn(*a, **k)

    return jax.eval_shape(isolated, *args, **kwargs)
