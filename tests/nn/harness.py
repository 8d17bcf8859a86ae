"""`check_layer`: the conformance checks every layer test runs.

For one layer and example inputs it checks: init from arrays and from
`jax.ShapeDtypeStruct`s agree; apply is pure (same inputs, same outputs) and
jit agrees with eager; `output_spec` and `jax.eval_shape` agree with the real
outputs; `vmap` over an extra leading axis equals applying slice by slice;
gradients with respect to the parameters are finite; the config survives a
JSON round trip and the rebuilt layer computes the same outputs; and a wrong
input (when given; a tuple for several) raises `ShapeError`.
"""

from __future__ import annotations

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from nn import registry
from stateless.errors import ShapeError


def _spec(x):
    """The abstract twin of an input: an array or a list of arrays."""
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), x)


def _is_float(x):
    return jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)


def check_layer(
    layer,
    *inputs,
    expected_shape=None,
    wrong_input=None,
    training=False,
    rtol=1e-5,
    atol=1e-5,
):
    """Runs the conformance checks; returns `(variables, outputs)` for more asserts."""
    key, rng = sl.random.key(0), sl.random.key(1)
    variables = layer.init(key, *inputs)
    chex.assert_trees_all_equal_shapes_and_dtypes(
        variables, layer.init(key, *map(_spec, inputs))
    )
    assert set(variables) == {"params", "state"}

    def run(v, *xs):
        return layer.apply(v, *xs, training=training, rng=rng)

    out, state = run(variables, *inputs)
    again, _ = run(variables, *inputs)
    chex.assert_trees_all_equal(out, again)
    jitted, jit_state = jax.jit(run)(variables, *inputs)
    chex.assert_trees_all_close(jitted, out, rtol=rtol, atol=atol)
    chex.assert_trees_all_equal_structs(state, variables["state"])
    chex.assert_trees_all_equal_shapes_and_dtypes(jit_state, variables["state"])
    if expected_shape is not None:
        assert jax.tree.leaves(out)[0].shape == expected_shape

    chex.assert_trees_all_equal_shapes_and_dtypes(
        jax.eval_shape(run, variables, *inputs), (out, state)
    )
    chex.assert_trees_all_equal_shapes_and_dtypes(
        layer.output_spec(*map(_spec, inputs), training=training), out
    )

    stacked = [jax.tree.map(lambda a: jnp.stack([a, a]), x) for x in inputs]
    mapped, _ = jax.jit(jax.vmap(run, in_axes=(None, *[0] * len(inputs))))(
        variables, *stacked
    )
    chex.assert_trees_all_close(
        jax.tree.map(lambda y: y[0], mapped), out, rtol=rtol, atol=atol
    )

    if variables["params"]:

        def loss(params):
            y, _ = run({"params": params, "state": variables["state"]}, *inputs)
            return sum(jnp.sum(leaf) for leaf in jax.tree.leaves(y) if _is_float(leaf))

        grads = jax.jit(jax.grad(loss))(variables["params"])
        chex.assert_tree_all_finite(grads)

    config = json.loads(json.dumps(registry.serialize(layer)))
    rebuilt = registry.deserialize(config)
    assert type(rebuilt) is type(layer)
    assert rebuilt.get_config() == layer.get_config()

    def run_rebuilt(v, *xs):
        return rebuilt.apply(v, *xs, training=training, rng=rng)

    # The rebuilt layer computes what the layer does: the same traced program
    # (cheap), or else the same numbers from a compiled run.
    program = str(jax.make_jaxpr(run)(variables, *inputs))
    if str(jax.make_jaxpr(run_rebuilt)(variables, *inputs)) != program:
        rebuilt_out, _ = jax.jit(run_rebuilt)(variables, *inputs)
        chex.assert_trees_all_close(rebuilt_out, out, rtol=rtol, atol=atol)

    if wrong_input is not None:
        wrong = wrong_input if isinstance(wrong_input, tuple) else (wrong_input,)
        with pytest.raises(ShapeError, match=type(layer).__name__):
            layer.apply(variables, *wrong, training=training, rng=rng)
    np.testing.assert_equal(
        bool(
            all(
                np.isfinite(leaf).all()
                for leaf in jax.tree.leaves(out)
                if _is_float(leaf)
            )
        ),
        True,
    )
    return variables, out
