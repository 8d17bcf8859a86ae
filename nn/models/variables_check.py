"""Refusing variables that belong to another architecture, with a useful message.

A model checks the variables it is applied to against the shapes its own
`init` would make for these inputs (found with `jax.eval_shape`, cached per
input signature, so the check costs a dictionary lookup after the first call).
"""

from __future__ import annotations

from typing import Any

import jax

from stateless import random
from stateless.added_losses import shapes_of
from stateless.errors import VariablesError
from stateless.scope import flatten_paths

_SHOWN = 8


def _shapes(tree: Any) -> dict[str, tuple[int, ...]]:
    return {path: tuple(leaf.shape) for path, leaf in flatten_paths(tree).items()}


def _listing(label: str, items: list[str]) -> str:
    if not items:
        return ""
    more = f" (and {len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
    return f"\n  {label}: " + ", ".join(items[:_SHOWN]) + more


def check_variables(model: Any, variables: Any, inputs: tuple[Any, ...]) -> None:
    """Raises `VariablesError` naming missing, extra and mis-shaped variables."""
    if not isinstance(variables, dict) or set(variables) != {"params", "state"}:
        raise VariablesError(
            f"{type(model).__name__} {model.default_name!r}: expected variables "
            "{'params': ..., 'state': ...} as init returns them, received "
            f"{type(variables).__name__}."
        )
    signature = tuple(
        (tuple(x.shape), str(x.dtype))
        for x in jax.tree.leaves(inputs)
        if hasattr(x, "shape")
    )
    cache = vars(model).setdefault("_expected_shapes", {})
    if signature not in cache:
        specs = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), inputs)
        cache[signature] = _shapes(shapes_of(model.init, random.key(0), *specs))
    expected, given = cache[signature], _shapes(variables)
    missing = [f"{p} {s}" for p, s in expected.items() if p not in given]
    extra = [f"{p} {s}" for p, s in given.items() if p not in expected]
    wrong = [
        f"{p} expected {s}, received {given[p]}"
        for p, s in expected.items()
        if p in given and given[p] != s
    ]
    if missing or extra or wrong:
        raise VariablesError(
            f"{type(model).__name__} {model.default_name!r}: the variables do not "
            "match this model (were they made by another architecture?)"
            + _listing("missing", missing)
            + _listing("extra", extra)
            + _listing("mis-shaped", wrong)
            + "\nHint: make them with this model's init."
        )
