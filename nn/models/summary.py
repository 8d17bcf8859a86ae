"""`model.summary()`: Keras's table of layers, shapes, parameter counts and links.

One row per layer (a layer called twice is listed once): its name and type,
its output shape, its parameter count, and for a functional model that is
not a plain chain, the layer outputs it was called on (`name[node][tensor]`).
Below the table: the total, trainable, non-trainable and (once a fit has
built the optimizer state) optimizer parameter counts, with their bytes.

Parameters (`variables["params"]`) of layers that train are trainable; the
layer state (BatchNormalization's moving statistics) and frozen layers'
parameters are not. Counts come from `jax.eval_shape`, so a summary
allocates nothing. The table is drawn in plain text with box characters, as
Keras draws it, at `line_length` columns split at `positions`.
"""

from __future__ import annotations

import math
import re
import shutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from stateless import random
from stateless.added_losses import shapes_of


@dataclass
class _Row:
    """One line of the table, before it is drawn."""

    name: str
    layer: Any
    shape: str
    count: int
    links: list[str]
    level: int = 0


def _size(tree: Any) -> tuple[int, int]:
    """`(elements, bytes)` of the arrays (or shapes) in `tree`."""
    leaves = jax.tree.leaves(tree)
    count = sum(math.prod(leaf.shape) for leaf in leaves)
    nbytes = sum(
        math.prod(leaf.shape) * np.dtype(leaf.dtype).itemsize for leaf in leaves
    )
    return count, nbytes


def shape_text(spec: Any) -> str:
    """Keras's text of output shapes, the batch axis as None: `(None, 3)`."""
    shapes = [str((None, *s.shape[1:])) for s in jax.tree.leaves(spec)]
    return shapes[0] if len(shapes) == 1 else f"[{', '.join(shapes)}]"


