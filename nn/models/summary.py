"""`model.summary()`: each layer, its output shape and parameter count, and totals.

Parameters (`variables["params"]`) are trainable; state (`variables["state"]`,
e.g. BatchNormalization's moving statistics) is not. Counts come from
`jax.eval_shape`, so a summary allocates nothing.
"""

from __future__ import annotations

import math
from typing import Any

import jax

from stateless import random
from stateless.added_losses import shapes_of


def _count(tree: Any) -> int:
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree))


def _shape(spec: Any) -> str:
    shapes = [(None, *s.shape[1:]) for s in jax.tree.leaves(spec)]
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)


def summary_table(model: Any) -> str:
    """The summary of a model whose input shapes are known, as text.

    Raises:
      ValueError: the input shapes are unknown (no `Input` and no `build`).
    """
    specs = model.input_specs
    if specs is None:
        raise ValueError(
            f"{type(model).__name__} {model.default_name!r}: its input shapes are "
            "unknown. Hint: call model.build(input_shape) first, or start the model "
            "with layers.Input(shape)."
        )
    variables = model.variables or shapes_of(model.init, random.key(0), *specs)
    rows = [("Layer (type)", "Output Shape", "Param #")]
    seen = set()
    for name, layer, out in model.layer_outputs(*specs):
        count = 0 if name in seen else _count(variables["params"].get(name, {}))
        count += 0 if name in seen else _count(variables["state"].get(name, {}))
        seen.add(name)
        rows.append((f"{name} ({type(layer).__name__})", _shape(out), f"{count:,}"))
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
    rule = "-" * sum(widths)

    def line(row):
        return (
            row[0].ljust(widths[0]) + row[1].ljust(widths[1]) + row[2].rjust(widths[2])
        )

    total = _count(variables["params"]) + _count(variables["state"])
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = total - trainable  # the state and the frozen layers' parameters
    return "\n".join(
        [f'Model: "{model.default_name}"', rule, line(rows[0]), "=" * sum(widths)]
        + [line(row) for row in rows[1:]]
        + [
            "=" * sum(widths),
            f"Total params: {trainable + frozen:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {frozen:,}",
            rule,
        ]
    )
