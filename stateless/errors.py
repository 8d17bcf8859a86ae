"""The framework's own error types, and the one shape check used everywhere.

Every message names who raised it (an op, a layer, an argument), what was
expected and what was received, then gives a hint. The classes subclass the
builtin a user would catch anyway (`ValueError`, `TypeError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ShapeError(ValueError):
    """An argument has a shape its op or layer cannot take.

    Example of code that raises it::

        ops.matmul(ops.ones((2, 3)), ops.ones((4, 5)))
        # ShapeError: matmul: incompatible shapes (2, 3) and (4, 5). ...
    """


class DTypeError(TypeError):
    """A dtype name is unknown, or a dtype is not one an op accepts.

    Example of code that raises it::

        ops.cast(x, "flaot32")
        # DTypeError: unknown dtype 'flaot32'. Valid names: bfloat16, bool, ...
    """


class BackendError(ValueError):
    """An unknown backend name, or a backend whose package is not installed.

    Example of code that raises it::

        sl.set_backend("mxnet")
        # BackendError: unknown backend 'mxnet'. Valid names: jax, tensorflow, torch.
    """


class RandomStateError(ValueError):
    """Randomness was asked for without a key where a hidden one would be a trap.

    tl;dr: inside `jax.jit`, pass `seed=key` (or run under a `StatelessScope`
    that holds an `rng`). Drawing from the global generator while tracing
    would bake one fixed sample into the compiled program.

    Example of code that raises it::

        jax.jit(lambda x: sl.random.dropout(x, 0.5))(x)
        # RandomStateError: random.dropout drew from the global generator ...
    """


class ScopeError(ValueError):
    """A `StatelessScope` was asked for a variable or key it does not hold.

    Example of code that raises it::

        with sl.StatelessScope({"w": w}) as scope:
            scope.read("b")
        # ScopeError: StatelessScope holds no variable 'b'. It holds: w.
    """


class VariablesError(ValueError):
    """Variables whose keys or shapes do not match the model they are applied to.

    Example of code that raises it::

        model_a.apply(model_b.init(key), x)
        # VariablesError: Sequential 'sequential': the variables do not match ...
        #   missing: params/dense_2/kernel (16, 10) ...
    """


def owner_name(owner: Any) -> str:
    """Names whoever raises: an op name as given, or a layer as `Class 'name'`."""
    if isinstance(owner, str):
        return owner
    name = getattr(owner, "name", None)
    kind = type(owner).__name__
    return f"{kind} {name!r}" if name else kind


def _matches(shape: tuple[int, ...], expected: Sequence[Any]) -> bool:
    if expected and expected[0] is Ellipsis:
        tail = tuple(expected[1:])
        if len(shape) < len(tail):
            return False
        shape = shape[len(shape) - len(tail) :]
        expected = tail
    if len(shape) != len(expected):
        return False
    return all(e is None or e == s for s, e in zip(shape, expected))


def _format_expected(expected: Sequence[Any]) -> str:
    parts = [
        "..." if e is Ellipsis else "None" if e is None else str(e) for e in expected
    ]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def check_shape(
    owner: Any, arg: str, x: Any, expected: Sequence[Any], hint: str = ""
) -> None:
    """Raises `ShapeError` unless `x.shape` matches `expected`.

    Args:
      owner: who checks: an op name (`"conv"`) or a layer object (its class and
        `name` are shown).
      arg: the argument's name, as the user wrote it.
      x: anything with a static `.shape` (an array, a tracer, a
        `jax.ShapeDtypeStruct`).
      expected: a tuple of sizes; `None` means any size, and a leading `...`
        means any number of leading dimensions.
      hint: an optional sentence on how to fix it.

    Raises:
      ShapeError: naming the owner, the argument, the expected and the received
        shape.

    Example:
      >>> import numpy as np
      >>> check_shape("dense", "x", np.zeros((2, 3)), (..., 3))
      >>> check_shape("dense", "x", np.zeros((2, 5)), (..., 3))
      Traceback (most recent call last):
      ...
      stateless.errors.ShapeError: dense, argument 'x': expected (..., 3), ...
    """
    shape = tuple(x.shape)
    if _matches(shape, expected):
        return
    message = (
        f"{owner_name(owner)}, argument {arg!r}: expected "
        f"{_format_expected(expected)}, received {shape}."
    )
    raise ShapeError(message + (f" Hint: {hint}" if hint else ""))