def readable_bytes(size: float) -> str:
    """Keras's size text: `304.00 B`, `1.50 KB`, ... in steps of 1024."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _links(model: Any) -> dict[str, list[str]]:
    """What each layer was called on (functional models that are not a plain
    chain; empty otherwise, and then the column is left out, as Keras does)."""
    connections = getattr(model, "connections", None)
    return connections() if connections is not None else {}


def _rows(model: Any, variables: Any, specs: Any, links: dict[str, list[str]],
          level: int = 0, expand: bool = False) -> list[_Row]:  # fmt: skip
    """A row per layer of `model` (at nesting `level`), the layers of
    nested models after their own when `expand`."""
    rows, seen = [], set()
    for name, layer, out in model.layer_outputs(*specs):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        mine = {part: variables[part].get(name, {}) for part in ("params", "state")}
        count = _size(mine)[0]
        rows.append(
            _Row(name, layer, shape_text(out), count, links.get(name, []), level)
        )
        inner = getattr(layer, "input_specs", None)
        if expand and hasattr(layer, "layer_outputs") and inner is not None:
            rows += _rows(layer, mine, inner, {}, level + 1, expand)
    return rows


def _in_range(rows: list[_Row], layer_range: Sequence[str] | None) -> list[_Row]:
    """The rows from the first matching `layer_range[0]` to the last matching
    `layer_range[1]` (names or regular expressions), both included."""
    if layer_range is None:
        return rows
    if len(layer_range) != 2:
        raise ValueError(
            "summary: layer_range must be a pair of layer names (or patterns); "
            f"received {layer_range!r}."
        )
    start, end = layer_range
    first = [i for i, r in enumerate(rows) if re.match(start, r.name)]
    last = [i for i, r in enumerate(rows) if re.match(end, r.name)]
    if not first or not last or first[0] > last[-1]:
        raise ValueError(
            f"summary: layer_range={tuple(layer_range)!r} matches no run of "
            f"layers; the layers are {[r.name for r in rows]}."
        )
    return rows[first[0] : last[-1] + 1]


def _widths(
    line_length: int, positions: Sequence[float], header: list[str]
) -> list[int]:
    """Column widths: each `position` is where a column ends, as a fraction
    of the line (or in characters, when above 1); a column too narrow for
    its title takes the room from the widest one."""
    ends = [int(p * line_length) if p <= 1 else int(p) for p in positions]
    widths = [b - a for a, b in zip([0, *ends], ends)]
    if any(w < 4 for w in widths):
        raise ValueError(
            f"summary: line_length={line_length} with positions={list(positions)} "
            "leaves a column under 4 characters. Hint: a longer line_length."
        )
    for i, title in enumerate(header):
        short = len(title) + 3 + (i == len(header) - 1) - widths[i]
        if short > 0:
            widest = max(range(len(widths)), key=widths.__getitem__)
            widths[widest] -= short
            widths[i] += short
    return widths


def _table(header: list[str], cells: list[list[str]], widths: list[int],
           align: list[str]) -> list[str]:  # fmt: skip
    inner = [w - 3 for w in widths[:-1]] + [widths[-1] - 4]

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in inner) + right

    def lines(row: list[str], bar: str) -> list[str]:
        wrapped = [
            textwrap.wrap(cell, width, break_on_hyphens=False) or [""]
            for cell, width in zip(row, inner)
        ]
        out = []
        for k in range(max(len(w) for w in wrapped)):
            parts = [
                _aligned(w[k] if k < len(w) else "", width, how)
                for w, width, how in zip(wrapped, inner, align)
            ]
            out.append(bar + bar.join(f" {p} " for p in parts) + bar)
        return out

    text = [rule("┏", "━", "┳", "┓"), *lines(header, "┃"), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(cells):
        if i:
            text.append(rule("├", "─", "┼", "┤"))
        text += lines(row, "│")
    text.append(rule("└", "─", "┴", "┘"))
    return text


def _aligned(text: str, width: int, how: str) -> str:
    if how == "right":
        return text.rjust(width)
    return text.center(width) if how == "center" else text.ljust(width)


def _trains(layer: Any) -> str:
    if not getattr(layer, "weights", None):
        return "-"
    return "Y" if getattr(layer, "trainable", True) else "N"


def summary_text(
    model: Any,
    line_length: int | None = None,
    positions: Sequence[float] | None = None,
    expand_nested: bool = False,
    show_trainable: bool = False,
    layer_range: Sequence[str] | None = None,
) -> str:
    """The summary of a model whose input shapes are known, as text.

    Raises:
      ValueError: the input shapes are unknown (no `Input` and no `build`), or
        `layer_range` / `positions` do not fit.
    """
    specs = model.input_specs
    if specs is None:
        raise ValueError(
            f"{type(model).__name__} {model.default_name!r}: its input shapes are "
            "unknown. Hint: call model.build(input_shape) first, or start the model "
            "with layers.Input(shape)."
        )
    variables = model.variables or shapes_of(model.init, random.key(0), *specs)
    links = _links(model)
    rows = _in_range(
        _rows(model, variables, specs, links, 0, expand_nested), layer_range
    )
    linked = bool(links)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] * linked)
    align = ["left", "left", "right", "left"][: len(header)]
    default = 108 if linked else 88
    positions = list(
        positions or ([0.3, 0.56, 0.74, 1.0] if linked else [0.45, 0.8, 1.0])
    )
    if show_trainable:
        default += 12
        positions = [p * 0.9 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    cells = []
    for row in rows:
        prefix = "   " * row.level + "└ " if row.level else ""
        cell = [f"{prefix}{row.name} ({type(row.layer).__name__})", row.shape,
                f"{row.count:,}"]  # fmt: skip
        if linked:
            cell.append(", ".join(row.links) or "-")
        if show_trainable:
            cell.append(_trains(row.layer))
        cells.append(cell)
    table = _table(header, cells, _widths(line_length, positions, header), align)
    return "\n".join(
        [f'Model: "{model.default_name}"', *table, *_totals(model, variables)]
    )


def _totals(model: Any, variables: Any) -> list[str]:
    """The lines under the table: counts and bytes of the parameters, and of
    the optimizer state once a fit has made it."""
    total = _size(variables)
    trainable = _size(
        [jax.ShapeDtypeStruct(w.shape, w.dtype) for w in model.trainable_weights]
    )
    frozen = (total[0] - trainable[0], total[1] - trainable[1])
    ts = model.train_state if getattr(model, "trainer", None) is not None else None
    optimizer = _size(ts.opt_state) if ts is not None else (0, 0)
    lines = [
        ("Total params", (total[0] + optimizer[0], total[1] + optimizer[1])),
        ("Trainable params", trainable),
        ("Non-trainable params", frozen),
    ] + ([("Optimizer params", optimizer)] if ts is not None else [])
    return [
        f" {label}: {count:,} ({readable_bytes(size)})"
        for label, (count, size) in lines
    ]


def print_summary(
    model: Any, print_fn: Callable[[str], Any] | None = None, **options: Any
) -> None:
    """Prints `summary_text(model, **options)` with `print_fn` (`print`)."""
    (print_fn or print)(summary_text(model, **options))
