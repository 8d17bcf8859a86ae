"""Shape errors from JAX, re-raised under the name of the op the user called.

JAX's own messages name an internal primitive (`dot_general`) or no op at all
("Incompatible shapes for broadcasting"). `names_shape_errors` wraps an op so
that such an error reaches the user as a `ShapeError` that names the op and
every array argument's shape. It costs nothing on the success path (one
`try`) and adds nothing to the traced program.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from stateless.errors import ShapeError

F = TypeVar("F", bound=Callable[..., Any])

_SHAPE_WORDS = (
    "shape",
    "dimension",
    "axis",
    "axes",
    "label",
    "size",
    "broadcast",
    "division",
)


def _shapes(args: tuple[Any, ...]) -> list[Any]:
    shapes = []
    for arg in args:
        if hasattr(arg, "shape"):
            shapes.append(tuple(arg.shape))
        elif (
            isinstance(arg, list | tuple)
            and arg
            and all(hasattr(a, "shape") for a in arg)
        ):
            shapes.append([tuple(a.shape) for a in arg])
    return shapes


def names_shape_errors(op: F) -> F:
    """Wraps `op` so JAX's shape errors become `ShapeError`s naming `op`."""

    @functools.wraps(op)
    def named(*args: Any, **kwargs: Any) -> Any:
        try:
            return op(*args, **kwargs)
        except ShapeError:
            raise
        except (TypeError, ValueError) as err:
            text = str(err)
            if not any(word in text.lower() for word in _SHAPE_WORDS):
                raise
            shapes = " and ".join(str(s) for s in _shapes(args))
            raise ShapeError(
                f"{op.__name__}: arguments of shapes {shapes} do not fit: {text}"
            ) from err

    return named  # type: ignore[return-value]
