"""Finding a user's file that shadows one of the framework's packages.

The framework installs four top-level packages: `stateless`, `interop`,
`train` and `nn`. A user's own `train.py` (or `nn.py`, `interop.py`) beside
their script comes first on `sys.path`, so `import nn`, which imports
`train`, would import the user's file instead, and fail later with a
misleading circular-import error. Each package checks its siblings before
importing them and names the shadowing file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]


class ShadowedPackageError(ImportError):
    """A user's module hides one of the framework's packages."""


def check_not_shadowed(*names: str) -> None:
    """Raises `ShadowedPackageError` if `import name` would not import ours.

    Example:
      >>> check_not_shadowed("stateless")  # nothing shadows it here
    """
    for name in names:
        spec = importlib.util.find_spec(name)
        origin = None if spec is None or spec.origin is None else Path(spec.origin)
        if origin is None or origin.resolve().parent == _ROOT / name:
            continue
        raise ShadowedPackageError(
            f"the file {origin} hides the framework's package {name!r}: "
            f"`import {name}` finds it first on sys.path. Hint: rename your "
            f"{origin.name} (e.g. to my_{origin.name}) and delete any "
            f"__pycache__/{name}.*.pyc beside it."
        )
