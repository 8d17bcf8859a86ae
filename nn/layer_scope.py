"""The scope a subclassed model's `call` runs in.

`Model.apply` enters a `LayerScope` holding the model's variables by path
(`params/<layer name>/...`, `state/<layer name>/...`). A sub-layer called in
the stateful style, `self.dense(x)`, finds the scope, reads its own slice,
runs its pure `apply` with a key of its own, and assigns its new state back
into the scope. Nothing outside the scope changes; `Model.apply` returns the
collected state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stateless import StatelessScope
from stateless.errors import ScopeError
from stateless.scope import flatten_paths


class LayerScope(StatelessScope):
    """Maps each tracked sub-layer (by identity) to its slice of `variables`.

    Args:
      variables: `{"params": {name: ...}, "state": {name: ...}}`.
      names: `id(layer) -> name` for every layer the model tracks.
      training: the mode sub-layers run in unless a call says otherwise.
      rng: the key sub-layer calls draw their keys from (one per call).
      initialize: a function `(name, layer, *inputs) -> variables` called for
        a layer that has no variables yet (used by `Model.init`), or None.
      owner: the model, named in errors.
    """

    def __init__(
        self,
        variables: dict[str, Any],
        names: dict[int, str],
        *,
        training: bool,
        rng: Any,
        initialize: Callable[..., dict[str, Any]] | None = None,
        owner: Any = None,
    ):
        super().__init__(variables, rng=rng)
        self.names = names
        self.training = training
        self.initialize = initialize
        self.owner = owner
        self.calls: list[tuple[str, Any, Any]] = []  # (name, layer, outputs)

    def variable_path(self, variable: Any) -> str | None:
        """Where a weight handle of the owner, or of a sub-layer, lives here."""
        if variable.owner is self.owner:
            return f"{variable.collection}/{variable.name}"
        name = self.names.get(id(variable.owner))
        if name is None:
            return None
        return f"{variable.collection}/{name}/{variable.name}"

    def call_layer(
        self, layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Runs one stateful-style call of a sub-layer against the scope."""
        name = self.names.get(id(layer))
        if name is None:
            raise ScopeError(
                f"{type(layer).__name__} {layer.name or ''!r} was called inside "
                f"{type(self.owner).__name__}.call but is not one of its attributes, "
                "so it has no variables. Hint: create it in __init__ and keep it "
                "as an attribute (or in a list or dict attribute)."
            )
        training = kwargs.pop("training", None)
        variables = {
            "params": self.read_tree(f"params/{name}"),
            "state": self.read_tree(f"state/{name}"),
        }
        if (
            self.initialize is not None
            and not variables["params"]
            and not variables["state"]
        ):
            variables = self.initialize(name, layer, *args, **kwargs)
            for path, value in flatten_paths(
                variables["params"], f"params/{name}/"
            ).items():
                self.assign(path, value)
        rng = self.next_key() if self.has_rng else None
        outputs, state = layer.apply(
            variables,
            *args,
            training=self.training if training is None else training,
            rng=rng,
            **kwargs,
        )
        for path, value in flatten_paths(state, f"state/{name}/").items():
            self.assign(path, value)
        self.calls.append((name, layer, outputs))
        return outputs
