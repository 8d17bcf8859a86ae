"""StatelessScope: stateful-looking code run against explicit state.

Code written in the stateful style reads variables by name and assigns new
values to them. Inside a `StatelessScope`, those reads come from a mapping the
caller passed in, and the assignments are collected in the scope and handed
back (`scope.updates`), never written anywhere else. The scope is plain Python
over whatever values it holds, so it runs inside `jax.jit`, `jax.grad` and
`jax.vmap`: the values are then tracers, and the function returns the updates.

Names are paths: a nested dict such as `{"dense": {"kernel": w}}` is read as
`"dense/kernel"`. Scopes nest: a name the inner scope does not hold is read
from the enclosing one, while assignments always stay in the innermost scope.
A scope may also hold an `rng` key; `next_key()` derives a fresh key from it
for every call, and `stateless.random` draws from it when no seed is given.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

import jax

from stateless.errors import ScopeError

_STACK: contextvars.ContextVar[tuple[StatelessScope, ...]] = contextvars.ContextVar(
    "stateless_scope_stack", default=()
)


def flatten_paths(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flattens nested dicts into one dict keyed by `"a/b/c"` paths.

    Example:
      >>> flatten_paths({"dense": {"kernel": 1, "bias": 2}, "step": 3})
      {'dense/kernel': 1, 'dense/bias': 2, 'step': 3}
    """
    flat = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_paths(value, path + "/"))
        else:
            flat[path] = value
    return flat


def unflatten_paths(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverts `flatten_paths`: `"a/b"` keys become nested dicts.

    Example:
      >>> unflatten_paths({"dense/kernel": 1, "dense/bias": 2})
      {'dense': {'kernel': 1, 'bias': 2}}
    """
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split("/")
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ValueError(f"unflatten_paths: {path!r} runs through a leaf.")
        node[leaf] = value
    return tree


class StatelessScope:
    """Runs stateful-looking code against an explicit mapping of values.

    Args:
      values: the variables this scope holds, as a flat `{path: value}` dict or
        nested dicts (flattened to `"a/b"` paths).
      rng: an optional key; `next_key()` derives a new key from it per call.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import stateless as sl
      >>> def step(mean, x):  # stateful style: read, then assign
      ...     with sl.StatelessScope({"bn": {"mean": mean}}) as scope:
      ...         old = sl.scope.read("bn/mean")
      ...         sl.scope.assign("bn/mean", 0.9 * old + 0.1 * x.mean())
      ...     return scope.updates
      >>> jax.jit(step)(jnp.zeros(()), jnp.ones(4))
      {'bn/mean': Array(0.1, dtype=float32)}
    """

    def __init__(self, values: Mapping[str, Any] | None = None, *, rng: Any = None):
        self._values = flatten_paths(values or {})
        self._updates: dict[str, Any] = {}
        self._rng = rng
        self._draws = 0
        self._token: contextvars.Token | None = None

    def __enter__(self) -> StatelessScope:
        if self._token is not None:
            raise ScopeError("this StatelessScope is already entered; make a new one.")
        self._token = _STACK.set(_STACK.get() + (self,))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _STACK.reset(self._token)
        self._token = None

    def _enclosing(self) -> Iterator[StatelessScope]:
        """This scope, then the scopes it is nested in, innermost first."""
        stack = _STACK.get()
        if self in stack:
            yield from reversed(stack[: stack.index(self) + 1])
        else:
            yield self

    def __contains__(self, path: str) -> bool:
        return any(path in s._updates or path in s._values for s in self._enclosing())

    def read(self, path: str) -> Any:
        """The current value of `path`: assigned here, else held, else enclosing."""
        for scope in self._enclosing():
            if path in scope._updates:
                return scope._updates[path]
            if path in scope._values:
                return scope._values[path]
        held = sorted({p for s in self._enclosing() for p in (*s._values, *s._updates)})
        raise ScopeError(
            f"StatelessScope holds no variable {path!r}. "
            f"It holds: {', '.join(held) or 'nothing'}."
        )

    def assign(self, path: str, value: Any) -> None:
        """Records a new value for `path` in this scope (and nowhere else)."""
        self._updates[path] = value

    @property
    def updates(self) -> dict[str, Any]:
        """The assignments made in this scope, as a flat `{path: value}` dict."""
        return dict(self._updates)

    @property
    def values(self) -> dict[str, Any]:
        """The held values with this scope's assignments applied."""
        return {**self._values, **self._updates}

    def read_tree(self, prefix: str) -> dict[str, Any]:
        """This scope's own current values under `prefix`, as nested dicts.

        Unlike `read`, it never looks in enclosing scopes: it returns exactly
        the slice this scope holds (an empty dict if none).

        Example:
          >>> s = StatelessScope({"dense": {"kernel": 1, "bias": 2}, "step": 3})
          >>> s.assign("dense/bias", 5)
          >>> s.read_tree("dense")
          {'kernel': 1, 'bias': 5}
        """
        start = prefix.rstrip("/") + "/"
        return unflatten_paths(
            {p[len(start) :]: v for p, v in self.values.items() if p.startswith(start)}
        )

    def next_key(self) -> jax.Array:
        """A fresh key for each call, derived from the innermost scope's `rng`.

        Raises:
          ScopeError: no enclosing scope holds an `rng`.
        """
        for scope in self._enclosing():
            if scope._rng is not None:
                scope._draws += 1
                return jax.random.fold_in(scope._rng, scope._draws)
        raise ScopeError(
            "no StatelessScope here holds an rng. Hint: pass one, as in "
            "StatelessScope(values, rng=sl.random.key(0))."
        )

    def variable_path(self, variable: Any) -> str | None:
        """Where this scope keeps a `stateless.Variable` handle's value, or None
        when it does not hold it (the next enclosing scope is asked then).

        A plain scope holds no handles; a layer's scope maps its own weights
        and its sub-layers' (see `nn.layer_scope.LayerScope`).
        """
        del variable
        return None

    @property
    def has_rng(self) -> bool:
        """Whether this scope or an enclosing one holds an `rng`."""
        return any(s._rng is not None for s in self._enclosing())


def scope_stack() -> tuple[StatelessScope, ...]:
    """The entered scopes, outermost first."""
    return _STACK.get()


def current_scope() -> StatelessScope | None:
    """The innermost entered `StatelessScope`, or None outside any.

    Example:
      >>> import stateless as sl
      >>> sl.scope.current_scope() is None
      True
    """
    stack = _STACK.get()
    return stack[-1] if stack else None


def _require_scope(what: str) -> StatelessScope:
    scope = current_scope()
    if scope is None:
        raise ScopeError(f"scope.{what} needs an entered StatelessScope; none is.")
    return scope


def read(path: str) -> Any:
    """Reads `path` from the innermost entered scope (see `StatelessScope.read`).

    Example:
      >>> import stateless as sl
      >>> with sl.StatelessScope({"w": 2.0}):
      ...     sl.scope.read("w")
      2.0
    """
    return _require_scope("read").read(path)


def assign(path: str, value: Any) -> None:
    """Assigns `value` to `path` in the innermost entered scope.

    Example:
      >>> import stateless as sl
      >>> with sl.StatelessScope({"w": 2.0}) as scope:
      ...     sl.scope.assign("w", 3.0)
      >>> scope.updates
      {'w': 3.0}
    """
    _require_scope("assign").assign(path, value)
