"""`plot_model`: a model's layers and their links, drawn as a PNG.

The diagram is computed first (`model_diagram`: one box per layer with its
name, class and output shape, and one arrow per link, skips and branches
included), then drawn with matplotlib, which pip installs with no system
binary (Keras's `plot_model` needs Graphviz's `dot`). Boxes stand in rows
by depth, the longest path from an input; an arrow that skips rows bends
around the boxes between. matplotlib is imported on the first drawing only.

Example:
  >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(2, name="head")])
  >>> [box.name for box in model_diagram(model).boxes]
  ['head']
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from typing import Any

import jax

from nn.models.atomic_files import write_atomically
from nn.models.summary import shape_text

_RANKDIRS = ("TB", "LR", "BT", "RL")
# where a positive arc3 bend bulges towards the first column (the right-hand
# side of an arrow's way)
_BEND_TO_FIRST = ("TB", "RL")
_BOX_STYLE = {"boxstyle": "round,pad=0.4", "facecolor": "#eef3fb",
              "edgecolor": "#34495e"}  # fmt: skip


@dataclass(frozen=True)
class Box:
    """One layer: its name, the lines drawn in its box, its row and column."""

    name: str
    lines: tuple[str, ...]
    row: int
    column: int


@dataclass
class Diagram:
    """The boxes and arrows of a model, and the PNG drawn from them (shown
    inline by Jupyter through `_repr_png_`)."""

    boxes: list[Box]
    arrows: list[tuple[str, str]]
    png: bytes = field(default=b"", repr=False)

    def _repr_png_(self) -> bytes:
        return self.png


def _dtype_text(spec: Any) -> str:
    return ", ".join(str(s.dtype) for s in jax.tree.leaves(spec))


def _lines(name, layer, out, options) -> tuple[str, ...]:
    title = type(layer).__name__
    if options["show_layer_names"]:
        title = f"{name} ({title})"
    lines = [title]
    activation = getattr(layer, "activation", None)
    if options["show_layer_activations"] and activation is not None:
        lines.append(f"activation: {getattr(activation, '__name__', activation)}")
    if options["show_shapes"]:
        lines.append(f"output: {shape_text(out)}")
    if options["show_dtype"]:
        lines.append(f"dtype: {_dtype_text(out)}")
    if options["show_trainable"]:
        lines.append(f"trainable: {getattr(layer, 'trainable', True)}")
    return tuple(lines)


def _arrows(model: Any, names: list[str]) -> list[tuple[str, str]]:
    """`(source, target)` for each link: a functional model's connections,
    else one layer after another."""
    connections = getattr(model, "connections", None)
    links = connections() if connections is not None else {}
    if not links:
        return list(zip(names, names[1:]))
    return [
        (re.sub(r"\[\d+\]\[\d+\]$", "", source), target)
        for target in names
        for source in links.get(target, [])
    ]


def model_diagram(
    model: Any,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
) -> Diagram:
    """The boxes and arrows of a model whose input shapes are known."""
    specs = getattr(model, "input_specs", None)
    if specs is None:
        raise ValueError(
            f"plot_model: the input shapes of {type(model).__name__} are unknown. "
            "Hint: call model.build(input_shape) first, or start the model with "
            "layers.Input(shape)."
        )
    options = {
        "show_shapes": show_shapes, "show_dtype": show_dtype,
        "show_layer_names": show_layer_names,
        "show_layer_activations": show_layer_activations,
        "show_trainable": show_trainable,
    }  # fmt: skip
    rows, seen = [], set()
    for name, layer, out in model.layer_outputs(*specs):
        if id(layer) not in seen:  # a layer called twice is one box
            seen.add(id(layer))
            rows.append((name, _lines(name, layer, out, options)))
    names = [name for name, _ in rows]
    arrows = [(a, b) for a, b in _arrows(model, names) if a in names and a != b]
    depth = dict.fromkeys(names, 0)
    for name in names:  # layers come in call order: sources first
        for source, target in arrows:
            if target == name:
                depth[name] = max(depth[name], depth[source] + 1)
    columns: dict[int, int] = {}
    boxes = []
    for name, lines in rows:
        row = depth[name]
        boxes.append(Box(name, lines, row, columns.get(row, 0)))
        columns[row] = columns.get(row, 0) + 1
    return Diagram(boxes, arrows)


def _layout(diagram: Diagram, rankdir: str) -> dict[str, Any]:
    """Where each box goes (data units: one per row, one per column), how
    each arrow bends, and the figure's size in inches and its limits."""
    rows = 1 + max(b.row for b in diagram.boxes)
    per_row = {b.row: 0 for b in diagram.boxes}
    for b in diagram.boxes:
        per_row[b.row] += 1
    vertical = rankdir in ("TB", "BT")
    across_of, along_of = {}, {}
    for b in diagram.boxes:
        across_of[b.name] = b.column - (per_row[b.row] - 1) / 2  # centred rows
        along_of[b.name] = b.row if rankdir in ("TB", "LR") else rows - 1 - b.row
    text = max(len(line) for b in diagram.boxes for line in b.lines)
    lines = max(len(b.lines) for b in diagram.boxes)
    cell_w, cell_h = 0.11 * text + 0.6, 0.25 * lines + 0.5  # inches
    along_cell, across_cell = (cell_h, cell_w) if vertical else (cell_w, cell_h)
    row_of = {b.name: b.row for b in diagram.boxes}
    bends, longest = {}, 1
    for source, target in diagram.arrows:
        span = row_of[target] - row_of[source]
        bends[source, target] = 0.0
        if span > 1:  # a skip bends away from the middle, around the boxes
            longest = max(longest, span)
            first = across_of[source] <= across_of[target]
            toward_first = first == (rankdir in _BEND_TO_FIRST)
            bends[source, target] = 0.35 if toward_first else -0.35
    bulge = 0.2 * longest * along_cell / across_cell if longest > 1 else 0.0
    across = [
        min(across_of.values()) - 0.6 - bulge,
        max(across_of.values()) + 0.6 + bulge,
    ]
    along = [-0.6, rows - 0.4]
    size = ((across[1] - across[0]) * across_cell, (along[1] - along[0]) * along_cell)

    def point(name: str) -> tuple[float, float]:
        return (
            (across_of[name], -along_of[name])
            if vertical
            else (along_of[name], -across_of[name])
        )

    limits = (
        (across, [-along[1], -along[0]])
        if vertical
        else (along, [-across[1], -across[0]])
    )
    return {
        "points": {b.name: point(b.name) for b in diagram.boxes},
        "bends": bends,
        "size": size if vertical else size[::-1],
        "limits": limits,
    }


