"""Which backend runs the graph.

The graph is always JAX's. The backend names where `fit`, `evaluate` and
`predict` run it: on JAX itself, or lowered onto torch or TensorFlow tensors
(see `interop`). The choice comes from `set_backend(name)`, else from the
environment variable `STATELESS_BACKEND`, else `"jax"`. It is read when first
asked for, never at import, and choosing a backend does not import its package:
torch and TensorFlow load only when something runs on them.
"""

from __future__ import annotations

import importlib.util
import os

from stateless.errors import BackendError

BACKENDS = ("jax", "tensorflow", "torch")
ENV_VAR = "STATELESS_BACKEND"
_EXTRA = {"jax": "", "tensorflow": "[tensorflow]", "torch": "[torch]"}

_chosen: str | None = None


def _validate(name: str, source: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in BACKENDS:
        raise BackendError(
            f"unknown backend {name!r} (from {source}). "
            f"Valid names: {', '.join(BACKENDS)}."
        )
    name = name.strip().lower()
    if importlib.util.find_spec(name) is None:  # each backend's package has its name
        raise BackendError(
            f"backend {name!r} (from {source}) needs the package "
            f"{name!r}, which is not installed. "
            f"Hint: pip install 'stateless{_EXTRA[name]}'."
        )
    return name


def backend() -> str:
    """Returns the name of the current backend: `"jax"`, `"tensorflow"` or `"torch"`.

    Example:
      >>> import stateless as sl
      >>> sl.backend() in ("jax", "tensorflow", "torch")
      True
    """
    global _chosen
    if _chosen is None:
        _chosen = _validate(os.environ.get(ENV_VAR, "jax"), f"${ENV_VAR}")
    return _chosen


def set_backend(name: str) -> None:
    """Chooses the backend for this process; it overrides `STATELESS_BACKEND`.

    Args:
      name: `"jax"`, `"tensorflow"` or `"torch"` (case-insensitive).

    Raises:
      BackendError: the name is unknown (the valid ones are listed), or its
        package is not installed.

    Example:
      >>> import stateless as sl
      >>> previous = sl.backend()
      >>> sl.set_backend("jax")
      >>> sl.backend()
      'jax'
      >>> sl.set_backend(previous)
    """
    global _chosen
    _chosen = _validate(name, "set_backend")
