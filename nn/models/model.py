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

import functools
import inspect
from typing import Any

import jax
import jax.numpy as jnp

from nn.layer_scope import LayerScope
from nn.layers.base import Layer, Variables
from nn.models.naming import assign_names
from nn.models.saving import SavingMixin
from nn.models.summary import summary_table
from nn.models.training import TrainingMixin
from nn.models.variables_check import check_variables
from nn.symbolic import is_symbolic
from stateless import mixed_precision, random
from stateless.scope import current_scope
from train.precision import cast_floats


def _as_spec(x: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(tuple(x.shape), x.dtype)


def _zeros(x: Any) -> Any:
    return jnp.zeros(x.shape, x.dtype) if isinstance(x, jax.ShapeDtypeStruct) else x


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
        if cls is Model and (args or "inputs" in kwargs):
            from nn.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *, name: str | None = None):
        object.__setattr__(self, "name", name)
        self.variables: Variables | None = None
        self.input_specs: tuple[jax.ShapeDtypeStruct, ...] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # models, unlike layers, are mutable

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.default_name!r}>"

    # -- the pure pair --------------------------------------------------------

    def layers_by_name(self) -> dict[str, Layer]:
        """The tracked sub-layers, by the names their variables are kept under."""
        found: list[Layer] = []

        def visit(value: Any) -> None:
            if isinstance(value, Layer):
                found.append(value)
            elif isinstance(value, list | tuple):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for item in value.values():
                    visit(item)

        for attr, value in vars(self).items():
            if not attr.startswith("_") and attr not in ("variables", "input_specs"):
                visit(value)
        names = assign_names(found, type(self).__name__)
        return {names[id(layer)]: layer for layer in found}

    def call(self, *inputs: Any, training: bool = False) -> Any:
        """The forward pass, in the stateful style; subclasses define it."""
        raise TypeError(
            f"{type(self).__name__} defines no call(). Subclass nn.Model and define "
            "call(self, x, training=False), or build nn.Model(inputs, outputs)."
        )

    def _run_call(
        self, scope: LayerScope, inputs: tuple[Any, ...], training: bool
    ) -> Any:
        with scope:
            if _call_takes_training(type(self)):
                return self.call(*inputs, training=training)
            return self.call(*inputs)

    def init(self, key: jax.Array, *inputs: Any) -> Variables:
        """Creates every sub-layer's variables by running `call` once on `inputs`.

        Each sub-layer is initialized, on its first call, with
        `fold_in(key, i)` where `i` is its position in `layers_by_name()`.
        """
        layers = self.layers_by_name()
        index = {id(layer): i for i, layer in enumerate(layers.values())}

        def initialize(name, layer, *args, **kwargs):
            del name, kwargs
            return layer.init(
                random.fold_in(key, index[id(layer)]), *map(_as_spec, args)
            )

        def run(*xs):
            scope = LayerScope(
                {},
                {id(v): k for k, v in layers.items()},
                training=False,
                rng=key,
                initialize=initialize,
                owner=self,
            )
            self._run_call(scope, xs, False)
            return {
                "params": scope.read_tree("params"),
                "state": scope.read_tree("state"),
            }

        return run(*map(_zeros, inputs))

    def apply(
        self,
        variables: Variables,
        *inputs: Any,
        training: bool = False,
        rng: Any = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Runs `call` against explicit variables; returns `(outputs, new_state)`."""
        check_variables(self, variables, inputs)
        names = {id(v): k for k, v in self.layers_by_name().items()}
        scope = LayerScope(variables, names, training=training, rng=rng, owner=self)
        outputs = self._run_call(scope, inputs, training)
        return outputs, scope.read_tree("state")

    def penalty(self, params: dict[str, Any]) -> Any:
        """The regularizer penalties of every sub-layer, summed."""
        return sum(
            (
                layer.penalty(params.get(name, {}))
                for name, layer in self.layers_by_name().items()
            ),
            start=0.0,
        )

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
        key = random.key(seed) if seed is not None else random.SeedGenerator().next()
        self.variables = self.init(key, *specs)
        self.input_specs = specs
        return self.variables

    def __call__(self, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        if training is not None:  # an explicit mode overrides the caller's
            kwargs["training"] = training
        if is_symbolic(args) or isinstance(current_scope(), LayerScope):
            return super().__call__(*args, **kwargs)
        if self.variables is None:
            raise ValueError(
                f"{type(self).__name__} {self.default_name!r} holds no variables yet. "
                "Hint: call model.build(input_shape) (or fit, or load_model) first, "
                "or use the pure pair model.init / model.apply."
            )
        policy = mixed_precision.global_policy()
        compute_dtype = None if policy.name == "float32" else policy.compute_dtype
        outputs, state = _jitted_apply(self)(
            self.variables, *args, training=bool(training), compute_dtype=compute_dtype
        )
        if training:
            self.variables = {**self.variables, "state": state}
        return outputs

    def summary(self, print_fn: Any = print) -> None:
        """Prints each layer, its output shape and parameter count, and the totals."""
        print_fn(summary_table(self))

    def layer_outputs(self, *input_specs: Any) -> list[tuple[str, Layer, Any]]:
        """`(name, layer, output spec)` for each sub-layer call, in call order."""
        names = {id(v): k for k, v in self.layers_by_name().items()}
        calls: list[tuple[str, Layer, Any]] = []

        def run(variables, *xs):
            scope = LayerScope(variables, names, training=False, rng=None, owner=self)
            outputs = self._run_call(scope, xs, False)
            calls.extend(
                (n, layer, jax.tree.map(_as_spec, out)) for n, layer, out in scope.calls
            )
            return outputs

        variables = jax.eval_shape(self.init, random.key(0), *input_specs)
        jax.eval_shape(run, variables, *input_specs)
        return calls


@functools.cache
def _call_takes_training(cls: type) -> bool:
    return "training" in inspect.signature(cls.call).parameters


def _jitted_apply(model: Model) -> Any:
    """One compiled `apply` per model object, kept on it (not a config field).

    Under a mixed policy it casts the parameters and float inputs to the
    compute dtype first, as the training steps do.
    """
    if "_jit_apply" not in vars(model):

        def run(variables, *args, training, compute_dtype):
            if compute_dtype is not None:
                params = cast_floats(variables["params"], compute_dtype)
                variables, args = (
                    {**variables, "params": params},
                    cast_floats(args, compute_dtype),
                )
            return model.apply(variables, *args, training=training)

        model._jit_apply = jax.jit(run, static_argnames=("training", "compute_dtype"))
    return model._jit_apply
