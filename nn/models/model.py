"""`nn.Model`: the base of every model, and the subclassing style.

Subclass it, create layers in `__init__` (as attributes, or in lists and dicts
held as attributes) and write `call(self, x, training=False)` in the stateful
style. `Model.apply` runs `call` inside a `LayerScope`, so `self.dense(x)`
reads the dense layer's slice of the explicit `variables` and its state
updates are collected and returned: `init` and `apply` stay pure.

`nn.Model(inputs, outputs)` builds a functional model instead (see
`nn.models.functional`). A model may also hold `variables` (the stateful
shell): `build`, `fit` and `load_model` set them and `model(x)` uses them.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax

from nn.layer_scope import LayerScope
from nn.layers import call_style, weights_surface
from nn.layers.base import Layer, Variables
from nn.models.saving import SavingMixin
from nn.models.summary import print_summary
from nn.models.training import TrainingMixin
from nn.models.variables_check import check_variables
from stateless import random
from stateless.added_losses import shapes_of


def _as_spec(x: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(tuple(x.shape), x.dtype)


class Model(TrainingMixin, SavingMixin, Layer):
    """A model of layers; subclass it and define `call`.

    Example:
      >>> import nn
      >>> from nn import layers
      >>> class MLP(nn.Model):
      ...     def __init__(self, units=16, **kwargs):
      ...         super().__init__(**kwargs)
      ...         self.units = units
      ...         self.hidden = layers.Dense(units, activation="relu")
      ...         self.out = layers.Dense(10)
      ...     def call(self, x, training=False):
      ...         return self.out(self.hidden(x))
      ...     def get_config(self):
      ...         return {"units": self.units, "name": self.name}
      >>> model = MLP()
      >>> variables = model.init(sl.random.key(0), jnp.ones((2, 8)))
      >>> jax.tree.map(jnp.shape, variables["params"]["dense_1"])
      {'bias': (10,), 'kernel': (16, 10)}
      >>> model.apply(variables, jnp.ones((2, 8)))[0].shape
      (2, 10)
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        """`Model(inputs, outputs)` is functional; so is a subclass called
        that way (Keras's way of keeping its overridden steps): it becomes
        the subclass over `Functional` (see `nn.models.functional`)."""
        if args or "inputs" in kwargs:
            from nn.models import functional

            if cls is Model:
                return super().__new__(functional.Functional)
            if functional.drawn(args, kwargs) and not issubclass(
                cls, functional.Functional
            ):
                return super().__new__(functional.over_functional(cls))
        return super().__new__(cls)

    def __init__(self, *, name: str | None = None, **kwargs: Any):
        Layer.__init__(self, name=name, **kwargs)
        self.input_specs: tuple[jax.ShapeDtypeStruct, ...] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # models, unlike layers, are mutable

    @property
    def variables(self) -> Variables | None:
        """`{"params", "state"}` the model holds (None until built). Once it is
        compiled they live in its trainer's run context, so during `fit` they
        are the last finished step's, and assigning them changes the next."""
        if self.trainer is not None:
            return self.trainer.context.variables
        return self.__dict__.get("_variables")

    @variables.setter
    def variables(self, variables: Variables | None) -> None:
        if variables is not None and self.variables is None:
            variables = weights_surface.adopt(self, variables)  # keep layers' values
        if self.trainer is not None:
            self.trainer.context.variables = variables
        else:
            self.__dict__["_variables"] = variables

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.default_name!r}>"

    # -- the pure pair --------------------------------------------------------

    def layers_by_name(self) -> dict[str, Layer]:
        """The tracked sub-layers, by the names their variables are kept under."""
        return call_style.sub_layers(self)

    @property
    def layers(self) -> list[Layer]:
        """The sub-layers, in the order their variables are listed."""
        return list(weights_surface.children(self).values())

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A sub-layer by its name (as its variables are keyed) or position.

        Example:
          >>> from nn import layers
          >>> model = nn.Sequential([layers.Input((3,)), layers.Dense(4),
          ...                        layers.Dense(2, name="head")])
          >>> model.get_layer("head").get_weights()[0].shape
          (4, 2)
          >>> type(model.get_layer(index=0)).__name__
          'Dense'
        """
        by_name = weights_surface.children(self)
        if (name is None) == (index is None):
            raise ValueError("get_layer: give exactly one of name= and index=.")
        if index is not None:
            layers = list(by_name.values())
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"get_layer: index {index} is out of range; the model has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        if name in by_name:
            return by_name[name]
        for layer in by_name.values():
            if layer.name == name:
                return layer
        raise ValueError(
            f"get_layer: no layer named {name!r}; the layers are {list(by_name)}."
        )

    @property
    def input_shape(self) -> Any:
        """The input's shape, batch axis `None` (a list for several inputs)."""
        shapes = [(None, *s.shape[1:]) for s in self._known_specs()]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        """The output's shape, batch axis `None` (a list for several outputs)."""
        outputs = shapes_of(
            lambda *xs: self.apply(self.init(random.key(0), *xs), *xs)[0],
            *self._known_specs(),
        )
        shapes = [(None, *o.shape[1:]) for o in jax.tree.leaves(outputs)]
        return shapes[0] if len(shapes) == 1 else shapes

    def _known_specs(self) -> tuple[Any, ...]:
        if self.input_specs is None:
            raise ValueError(
                f"{type(self).__name__} {self.default_name!r}: its input shape is "
                "unknown. Hint: start it with layers.Input, or build it first."
            )
        return self.input_specs

    def call(self, *inputs: Any, training: bool = False) -> Any:
        """The forward pass, in the stateful style; subclasses define it."""
        raise TypeError(
            f"{type(self).__name__} defines no call(). Subclass nn.Model and define "
            "call(self, x, training=False), or build nn.Model(inputs, outputs)."
        )

    def apply(
        self,
        variables: Variables,
        *inputs: Any,
        training: bool = False,
        rng: Any = None,
        **kwargs: Any,
    ) -> tuple[Any, dict[str, Any]]:
        """Runs `call` against explicit variables; returns `(outputs, new_state)`.

        Variables made for another architecture are refused with a message
        naming the missing, extra and mis-shaped ones.
        """
        check_variables(self, variables, inputs)
        return super().apply(variables, *inputs, training=training, rng=rng, **kwargs)

    def get_config(self) -> dict[str, Any]:
        """A subclass must return its `__init__` arguments to be saved and rebuilt."""
        required = [
            p.name
            for p in list(inspect.signature(type(self).__init__).parameters.values())[
                1:
            ]
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if required:
            raise TypeError(
                f"{type(self).__name__}.__init__ takes {', '.join(required)}, so its "
                "config cannot be guessed. Hint: define get_config() returning those "
                "arguments (and name), and register the class with @nn.register()."
            )
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Model:
        return cls(**config)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON (`nn.models.model_from_json` reads it)."""
        from nn.models.cloning import to_json  # cloning imports the models

        return to_json(self, **kwargs)

    # -- the stateful shell ---------------------------------------------------

    def build(self, *input_shapes: Any, seed: int | None = None) -> Variables:
        """Initializes and holds `self.variables` for inputs of these shapes.

        Args:
          *input_shapes: one shape per input, batch axis included (`None` is
            read as 1), e.g. `model.build((None, 28, 28, 1))`.
          seed: an int for `init`'s key; None draws one from the global generator.

        Example:
          >>> from nn import layers
          >>> model = nn.Sequential([layers.Dense(4)])
          >>> _ = model.build((None, 3), seed=0)
          >>> model(jnp.ones((2, 3))).shape
          (2, 4)
        """
        specs = tuple(
            jax.ShapeDtypeStruct(tuple(1 if d is None else d for d in s), "float32")
            for s in input_shapes
        )
        key = random.key(seed) if seed is not None else random.next_key()
        self.variables = self.init(key, *specs)
        self.input_specs = specs
        return self.variables

    build.holds_variables = True  # not a Keras-style build declaring weights

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        """Prints Keras's table: each layer, its output shape, parameter count
        and (functional models) what it was called on; then the totals.

        Args:
          line_length: the table's width (Keras's default: 88, or 108 with the
            "Connected to" column, at most the terminal's width less 4).
          positions: where each column ends, as fractions of the line.
          print_fn: called once with the whole text (default `print`).
          expand_nested: also list the layers of nested models, indented.
          show_trainable: add a "Trainable" column (Y, N, or - without weights).
          layer_range: `(first, last)` layer names or regular expressions: only
            the rows from the first match to the last.

        Example:
          >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
          >>> model.summary(line_length=50)
          Model: "sequential"
          ┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━┓
          ┃ Layer (type)       ┃ Output Shape    ┃ Param # ┃
          ┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━┩
          │ dense (Dense)      │ (None, 2)       │      10 │
          └────────────────────┴─────────────────┴─────────┘
           Total params: 10 (40.00 B)
           Trainable params: 10 (40.00 B)
           Non-trainable params: 0 (0.00 B)
        """
        print_summary(
            self, print_fn, line_length=line_length, positions=positions,
            expand_nested=expand_nested, show_trainable=show_trainable,
            layer_range=layer_range,
        )  # fmt: skip

    def layer_outputs(self, *input_specs: Any) -> list[tuple[str, Layer, Any]]:
        """`(name, layer, output spec)` for each sub-layer call, in call order."""
        names = {id(v): k for k, v in self.layers_by_name().items()}
        calls: list[tuple[str, Layer, Any]] = []

        def run(variables, *xs):
            scope = LayerScope(variables, names, training=False, rng=None, owner=self)
            outputs = call_style.run_call(self, scope, xs, False, {})
            calls.extend(
                (n, layer, jax.tree.map(_as_spec, out)) for n, layer, out in scope.calls
            )
            return outputs

        variables = shapes_of(self.init, random.key(0), *input_specs)
        shapes_of(run, variables, *input_specs)
        return calls