def _draw(diagram: Diagram, rankdir: str, dpi: int) -> bytes:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plot_model draws with matplotlib: pip install matplotlib"
        ) from error
    layout = _layout(diagram, rankdir)
    width, height = layout["size"]
    figure = Figure(figsize=(max(width, 2.0), max(height, 1.0)), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_xlim(*layout["limits"][0])
    axes.set_ylim(*layout["limits"][1])
    labels = {
        box.name: axes.text(
            *layout["points"][box.name], "\n".join(box.lines), ha="center",
            va="center", fontsize=9, family="monospace", bbox=_BOX_STYLE,
        )
        for box in diagram.boxes
    }  # fmt: skip
    for source, target in diagram.arrows:
        axes.annotate(
            "", xy=layout["points"][target], xytext=layout["points"][source],
            arrowprops={"arrowstyle": "-|>", "color": "#34495e",
                        "patchA": labels[source], "patchB": labels[target],
                        "connectionstyle":
                            f"arc3,rad={layout['bends'][source, target]}"},
        )  # fmt: skip
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_model(
    model: Any,
    to_file: str | os.PathLike = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs: Any,
) -> Diagram:
    """Draws the model's layers and links to a PNG at `to_file`.

    Args:
      model: a Sequential or functional model, or one built with `build`.
      to_file: where the PNG goes (written whole or not at all).
      show_shapes, show_dtype, show_layer_names, show_layer_activations,
        show_trainable: what each box says besides the layer's class.
      rankdir: `"TB"` (top to bottom), `"BT"`, `"LR"` or `"RL"`.
      dpi: the image's resolution.
      expand_nested, splines, kwargs: Keras's Graphviz options; accepted,
        drawn without (a nested model is one box).

    Returns:
      The `Diagram` drawn (its boxes and arrows; Jupyter shows its PNG).

    Raises:
      ValueError: unknown `rankdir`, or the model's input shapes are unknown.
      ImportError: matplotlib is not installed (the message says what to
        install).
    """
    del expand_nested, splines, kwargs
    if rankdir not in _RANKDIRS:
        raise ValueError(
            f"plot_model: rankdir must be one of {_RANKDIRS}, received {rankdir!r}."
        )
    diagram = model_diagram(model, show_shapes, show_dtype, show_layer_names,
                            show_layer_activations, show_trainable)  # fmt: skip
    diagram.png = _draw(diagram, rankdir, dpi)
    write_atomically(to_file, diagram.png)
    return diagram
