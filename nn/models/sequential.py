"""`nn.Sequential`: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from functools import partial
from typing import Any

import jax

from nn import registry
from nn.layers import masking, weights_surface
from nn.layers.base import Layer, Variables
from nn.layers.core import Input
from nn.models.model import Model, _as_spec
from nn.models.naming import assign_names
from nn.models.variables_check import check_variables
from nn.models.weights import merge_fitting
from nn.symbolic import SymbolicTensor
from stateless import random
from stateless.added_losses import shapes_of
from stateless.errors import ShapeError


def _through(
    layer: Layer, variables: Variables, x: Any, mask: Any, **kwargs: Any
) -> tuple[Any, Any, Any]:
    """`(output, new state, the output's mask)` of one layer of the stack."""
    out, state, masks = masking.call_with_masks(
        layer, variables, (x,), kwargs, ((mask,), {})
    )
    return out, state, masks[0] if masks else None


@registry.register()
class Sequential(Model):
    """A stack of layers. It may start with `layers.Input(shape)`, which fixes
    the input shape so that `init(key)` needs no example.

    Layer `i` initializes with `fold_in(key, i)` and, when training, draws its
    randomness from `fold_in(rng, i)`: two Dropout layers never share a mask.

    Example:
      >>> import nn
      >>> from nn import layers
      >>> model = nn.Sequential([layers.Input((28, 28, 1)),
      ...                        layers.Conv2D(32, 3, activation="relu"),
      ...                        layers.Flatten(), layers.Dense(10)])
      >>> variables = model.init(sl.random.key(0))
      >>> jax.tree.map(jnp.shape, variables["params"]["conv2d"])
      {'bias': (32,), 'kernel': (3, 3, 1, 32)}
      >>> model.apply(variables, jnp.ones((2, 28, 28, 1)))[0].shape
      (2, 10)
    """

    _output_mask = None  # the mask spec the stack's output carries, if any

    def __init__(self, layers: list[Any] = (), *, name: str | None = None):
        super().__init__(name=name)
        self._layers: list[Layer] = []
        for item in layers:
            self.add(item)

    @property
    def layers(self) -> list[Layer]:
        """The stacked layers, in order."""
        return list(self._layers)

    def add(self, layer: Layer | SymbolicTensor) -> None:
        """Appends a layer (or, first of all, a `layers.Input`).

        On a built model the layers already there keep their weights and the
        new one is initialized.
        """
        if isinstance(layer, SymbolicTensor):
            if self._layers or self.input_specs is not None:
                raise ValueError("Sequential: layers.Input may only come first.")
            self.input_specs = (layer.spec(),)
            self._output_spec = layer.spec()
            self._input_shape = layer.shape
            self._input_tensor = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential: expected a layer, received {type(layer).__name__}."
            )
        shape = layer.declared_input_shape
        if shape is not None and not self._layers and self.input_specs is None:
            self.add(Input(batch_shape=shape))  # Keras's `Dense(2, input_shape=(4,))`
        assign_names([*self._layers, layer], "Sequential")  # refuse a duplicate now
        self._layers.append(layer)
        if self.input_specs is not None:  # shapes known: build it now, as Keras
            specs, masks = masking.specs_with_masks(
                layer, (self._output_spec,), {}, ((self._output_mask,), {})
            )
            self._output_spec, self._output_mask = specs, masks[0] if masks else None
        self._changed()

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """The `Input` tensor the stack starts from, in a list (Keras's)."""
        return [self._symbolic_input()]

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """The stack's output, as a symbolic tensor drawn from `inputs`."""
        x = self._symbolic_input()
        for layer in self._layers:
            x = layer(x)
        return [x]

    def _symbolic_input(self) -> SymbolicTensor:
        if "_input_tensor" not in vars(self):
            if self.input_specs is None:
                raise ValueError(
                    "Sequential: no inputs yet. Hint: start it with layers.Input, "
                    "or build it."
                )
            self._input_tensor = Input(
                batch_shape=(None, *self.input_specs[0].shape[1:])
            )
        return self._input_tensor

    def pop(self) -> Layer:
        """Removes and returns the last layer (and its weights, if built)."""
        if not self._layers:
            raise IndexError("Sequential.pop: the model has no layers.")
        layer = self._layers.pop()
        self._changed()
        return layer

    def _changed(self) -> None:
        """After add / pop: forget compiled functions and cached shapes, and
        fit the held variables to the new stack (kept where they still fit)."""
        for cached in ("_jit_apply", "_expected_shapes"):
            vars(self).pop(cached, None)
        weights_surface.children(self)  # each layer learns where its weights live
        if self.variables is not None:
            fresh = self.init(random.next_key(), *self.input_specs)
            self.variables = merge_fitting(fresh, self.variables)

    def layers_by_name(self) -> dict[str, Layer]:
        names = assign_names(self._layers, "Sequential")
        return {names[id(layer)]: layer for layer in self._layers}

    def _inputs(self, inputs: tuple[Any, ...]) -> tuple[Any, ...]:
        if inputs:
            return inputs
        if self.input_specs is None:
            raise ValueError(
                "Sequential.init: no example input and no layers.Input to read "
                "the shape from. Hint: model.init(key, x) or start with layers.Input."
            )
        return self.input_specs

    def _check_declared(self, x: Any) -> None:
        """Refuses inputs whose shape the declared `layers.Input` rules out."""
        declared = vars(self).get("_input_shape")
        shape = tuple(getattr(x, "shape", ()))
        if declared is None or (
            len(shape) == len(declared)
            and all(d is None or d == s for d, s in zip(declared[1:], shape[1:]))
        ):
            return
        raise ShapeError(
            f"Sequential {self.default_name!r}: expected inputs of shape "
            f"{tuple(declared)} (its layers.Input), received {shape}. Hint: give "
            f"arrays of {len(declared)} axes, batch first, with the declared "
            "feature axes, or declare the Input your data has."
        )

    def init(self, key: jax.Array, *inputs: Any) -> Variables:
        (x,) = map(_as_spec, self._inputs(inputs))
        self._check_declared(x)
        variables: Variables = {"params": {}, "state": {}}
        mask = None
        for i, (name, layer) in enumerate(self.layers_by_name().items()):
            extra = masking.init_keywords(layer, (x,), ((mask,), {}))
            v = layer.init(random.fold_in(key, i), x, **extra)
            x, _, mask = shapes_of(partial(_through, layer), v, x, mask)
            for part in ("params", "state"):
                if v[part]:
                    variables[part][name] = v[part]
        return variables

    def apply(self, variables, x, *, training=False, rng=None):
        return self.apply_with_masks(variables, x, training=training, rng=rng)[:2]

    def apply_with_masks(self, variables, x, *, training=False, rng=None):
        """`apply`, and the mask the output carries (None without one): the
        loss and metrics of `fit` and `evaluate` honour it."""
        self._check_declared(x)
        check_variables(self, variables, (x,))
        params, state = variables["params"], dict(variables["state"])
        mask = None  # the mask x carries (see nn.layers.masking)
        for i, (name, layer) in enumerate(self.layers_by_name().items()):
            v = {"params": params.get(name, {}), "state": state.get(name, {})}
            key = None if rng is None else random.fold_in(rng, i)
            x, new, mask = _through(layer, v, x, mask, training=training, rng=key)
            if new:
                state[name] = new
        return x, state, mask

    def layer_outputs(self, *input_specs):
        x, mask, calls = input_specs[0], None, []
        variables = shapes_of(self.init, random.key(0), *input_specs)
        for name, layer in self.layers_by_name().items():
            v = {
                "params": variables["params"].get(name, {}),
                "state": variables["state"].get(name, {}),
            }
            x, _, mask = shapes_of(partial(_through, layer), v, x, mask)
            calls.append((name, layer, x))
        return calls

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "layers": []}
        if self.input_specs is not None:
            shape = getattr(self, "_input_shape", self.input_specs[0].shape)
            config["input_shape"] = list(shape[1:])
            config["input_dtype"] = str(self.input_specs[0].dtype)
        for name, layer in self.layers_by_name().items():
            spec = registry.serialize(layer)
            spec["config"]["name"] = name  # keep variable keys stable on reload
            config["layers"].append(spec)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Sequential:
        layers: list[Any] = []
        if "input_shape" in config:
            shape = tuple(config["input_shape"])
            layers.append(Input(shape, dtype=config["input_dtype"]))
        layers += [registry.deserialize(s, custom_objects) for s in config["layers"]]
        return cls(layers, name=config.get("name"))
