"""Muon's choice of step per weight, its orthogonalization, and Muon,
Schedule-Free AdamW and LossScaleOptimizer learning digits in fit and saving
with the model. Ten
steps against Keras's twins are in optimizers_keras_test.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nn
from nn import layers
from train import optimizers
from train.optimizers.muon import muon_labels, orthogonalized


def test_matrices_take_the_muon_step_and_the_rest_adamw():
    model = nn.Sequential([
        layers.Input((6,), dtype="int32"), layers.Embedding(20, 4),
        layers.Conv1D(5, 3), layers.Flatten(), layers.Dense(8, name="hidden"),
        layers.Dense(3, name="head"),
    ])  # fmt: skip
    params = model.build((None, 6))["params"]
    labels = muon_labels(params, exclude_layers=(), exclude_embeddings=True)
    assert labels == {
        "embedding": {"embeddings": "adam"},  # an embedding
        "conv1d": {"kernel": "adam", "bias": "adam"},  # 3-D, 1-D
        "hidden": {"kernel": "muon", "bias": "adam"},
        "head": {"kernel": "muon", "bias": "adam"},
    }
    labels = muon_labels(params, exclude_layers=["^h"], exclude_embeddings=False)
    assert labels["embedding"]["embeddings"] == "muon"
    assert labels["head"]["kernel"] == labels["hidden"]["kernel"] == "adam"


@pytest.mark.parametrize("shape", [(8, 32), (32, 8)])
def test_newton_schulz_flattens_the_singular_values(shape):
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.normal(size=(shape[0], shape[0])))
    v, _ = np.linalg.qr(rng.normal(size=(shape[1], shape[1])))
    spread = np.geomspace(1e-1, 1e1, min(shape))  # condition number 100
    x = (u[:, : min(shape)] * spread) @ v[:, : min(shape)].T
    before = np.linalg.svd(x, compute_uv=False)
    after = np.linalg.svd(orthogonalized(jnp.asarray(x, jnp.float32), 5,
                                         3.4445, -4.7750, 2.0315),
                          compute_uv=False)  # fmt: skip
    assert before.max() / before.min() > 99
    # Keras's quintic coefficients trade exactness for speed: the values
    # land in a band around 1 rather than on it
    assert after.min() > 0.68 and after.max() < 1.16, after


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    return train_test_split(x, data.target, test_size=0.25, random_state=0,
                            stratify=data.target)  # fmt: skip


@pytest.mark.parametrize(
    "optimizer, accuracy",
    [(optimizers.Muon(0.01, exclude_layers=["head"]), 0.95),
     (optimizers.ScheduleFreeAdamW(0.005, warmup_steps=20), 0.95),
     (optimizers.LossScaleOptimizer(optimizers.Adam(3e-3), initial_scale=256.0),
      0.95)],
    ids=["muon", "schedule_free_adamw", "loss_scale_optimizer"],
)  # fmt: skip
def test_learns_digits_and_saves_with_the_model(digits, optimizer, accuracy, tmp_path):
    x, x_test, y, y_test = digits
    model = nn.Sequential([layers.Input((64,)), layers.Dense(64, activation="relu"),
                           layers.Dense(10, name="head")])  # fmt: skip
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    model.fit(x, y, batch_size=50, epochs=8, verbose=0, seed=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > accuracy
    model.save(tmp_path / "model.stateless")
    again = nn.load_model(tmp_path / "model.stateless")
    assert again.optimizer.get_config() == optimizer.get_config()
    np.testing.assert_array_equal(again.predict(x_test, verbose=0),
                                  model.predict(x_test, verbose=0))  # fmt: skip
    pairs = zip(jax.tree.leaves(again.train_state.opt_state),
                jax.tree.leaves(model.train_state.opt_state))  # fmt: skip
    for a, b in pairs:
        np.testing.assert_array_equal(a, b)
