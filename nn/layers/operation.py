"""Operation: one `stateless.ops` function as a node of a functional model.

Keras records a `keras.ops` call on symbolic tensors (`ops.not_equal(ids,
0)`, the mask an `Embedding(mask_zero=True)` hands on) as a node of its own
in a functional model's config. Reading such a config here makes an
`Operation` naming the function; the name is looked up in `stateless.ops`
only, so a config can call nothing else.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from nn.layers.base import Layer, set_fields
from nn.registry import register


def _public_ops() -> list[str]:
    from stateless import ops

    return [n for n in dir(ops) if not n.startswith("_") and callable(getattr(ops, n))]


@register()
@dataclass(frozen=True)
class Operation(Layer):
    """Applies `stateless.ops.<op>(*inputs, **options)`.

    Args:
      op: the name of a function in `stateless.ops`.
      options: keyword arguments for it (JSON data).

    Raises:
      ValueError: `op` is not a function of `stateless.ops`.

    Example:
      >>> layer = Operation("not_equal")
      >>> layer.apply({"params": {}, "state": {}}, jnp.array([0, 3]), 0)[0].tolist()
      [False, True]
    """

    op: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        known = _public_ops()
        if self.op not in known:
            near = difflib.get_close_matches(str(self.op), known, n=3)
            raise ValueError(
                f"Operation: {self.op!r:.80} is not a function of stateless.ops"
                f"{'; nearest: ' + ', '.join(near) if near else ''}."
            )
        set_fields(self, options=dict(self.options or {}))

    def apply(self, variables, *inputs, training=False, rng=None, **kwargs):
        from stateless import ops

        function = getattr(ops, self.op)
        return function(*inputs, **self.options, **kwargs), variables["state"]
