"""Bidirectional: a recurrent layer run forwards and backwards, outputs merged."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from nn.layers.base import Layer
from nn.layers.rnn import reset_kept_states
from nn.registry import register
from stateless import ops, random

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)
_SHARED = ("stateful", "return_sequences", "return_state")


def _copy(layer: Layer, **changes: Any) -> Layer:
    """A new layer of `layer`'s fields and base keywords, with `changes`."""
    copy = dataclasses.replace(layer, **changes)
    for attribute in (
        "_trainable",
        "_dtype_policy",
        "activity_regularizer",
        "autocast",
    ):
        if attribute in vars(layer):
            object.__setattr__(copy, attribute, vars(layer)[attribute])
    return copy


@register()
@dataclass(frozen=True)
class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence forwards and a copy of it
    backwards, and merges their outputs, as `keras.layers.Bidirectional`.

    The backward layer's sequence outputs are flipped back to the input's
    order before merging; with `return_sequences`, masked steps output zeros
    in both directions (Keras's `zero_output_for_mask`).

    Args:
      layer: a recurrent layer (`LSTM(8, return_sequences=True)`, `RNN`...);
        the forward layer is a copy of it.
      merge_mode: `"concat"` (default), `"sum"`, `"mul"`, `"ave"`, or None
        for a list `[forward, backward]`.
      backward_layer: the layer to run backwards; by default a copy of
        `layer` with `go_backwards` flipped. It must read the other way and
        agree with `layer` on `stateful`, `return_sequences`, `return_state`.

    Inputs: `(B, T, ...)`, an optional `initial_state` (the forward layer's
    states, then the backward layer's) and an optional `mask` `(B, T)`.
    With `return_state` the outputs are `[merged, *forward states,
    *backward states]`. Variables: `forward_layer` and `backward_layer`.

    Example:
      >>> from nn.layers import LSTM
      >>> layer = Bidirectional(LSTM(4, return_sequences=True))
      >>> x = jnp.ones((2, 5, 3))
      >>> v = layer.init(sl.random.key(0), x)
      >>> sorted(v["params"])
      ['backward_layer', 'forward_layer']
      >>> layer.apply(v, x)[0].shape
      (2, 5, 8)
    """

    layer: Any
    merge_mode: str | None = "concat"
    backward_layer: Any = None

    supports_masking = True

    def __post_init__(self):
        super().__post_init__()
        for name, value in (
            ("layer", self.layer),
            ("backward_layer", self.backward_layer),
        ):
            if value is not None and not hasattr(value, "go_backwards"):
                raise TypeError(
                    f"Bidirectional: {name} must be a recurrent layer (LSTM, GRU, "
                    f"SimpleRNN, RNN...), received {type(value).__name__}."
                )
        if self.merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, "
                f"received {self.merge_mode!r}."
            )
        backward = self.backward_layer or self.layer
        if backward.go_backwards == self.layer.go_backwards and self.backward_layer:
            raise ValueError(
                "Bidirectional: layer and backward_layer read the sequence the same "
                f"way (go_backwards={self.layer.go_backwards}); give backward_layer "
                "the other go_backwards."
            )
        for attribute in _SHARED:
            if getattr(backward, attribute) != getattr(self.layer, attribute):
                raise ValueError(
                    f"Bidirectional: layer and backward_layer must agree on "
                    f"{attribute}; received {getattr(self.layer, attribute)} and "
                    f"{getattr(backward, attribute)}."
                )

    @functools.cached_property
    def _directions(self) -> dict[str, Any]:
        """`{"forward_layer": ..., "backward_layer": ...}` as they run."""
        zero = {"zero_output_for_mask": self.layer.return_sequences}
        forward = _copy(self.layer, **zero)
        if self.backward_layer is None:
            backward = _copy(
                self.layer, go_backwards=not self.layer.go_backwards, **zero
            )
        else:
            backward = _copy(self.backward_layer, **zero)
        return {"forward_layer": forward, "backward_layer": backward}

    @property
    def forward_layer(self) -> Any:
        """Keras's attribute: the copy of `layer` that runs forwards."""
        return self._directions["forward_layer"]

    @property
    def return_sequences(self) -> bool:
        return self.layer.return_sequences

    @property
    def return_state(self) -> bool:
        return self.layer.return_state

    @property
    def stateful(self) -> bool:
        return self.layer.stateful

    def reset_states(self) -> None:
        """Zeroes both directions' kept states (a `stateful` layer)."""
        reset_kept_states(self)

    reset_state = reset_states  # Keras's other name for it

    def init(self, key, x, initial_state=None):
        variables = {"params": {}, "state": {}}
        for i, (name, layer) in enumerate(self._directions.items()):
            v = layer.init(random.fold_in(key, i), x)
            for part in ("params", "state"):
                if v[part]:
                    variables[part][name] = v[part]
        return variables

    def apply(
        self, variables, x, initial_state=None, *, mask=None, training=False, rng=None
    ):
        states = {"forward_layer": None, "backward_layer": None}
        if initial_state is not None:
            half = len(initial_state) // 2
            states = {
                "forward_layer": list(initial_state[:half]),
                "backward_layer": list(initial_state[half:]),
            }
        outputs, new_state = {}, {}
        for i, (name, layer) in enumerate(self._directions.items()):
            v = {
                "params": variables["params"].get(name, {}),
                "state": variables["state"].get(name, {}),
            }
            key = None if rng is None else random.fold_in(rng, i)
            outputs[name], state = layer.apply(
                v, x, states[name], mask=mask, training=training, rng=key
            )
            if state:
                new_state[name] = state
        y, y_rev = outputs["forward_layer"], outputs["backward_layer"]
        kept = []
        if self.return_state:
            kept = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, 1)
        merged = self._merge(y, y_rev)
        if self.return_state:
            merged = [*merged, *kept] if self.merge_mode is None else [merged, *kept]
        return merged, new_state

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def compute_mask(self, inputs, mask=None):
        """Keras's: the input mask on each sequence output; none on states."""
        if isinstance(mask, list | tuple):
            mask = mask[0] if mask else None
        output = mask if self.return_sequences else None
        masks = [output, output] if self.merge_mode is None else [output]
        if self.return_state:
            count = sum(
                len(layer.compute_mask(inputs, None)) - 1
                for layer in self._directions.values()
            )
            masks += [None] * count
        return masks

    def penalty(self, params):
        return sum(
            (
                layer.penalty(params.get(name, {}))
                for name, layer in self._directions.items()
            ),
            0.0,
        )

    def has_constraints(self) -> bool:
        return any(layer.has_constraints() for layer in self._directions.values())

    def constrain(self, params):
        params = dict(params)
        for name, layer in self._directions.items():
            if name in params:
                params[name] = layer.constrain(params[name])
        return params
