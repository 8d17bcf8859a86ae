"""The stateful shell of a layer or model used eagerly on arrays.

Calling a layer or model on arrays, outside any model, builds it on first
use: it initializes its variables for these inputs (with a key from the
global generator, so `sl.set_random_seed` fixes them) and holds them as
`layer.variables`; later calls run the held variables through one jitted
`apply`. `training=True` keeps the new state (BatchNormalization's
statistics); the losses the call added (`add_loss`) are kept as
`layer.losses`. Under a mixed precision policy the parameters and float inputs
are cast to the compute dtype first, as the training steps do.

Example:
  >>> from nn import layers
  >>> layer = layers.Dense(3)
  >>> layer(jnp.ones((2, 4))).shape
  (2, 3)
  >>> jax.tree.map(jnp.shape, layer.variables["params"])
  {'bias': (3,), 'kernel': (4, 3)}
"""

from __future__ import annotations

from typing import Any

import jax

from nn.layers import call_style
from stateless import mixed_precision, random
from stateless.added_losses import collect_losses
from train.precision import cast_floats


def hold(layer: Any, variables: Any) -> None:
    """Sets the variables `layer` holds (layers are frozen; this is the shell;
    a model's own `__setattr__` also adopts its sub-layers' earlier values)."""
    if hasattr(type(layer), "layers_by_name"):
        layer.variables = variables
    else:
        object.__setattr__(layer, "variables", variables)


def build(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Initializes and holds `layer`'s variables for inputs like `args`."""
    specs = jax.tree.map(call_style.spec_of, args)
    variables = layer.init(random.next_key(), *specs, **kwargs)
    hold(layer, variables)
    if getattr(layer, "input_specs", False) is None:  # a model: what it was built for
        layer.input_specs = specs
    return variables


def call(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """`layer(*args)` on arrays: build on first use, then apply the held
    variables."""
    training = kwargs.pop("training", None)
    if layer.variables is None:
        build(layer, args, {k: v for k, v in kwargs.items() if k != "mask"})
    policy = mixed_precision.global_policy()
    compute_dtype = None if policy.name == "float32" else policy.compute_dtype
    outputs, state, losses = _jitted_apply(layer)(
        layer.variables,
        *args,
        training=bool(training),
        compute_dtype=compute_dtype,
        **kwargs,
    )
    object.__setattr__(layer, "_last_losses", losses)
    if training or _stateful(layer):
        hold(layer, {**layer.variables, "state": state})
    return outputs


def _stateful(layer: Any) -> bool:
    """Whether the layer, or one within it, keeps state between calls in
    inference too (a `stateful` RNN), as Keras's do."""
    from nn.layers import call_style

    if getattr(layer, "stateful", False) is True:
        return True
    return any(_stateful(sub) for sub in call_style.children_by_name(layer).values())


def _jitted_apply(layer: Any) -> Any:
    """One compiled `apply` per layer object, kept on it (not a config field)."""
    if "_jit_apply" not in vars(layer):

        def run(variables, *args, training, compute_dtype, **kwargs):
            if compute_dtype is not None:
                params = cast_floats(variables["params"], compute_dtype)
                variables, args = (
                    {**variables, "params": params},
                    cast_floats(args, compute_dtype),
                )
            with collect_losses() as added:
                outputs, state = layer.apply(
                    variables, *args, training=training, **kwargs
                )
            return outputs, state, added

        object.__setattr__(
            layer,
            "_jit_apply",
            jax.jit(run, static_argnames=("training", "compute_dtype")),
        )
    return vars(layer)["_jit_apply"]
