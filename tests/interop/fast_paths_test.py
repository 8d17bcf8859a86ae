"""The lowering's fast paths give what the plain rules give: torch's
specialized rules and bias fusions, and the TensorFlow graph that grappler
can fuse (`BiasAdd`, `Relu`, `MaxPool`, convolutions padded by the op)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf
import torch

import interop
import stateless as sl
from interop.tensorflow import to_tf
from nn import layers

RNG = np.random.default_rng(0)


def _conv_net(x, p):
    """NHWC conv + bias + relu, a 2x2 max pool, then dense + bias."""
    y = jax.lax.conv_general_dilated(
        x, p["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    y = jax.nn.relu(y + p["b"])
    y = jax.lax.reduce_window(
        y, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
    )
    return y.reshape(y.shape[0], -1) @ p["k"] + p["c"]


def _params():
    return {
        "w": RNG.normal(size=(3, 3, 2, 4)).astype(np.float32),
        "b": RNG.normal(size=4).astype(np.float32),
        "k": RNG.normal(size=(16, 3)).astype(np.float32),
        "c": RNG.normal(size=3).astype(np.float32),
    }


def _plan_names(lowered):
    (interpreter,) = lowered._interpreters.values()
    return [[step[4] for step in plan.steps] for _, plan in interpreter._plans.values()]


def test_torch_bias_fusion_matches_jax_and_differentiates():
    p, x = _params(), RNG.normal(size=(5, 4, 4, 2)).astype(np.float32)
    lowered = interop.lower(_conv_net, x, p, backend="torch")
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    out = lowered(torch.tensor(x), tp)
    np.testing.assert_allclose(out.detach().numpy(), _conv_net(x, p), atol=1e-5)
    (names,) = _plan_names(lowered)
    assert "conv_general_dilated" not in names and "dot_general" not in names
    assert "broadcast_in_dim" not in names  # both biases joined into their ops
    out.sum().backward()
    want = jax.grad(lambda p: _conv_net(x, p).sum())(p)
    for name, value in want.items():
        np.testing.assert_allclose(tp[name].grad.numpy(), value, rtol=1e-4, atol=1e-4)


def test_torch_no_fusion_when_the_value_before_the_bias_is_read_too():
    def both(x, w, b):
        y = x @ w
        return y, y + b

    x, w, b = (RNG.normal(size=s).astype(np.float32) for s in ((4, 3), (3, 2), (2,)))
    lowered = interop.lower(both, x, w, b, backend="torch")
    got = lowered(*map(torch.tensor, (x, w, b)))
    for mine, theirs in zip(got, both(x, w, b)):
        np.testing.assert_allclose(mine.numpy(), theirs, rtol=1e-6)
    assert "dot_general" in _plan_names(lowered)[0]


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x + 0.0,
        lambda x: 1.0 * x,
        lambda x: x - 0.0,
        lambda x: x.astype("float32"),
    ],
)
def test_torch_identities_run_no_op(fn):
    x = torch.tensor([-0.5, 2.0])
    lowered = interop.lower(fn, x.numpy(), backend="torch")
    np.testing.assert_array_equal(lowered(x).numpy(), x.numpy())
    assert _plan_names(lowered) == [[]]


def test_tf_graph_has_the_ops_grappler_fuses():
    model = layers.Conv2D(4, 3, padding="same", activation="relu")
    x = RNG.normal(size=(2, 6, 6, 3)).astype(np.float32)
    variables = model.init(sl.random.key(0), x)
    module = to_tf(model, variables)
    graph = module._infer.get_concrete_function(tf.constant(x)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert {"Conv2D", "BiasAdd", "Relu"} <= kinds and not kinds & {"Pad", "PadV2"}
    np.testing.assert_allclose(
        module(x).numpy(), model.apply(variables, x)[0], rtol=1e-5, atol=1e-5
    )


def test_tf_max_pool_is_one_op_and_its_gradient_matches_jax():
    def pool(x):
        return jax.lax.reduce_window(
            x, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 2, 2, 1), "SAME"
        )

    x = RNG.normal(size=(2, 7, 7, 3)).astype(np.float32)
    lowered = interop.lower(pool, x, backend="tensorflow")
    graph = tf.function(lowered).get_concrete_function(tf.constant(x)).graph
    assert "MaxPool" in {op.type for op in graph.get_operations()}
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        total = tf.reduce_sum(lowered(tx) ** 2)
    want = jax.grad(lambda x: (pool(x) ** 2).sum())(x)
    np.testing.assert_allclose(lowered(tx).numpy(), pool(x), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(total, tx).numpy(), want, rtol=1e-5)
