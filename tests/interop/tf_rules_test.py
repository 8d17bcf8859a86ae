"""The TensorFlow rules inside `tf.function` graphs (parity_test.py runs them
eagerly): every op and layer case with its gradients, and the derivative
programs that JAX emits for every layer (the forms a lowered train step runs:
transposed convolutions, `select_and_scatter_add`, scatter-adds, reverse
scans), each table traced as one graph; and a whole train step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf

import interop
import nn
import stateless as sl
from nn import layers
from stateless import ops
from tests.interop import lax_cases
from tests.interop.layer_cases import CASES as LAYER_CASES
from tests.stateless.ops import cases
from train import losses, optimizers, steps

OP_CASES = cases.ALL + lax_cases.ALL
RNG = np.asarray(sl.random.key(1))


def _float_leaves(tree):
    return [x for x in jax.tree.leaves(tree) if x.dtype.is_floating]


def _close(got, want, rtol, atol, what):
    got, want = jax.tree.leaves(got), jax.tree.leaves(want)
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        g, w = tf.convert_to_tensor(g).numpy(), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (what, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=what)


def _split(case):
    wrt = [case.grad and np.issubdtype(a.dtype, np.floating) for a in case.args]

    def fn(floats, others):
        floats, others = iter(floats), iter(others)
        return case.call(ops, *[next(floats) if w else next(others) for w in wrt])

    floats = [a for a, w in zip(case.args, wrt) if w]
    return fn, floats, [a for a, w in zip(case.args, wrt) if not w]


def test_op_cases_and_gradients_agree_in_graph_and_eager_mode():
    parts = [_split(case) for case in OP_CASES]
    lowered = [interop.lower(fn, f, o, backend="tensorflow") for fn, f, o in parts]

    def run_all():
        results = []
        for low, (_, floats, others) in zip(lowered, parts):
            floats = [tf.constant(f) for f in floats]
            with tf.GradientTape() as tape:
                tape.watch(floats)
                out = low(floats, [tf.constant(o) for o in others])
                leaves = _float_leaves(out)
                total = sum(tf.reduce_sum(tf.cast(y, tf.float32)) for y in leaves)
            grads = []
            if floats:
                grads = tape.gradient(
                    total, floats, unconnected_gradients=tf.UnconnectedGradients.ZERO
                )
            results.append((out, [tf.convert_to_tensor(g) for g in grads]))
        return results

    eager = run_all()  # parity_test.py holds these to JAX
    graph = tf.function(run_all, autograph=False)()
    for case, got, want in zip(OP_CASES, graph, eager):
        _close(got, jax.tree.map(np.asarray, want), 1e-6, 1e-6, case.id)


def _layer_parts(case):
    """`(objective, derivative program)`: the layer's `sum(sin(outputs))` and
    the JAX program of its gradient (with respect to the parameters and the
    float inputs), the program a lowered train step runs."""
    floats = any(x.dtype == np.float32 for x in jax.tree.leaves(case.inputs))

    def objective(params, state, inputs):
        variables = {"params": params, "state": state}
        out, new_state = case.layer.apply(
            variables, *inputs, training=case.training, rng=RNG
        )
        return sum(jnp.sum(jnp.sin(y)) for y in jax.tree.leaves(out)), new_state

    def program(params, state, inputs):
        argnums = (0, 2) if floats else (0,)
        return jax.grad(objective, argnums, has_aux=True)(params, state, inputs)

    return objective, program, floats


@pytest.mark.slow  # parity_test.py holds TF's autograd through each lowered layer
# to jax.grad by default (eagerly); this runs them all in one tf.function graph
def test_layer_derivative_programs_match_tf_autograd_in_one_graph():
    variables = [case.variables() for case in LAYER_CASES]
    lowered = []
    for case, v in zip(LAYER_CASES, variables):
        args = (v["params"], v["state"], case.inputs)
        objective, program, floats = _layer_parts(case)
        lowered.append(
            [
                interop.lower(f, *args, backend="tensorflow")
                for f in (objective, program)
            ]
            + [floats]
        )

    @tf.function(autograph=False)
    def run_all():
        results = []
        for case, (objective, program, floats), v in zip(
            LAYER_CASES, lowered, variables
        ):
            params = jax.tree.map(tf.constant, v["params"])
            inputs = jax.tree.map(tf.constant, case.inputs)
            wrt = (params, inputs) if floats else (params,)
            with tf.GradientTape() as tape:
                tape.watch(jax.tree.leaves(wrt))
                total, new_state = objective(params, v["state"], inputs)
            # JAX's gradient of an input nothing depends on (a mask's) is zeros
            grads = tape.gradient(
                total, wrt, unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            autograd = jax.tree.map(tf.convert_to_tensor, grads)
            results.append((program(params, v["state"], inputs), (autograd, new_state)))
        return results

    for case, ((grads, state), want) in zip(LAYER_CASES, run_all()):
        _close(state, want[1], 1e-6, 1e-6, f"{case.id} new state")
        _close(grads, want[0], 1e-4, 1e-5, f"{case.id} gradient program")


def test_unknown_sizes_are_refused_with_a_hint():
    lowered = interop.lower(jnp.sin, backend="tensorflow")
    traced = tf.function(lowered, input_signature=[tf.TensorSpec([None], tf.float32)])
    with pytest.raises(ValueError, match="static shapes"):
        traced.get_concrete_function()


def test_a_convolutional_train_step_matches_jax_as_one_graph():
    model = nn.Sequential(
        [
            layers.Conv2D(4, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(3),
        ]
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
    y = np.array([0, 1, 2, 1], np.int32)
    tx = optimizers.Adam(0.01).transform()
    ts = steps.init_train_state(model.init(sl.random.key(0), x), tx, {}, RNG)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    step = steps.make_train_step(model.apply, loss, tx, {})
    lowered = interop.lower(step, ts, (x, y), backend="tensorflow")

    @tf.function(autograph=False)
    def two_steps(ts):
        ts, _ = lowered(ts, (x, y))
        return lowered(ts, (x, y))

    want = jax.jit(lambda ts: step(step(ts, (x, y))[0], (x, y)))(ts)
    _close(two_steps(ts), want, 1e-5, 1e-5, "two train steps")
