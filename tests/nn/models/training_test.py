"""compile / fit / evaluate / predict on nn models with a real dataset, plus the
overridable train_step, regularizers in the loss, mixed precision, weights, and
reproducibility."""

import importlib.util
import os
import pathlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nn
import stateless as sl
from nn import layers
from train import callbacks
from train.optimizers import Adam

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    return train_test_split(x, data.target.astype(np.int32), test_size=0.25,
                            random_state=0, stratify=data.target)  # fmt: skip


def mlp(dropout=0.1, regularizer=None):
    return nn.Sequential([
        layers.Input((64,)),
        layers.Dense(64, activation="relu", kernel_regularizer=regularizer),
        layers.Dropout(dropout),
        layers.Dense(10),
    ])  # fmt: skip


def sparse_ce():
    from train.losses import SparseCategoricalCrossentropy

    return SparseCategoricalCrossentropy(from_logits=True)


def test_digits_mlp_reaches_96_percent(digits):
    x_train, x_test, y_train, y_test = digits
    model = mlp()
    model.compile(optimizer=Adam(3e-3), loss=sparse_ce(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=20,
                        validation_split=0.1, verbose=0, seed=0)  # fmt: skip
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    results = model.evaluate(x_test, y_test, return_dict=True)
    assert results["accuracy"] >= 0.96, results
    predictions = model.predict(x_test)
    assert predictions.shape == (len(x_test), 10)
    assert np.mean(predictions.argmax(-1) == y_test) == pytest.approx(
        results["accuracy"]
    )


def test_regularizer_penalties_are_part_of_the_loss(digits):
    x_train, _, y_train, _ = digits
    plain, regular = mlp(0.0), mlp(0.0, regularizer="l2")
    for model in (plain, regular):
        model.compile(optimizer="sgd", loss=sparse_ce())
        model.build((None, 64), seed=0)
    regular.variables = plain.variables
    gap = regular.evaluate(x_train, y_train) - plain.evaluate(x_train, y_train)
    kernel = plain.variables["params"]["dense"]["kernel"]
    assert gap == pytest.approx(0.01 * float(jnp.sum(kernel**2)), rel=1e-4)


def test_same_seed_same_history_and_weights(digits):
    x_train, _, y_train, _ = digits
    runs = []
    for _ in range(2):
        sl.set_random_seed(7)
        model = mlp(dropout=0.5)
        model.compile(optimizer="adam", loss=sparse_ce(), metrics=["accuracy"])
        history = model.fit(x_train[:256], y_train[:256], epochs=2, verbose=0)
        runs.append((history.history, model.variables))
    assert runs[0][0] == runs[1][0]
    chex.assert_trees_all_equal(runs[0][1], runs[1][1])


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_float32_variables_and_learns(digits, policy):
    x_train, x_test, y_train, y_test = digits
    sl.mixed_precision.set_global_policy(policy)
    model = mlp(0.0)
    model.compile(optimizer="adam", loss=sparse_ce(), metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=8, verbose=0, seed=0)
    dtypes = {leaf.dtype for leaf in jax.tree.leaves(model.variables)}
    assert dtypes == {jnp.dtype("float32")}
    half = jnp.dtype(policy.removeprefix("mixed_"))
    assert model.predict(x_test[:4]).dtype == half
    assert model(x_test[:4]).dtype == half  # the stateful call follows the policy
    assert model.evaluate(x_test, y_test, return_dict=True)["accuracy"] > 0.9


def test_weights_round_trip_and_checkpoints_save_the_best_epochs(digits, tmp_path):
    x_train, x_test, y_train, _ = digits
    model = mlp()
    model.compile(optimizer="adam", loss=sparse_ce(), metrics=["accuracy"])
    checkpoint = callbacks.ModelCheckpoint(
        str(tmp_path / "best-{epoch:02d}.npz"),
        monitor="val_accuracy",
        save_best_only=True,
    )
    model.fit(x_train, y_train, epochs=3, validation_split=0.2, verbose=0,
              callbacks=[checkpoint], seed=0)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir())[0] == "best-01.npz"
    model.save_weights(tmp_path / "final.npz")
    other = mlp()
    other.build((None, 64), seed=1)
    other.load_weights(tmp_path / "final.npz")
    np.testing.assert_array_equal(other.predict(x_test), model.predict(x_test))
    wrong = nn.Sequential([layers.Input((64,)), layers.Dense(3)])
    wrong.build((None, 64), seed=0)
    with pytest.raises(ValueError, match=r"extra: params/dense_1/kernel \(64, 10\)"):
        wrong.load_weights(tmp_path / "final.npz")


def test_a_callback_setting_model_variables_takes_effect_next_epoch(digits):
    x_train, _, y_train, _ = digits
    model = mlp(0.0)
    model.compile(optimizer="sgd", loss=sparse_ce())
    model.build((None, 64), seed=0)
    start = model.variables

    class Rewind(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.variables = start

    history = model.fit(x_train, y_train, epochs=3, shuffle=False, verbose=0,
                        callbacks=[Rewind()])  # fmt: skip
    losses = history.history["loss"]
    assert losses[0] == pytest.approx(losses[1]) == pytest.approx(losses[2])


def test_the_contrastive_train_step_example_learns():
    path = ROOT / "examples" / "contrastive_train_step.py"
    spec = importlib.util.spec_from_file_location("contrastive", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    history = example.main(epochs=4)
    assert history["loss"][-1] < history["loss"][0]
    assert history["pair_accuracy"][-1] > 0.15  # chance is 1/128


def test_saved_files_get_the_usual_permissions_not_the_temporary_files(tmp_path):
    from nn.models.atomic_files import write_atomically

    previous = os.umask(0o022)
    try:
        write_atomically(tmp_path / "w.bin", b"data")
    finally:
        os.umask(previous)
    assert (tmp_path / "w.bin").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["w.bin"]
