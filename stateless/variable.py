"""`Variable`: a handle on one weight, whose value lives in a scope.

A Keras-style layer keeps `self.kernel = self.add_weight(...)`. The object it
keeps is a handle: a name, a shape, a dtype, an initializer, whether it is
trainable, and the layer that owns it. It never holds the array. Reading
`handle.value` (or using the handle in `sl.ops`, arithmetic or NumPy) asks the
entered scopes, innermost first, where the weight lives
(`StatelessScope.variable_path`) and reads it there; `assign` records a new
value in that scope. So code that looks stateful stays a pure function of the
variables the scope was given, under `jax.jit`, `grad`, `vmap` and `scan`.

Outside any scope, a handle reads and writes the values its owner holds
(`owner.read_held(handle)` / `owner.assign_held(handle, value)`), the stateful
shell of an eagerly used layer or model.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from stateless import scope as scope_lib
from stateless.errors import ScopeError


def _forward(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    return lambda self, other: fn(self.value, _unwrap(other))


def _reflected(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    return lambda self, other: fn(_unwrap(other), self.value)


class Variable:
    """A named weight of a layer; its value is read from the enclosing scope.

    Args:
      shape: the weight's shape.
      dtype: its dtype name.
      initializer: `(key, shape, dtype) -> array`, run when the owner is
        initialized.
      trainable: trainable weights are `params`, the others are `state`.
      name: the key it is kept under; None takes the attribute's name.
      owner: the layer it belongs to.
      regularizer, constraint: optional, applied by the owner.

    Example:
      >>> import jax.numpy as jnp
      >>> import stateless as sl
      >>> class Owner: pass
      >>> w = Variable((2,), "float32", None, name="w", owner=Owner())
      >>> class Scope(sl.StatelessScope):
      ...     def variable_path(self, variable):
      ...         return f"params/{variable.name}"
      >>> with Scope({"params": {"w": jnp.ones(2)}}):
      ...     (w * 3).tolist()
      [3.0, 3.0]
    """

    __array_priority__ = 100  # NumPy defers `array * handle` to the handle

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: str,
        initializer: Callable[..., Any] | None,
        *,
        trainable: bool = True,
        name: str | None = None,
        owner: Any = None,
        regularizer: Any = None,
        constraint: Any = None,
    ):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype
        self.initializer = initializer
        self.trainable = trainable
        self.name = name
        self.owner = owner
        self.regularizer = regularizer
        self.constraint = constraint

    @property
    def collection(self) -> str:
        """`"params"` for a trainable weight, `"state"` for the others."""
        return "params" if self.trainable else "state"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def locate(self) -> tuple[scope_lib.StatelessScope, str] | None:
        """`(scope, path)` of the entered scope that holds it, else None."""
        for scope in reversed(scope_lib.scope_stack()):
            path = scope.variable_path(self)
            if path is not None:
                return scope, path
        return None

    @property
    def value(self) -> Any:
        """The current value: from the scope that holds it, else the owner's."""
        found = self.locate()
        if found is not None:
            scope, path = found
            return scope.read(path)
        read_held = getattr(self.owner, "read_held", None)
        if read_held is not None:
            return read_held(self)
        raise ScopeError(
            f"weight {self.name!r} of {type(self.owner).__name__} was read outside "
            "its layer's call, and the layer holds no values. Hint: read it inside "
            "call, or build the layer first (call it on an array)."
        )

    def assign(self, value: Any) -> None:
        """Records a new value: in the scope that holds it, else on the owner.

        Inside a pure `apply`, only non-trainable weights may be assigned; the
        new value comes back in `apply`'s new state.
        """
        found = self.locate()
        if found is None:
            self.owner.assign_held(self, value)
            return
        if self.trainable:
            raise ScopeError(
                f"weight {self.name!r} of {type(self.owner).__name__} is trainable, "
                "so call cannot assign it (apply is pure; the optimizer updates "
                "trainable weights). Hint: add_weight(..., trainable=False) for a "
                "weight that call updates, like a running mean."
            )
        scope, path = found
        scope.assign(path, _as_value(value, self))

    def assign_add(self, delta: Any) -> None:
        """`assign(value + delta)`."""
        self.assign(self.value + _unwrap(delta))

    def assign_sub(self, delta: Any) -> None:
        """`assign(value - delta)`."""
        self.assign(self.value - _unwrap(delta))

    def numpy(self) -> np.ndarray:
        """The current value as a NumPy array."""
        return np.asarray(self.value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype)

    def __repr__(self) -> str:
        return f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype}>"

    # Arithmetic on the current value, so `x @ self.w + self.b` reads naturally.
    def __getitem__(self, index: Any) -> Any:
        return self.value[index]

    def __neg__(self) -> Any:
        return -self.value

    def __abs__(self) -> Any:
        return abs(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __len__(self) -> int:
        return self.shape[0]

    __add__, __radd__ = _forward(operator.add), _reflected(operator.add)
    __sub__, __rsub__ = _forward(operator.sub), _reflected(operator.sub)
    __mul__, __rmul__ = _forward(operator.mul), _reflected(operator.mul)
    __truediv__ = _forward(operator.truediv)
    __rtruediv__ = _reflected(operator.truediv)
    __floordiv__ = _forward(operator.floordiv)
    __rfloordiv__ = _reflected(operator.floordiv)
    __mod__, __rmod__ = _forward(operator.mod), _reflected(operator.mod)
    __pow__, __rpow__ = _forward(operator.pow), _reflected(operator.pow)
    __matmul__ = _forward(operator.matmul)
    __rmatmul__ = _reflected(operator.matmul)
    __lt__, __le__ = _forward(operator.lt), _forward(operator.le)
    __gt__, __ge__ = _forward(operator.gt), _forward(operator.ge)


def _unwrap(value: Any) -> Any:
    return value.value if isinstance(value, Variable) else value


def _as_value(value: Any, variable: Variable) -> Any:
    value = _unwrap(value)
    shape = tuple(getattr(value, "shape", ()))
    if shape != variable.shape:
        raise ScopeError(
            f"assign to weight {variable.name!r}: expected shape {variable.shape}, "
            f"received {shape}."
        )
    return value


def unwrap_variables(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple:
    """`args` and `kwargs` with each `Variable` (also one level inside a list
    or tuple) replaced by its value; what `sl.ops` calls on their inputs."""

    def one(value: Any) -> Any:
        if isinstance(value, Variable):
            return value.value
        if isinstance(value, list | tuple) and any(
            isinstance(v, Variable) for v in value
        ):
            return type(value)(_unwrap(v) for v in value)
        return value

    return tuple(map(one, args)), {k: one(v) for k, v in kwargs.items()}
