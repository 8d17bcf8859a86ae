"""Layout rules: which `PartitionSpec` each variable of a run gets, checked early.

A layout is a mapping from regular expressions to `PartitionSpec`s. A
variable's name is its path in the variables tree joined by `/`
(`"dense_1/kernel"`, `"batch_normalization/moving_mean"`), and a rule applies
when its pattern is found in the name (`re.search`, as in Keras's
`LayoutMap`). Every problem is found from shapes alone, before any array is
allocated: a dimension that does not divide by the size of its mesh axes, a
variable matched by two rules, a spec longer than the variable's rank, an axis
the mesh does not have, and (in strict mode) a variable matched by no rule.

Optimizer slots (Adam's `mu` and `nu`...) follow their parameter: an
optimizer-state leaf whose path ends with a parameter's path and that has its
shape gets its spec; every other leaf of a `TrainState` is replicated.

Example:
  >>> from jax.sharding import PartitionSpec as P
  >>> mesh = jax.make_mesh((1, 1), ("batch", "model"))
  >>> specs = layout_specs({"dense": {"kernel": jax.ShapeDtypeStruct((8, 4),
  ...     "float32")}}, {r"dense.*kernel": P(None, "model")}, mesh)
  >>> specs["dense"]["kernel"]
  P(None, 'model')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from stateless.tree_paths import path_name, path_parts


class LayoutError(ValueError):
    """A layout rule cannot place a variable on the mesh.

    Example of code that raises it::

        ModelParallel(mesh, {"dense.*kernel": P(None, "model")}).place(ts)
        # LayoutError: dense/kernel, shape (8, 5): dimension 1 (5) does not
        # divide by mesh axis 'model' of size 4 (rule 'dense.*kernel' ...).
    """


def _axis_size(mesh: Mesh, axes: Any) -> int:
    names = axes if isinstance(axes, tuple) else (axes,)
    return math.prod(mesh.shape[name] for name in names)


def check_spec(name: str, shape: tuple[int, ...], spec: PartitionSpec,
               mesh: Mesh, rule: str) -> None:  # fmt: skip
    """Raises `LayoutError` unless `spec` fits a variable of `shape` on `mesh`."""
    where = f"{name}, shape {tuple(shape)}"
    if len(spec) > len(shape):
        raise LayoutError(
            f"{where}: rule {rule!r} gives {spec}, which has {len(spec)} "
            f"entries for a variable of rank {len(shape)}."
        )
    for dim, axes in enumerate(spec):
        if axes is None:
            continue
        names = axes if isinstance(axes, tuple) else (axes,)
        unknown = [a for a in names if a not in mesh.shape]
        if unknown:
            raise LayoutError(
                f"{where}: rule {rule!r} names mesh axis {unknown[0]!r}; the mesh "
                f"has axes {dict(mesh.shape)}."
            )
        size = _axis_size(mesh, axes)
        if shape[dim] % size:
            raise LayoutError(
                f"{where}: dimension {dim} ({shape[dim]}) does not divide by "
                f"mesh axis {axes!r} of size {size} (rule {rule!r} -> {spec})."
            )


def layout_specs(tree: Any, rules: Mapping[str, PartitionSpec], mesh: Mesh,
                 *, strict: bool = False) -> Any:  # fmt: skip
    """The `PartitionSpec` of every leaf of `tree` (arrays or shape structs).

    Args:
      tree: variables, e.g. `params`; only shapes are read.
      rules: `{pattern: PartitionSpec}`; unmatched leaves are replicated.
      mesh: the device mesh the specs refer to.
      strict: raise for a leaf that no rule matches.

    Raises:
      LayoutError: naming the variable, its shape and the rules involved.
    """
    compiled = [(pattern, re.compile(pattern), spec) for pattern, spec in rules.items()]

    def spec_of(path: tuple[Any, ...], leaf: Any) -> PartitionSpec:
        name, shape = path_name(path), tuple(np.shape(leaf))
        matched = [(p, s) for p, regex, s in compiled if regex.search(name)]
        if len(matched) > 1:
            raise LayoutError(
                f"{name}, shape {shape}: matched by {len(matched)} rules "
                f"{[p for p, _ in matched]}; make the patterns exclusive."
            )
        if not matched:
            if strict:
                raise LayoutError(
                    f"{name}, shape {shape}: matched by no rule (strict layout). "
                    f"Rules: {list(rules)}."
                )
            return PartitionSpec()
        pattern, spec = matched[0]
        check_spec(name, shape, spec, mesh, pattern)
        return spec

    return jax.tree_util.tree_map_with_path(spec_of, tree)


def follow_params(tree: Any, param_specs: Any, params: Any) -> Any:
    """Specs for `tree` (e.g. an optimizer state): a leaf whose path ends with a
    parameter's path and has its shape gets that parameter's spec; others
    are replicated."""
    by_path = {
        path_parts(path): (np.shape(leaf), spec)
        for (path, leaf), spec in zip(
            jax.tree_util.tree_flatten_with_path(params)[0],
            jax.tree.leaves(param_specs, is_leaf=_is_spec),
        )
    }

    def spec_of(path: tuple[Any, ...], leaf: Any) -> PartitionSpec:
        parts = path_parts(path)
        for start in range(len(parts)):
            found = by_path.get(parts[start:])
            if found is not None and found[0] == np.shape(leaf):
                return found[1]
        return PartitionSpec()

    return jax.tree_util.tree_map_with_path(spec_of, tree)


def _is_spec(x: Any) -> bool:
    return isinstance(x, PartitionSpec)
