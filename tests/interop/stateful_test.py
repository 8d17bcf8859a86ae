"""Stateful wrappers both ways: one pure `nn` model and its variables become a
model holding `model.variables` on JAX, a `torch.nn.Module` (`to_torch`) and a
`tf.Module` (`to_tf`); each takes the same SGD step in its own world and comes
back as pure variables (`model.variables`, `from_torch`, `from_tf`). The three
updated variable sets agree, and `model.apply` with each predicts what the
stateful object it came from predicts."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import tensorflow as tf
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

import nn
import stateless as sl
from interop.tensorflow import from_tf, to_tf  # noqa: E402 (after the skip)
from interop.torch import from_torch, to_torch
from nn import layers
from train import losses, optimizers

LEARNING_RATE = 0.1
WORLDS = ["jax", "torch", "tensorflow"]


@pytest.fixture(scope="module")
def batch():
    x, y = load_digits(return_X_y=True)
    return (x[:128] / 16.0).astype(np.float32), y[:128].astype(np.int32)


@pytest.fixture(scope="module")
def start(batch):
    """A model without dropout (every world takes the same deterministic step);
    BatchNormalization gives it state that a training step updates."""
    model = nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="tanh"),
                           layers.BatchNormalization(), layers.Dense(10)])  # fmt: skip
    return model, model.init(sl.random.key(0), batch[0])


def _step_on_jax(model, variables, x, y):
    """The stateful shell: the model holds the variables, `fit` takes one step."""
    sl.set_backend("jax")
    model.variables = variables
    model.compile(
        optimizer=optimizers.SGD(LEARNING_RATE),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    assert int(model.trainer.train_state.step) == 1
    return model, model.variables


def _step_on_torch(model, variables, x, y):
    module = to_torch(model, variables)
    assert isinstance(module, torch.nn.Module)
    optimizer = torch.optim.SGD(module.parameters(), lr=LEARNING_RATE)
    logits = module(torch.from_numpy(x), training=True)
    loss = F.cross_entropy(logits, torch.from_numpy(y).long())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return module, from_torch(module)


def _step_on_tf(model, variables, x, y):
    module = to_tf(model, variables)
    assert isinstance(module, tf.Module)
    with tf.GradientTape() as tape:
        logits = module(tf.constant(x), training=True)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(y), logits)
        )
    grads = tape.gradient(loss, module.trainable_variables)
    assert all(g is not None for g in grads)
    for var, grad in zip(module.trainable_variables, grads):
        var.assign_sub(LEARNING_RATE * grad)
    return module, from_tf(module)


@pytest.fixture(scope="module")
def stepped(start, batch):
    """world -> (the stateful object, its variables back as a pure pytree)."""
    model, variables = start
    x, y = batch
    steps = {"jax": _step_on_jax, "torch": _step_on_torch, "tensorflow": _step_on_tf}
    return {world: steps[world](model, variables, x, y) for world in WORLDS}


def _predict(world, stateful, x):
    """What the stateful object itself predicts, as a NumPy array."""
    if world == "jax":
        np.testing.assert_allclose(
            np.asarray(stateful(x)), stateful.predict(x, batch_size=len(x)),
            rtol=1e-6, atol=1e-6,
        )  # fmt: skip
        return np.asarray(stateful(x))
    if world == "torch":
        with torch.no_grad():
            return stateful(torch.from_numpy(x)).numpy()
    return stateful(tf.constant(x)).numpy()


def test_one_step_in_each_world_gives_the_same_variables(start, stepped):
    _, variables = start
    updated = {world: back for world, (_, back) in stepped.items()}
    for world, back in updated.items():
        assert jax.tree.structure(back) == jax.tree.structure(variables), world
    moved = jax.tree.map(
        lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
        updated["jax"], variables,
    )  # fmt: skip
    assert min(jax.tree.leaves(moved)) > 1e-4  # every parameter and statistic moved
    for world in ("torch", "tensorflow"):
        for path, got in jax.tree_util.tree_leaves_with_path(updated[world]):
            want = _leaf(updated["jax"], path)
            np.testing.assert_allclose(
                np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5,
                err_msg=f"{world} {jax.tree_util.keystr(path)}",
            )  # fmt: skip


def _leaf(tree, path):
    for entry in path:
        tree = tree[entry.key]
    return tree


@pytest.mark.parametrize("world", WORLDS)
def test_pure_apply_predicts_like_the_stateful_object(world, start, stepped, batch):
    model, _ = start
    x, _ = batch
    stateful, back = stepped[world]
    want, _ = model.apply(back, x)
    np.testing.assert_allclose(
        _predict(world, stateful, x), np.asarray(want), rtol=1e-5, atol=1e-5
    )
