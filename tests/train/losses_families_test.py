"""The loss families beyond their values (those are held to Keras in
losses_keras_test.py): every loss round-trips through its config, compiles,
trains and comes back from an archive; bad hyperparameters and shapes are
refused by name."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
from nn import layers
from train import losses, optimizers

# One instance per class, with hyperparameters away from their defaults.
NON_DEFAULT = [
    losses.MeanSquaredError(reduction="sum", name="l2"),
    losses.MeanAbsoluteError(dtype="float32"),
    losses.MeanAbsolutePercentageError(reduction=None),
    losses.MeanSquaredLogarithmicError(reduction="mean_with_sample_weight"),
    losses.Huber(delta=2.5),
    losses.LogCosh(),
    losses.CosineSimilarity(axis=1),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.0),
    losses.CategoricalCrossentropy(axis=1, reduction="none"),
    losses.CategoricalFocalCrossentropy(alpha=0.5, from_logits=True),
    losses.SparseCategoricalCrossentropy(ignore_class=255, axis=1),
    losses.CategoricalGeneralizedCrossEntropy(q=0.3),
    losses.KLDivergence(),
    losses.Poisson(),
    losses.Hinge(),
    losses.SquaredHinge(),
    losses.CategoricalHinge(),
    losses.Dice(axis=(1, 2)),
    losses.Tversky(alpha=0.8, beta=0.2, axis=(1, 2)),
    losses.Circle(gamma=64.0, margin=0.25, remove_diagonal=False),
    losses.CTC(),
]


def test_every_class_has_a_non_default_case_here():
    assert {type(loss) for loss in NON_DEFAULT} == set(losses.CLASSES)


@pytest.mark.parametrize("loss", NON_DEFAULT, ids=lambda loss: type(loss).__name__)
def test_a_loss_round_trips_through_its_config_as_json(loss):
    import json

    data = json.loads(json.dumps(losses.serialize(loss)))  # tuples become lists
    rebuilt = losses.deserialize(data)
    assert rebuilt == loss and hash(rebuilt) == hash(loss)
    assert losses.get(type(loss).__name__) == type(loss)()


@pytest.mark.parametrize(
    "name, cls",
    [("mape", losses.MeanAbsolutePercentageError),
     ("msle", losses.MeanSquaredLogarithmicError), ("kld", losses.KLDivergence),
     ("logcosh", losses.LogCosh),
     ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy),
     ("categorical_hinge", losses.CategoricalHinge), ("ctc", losses.CTC),
     ("Tversky", losses.Tversky)],
)  # fmt: skip
def test_keras_names_and_aliases_resolve(name, cls):
    assert type(losses.get(name)) is cls


def test_a_misspelt_name_suggests_the_nearest():
    with pytest.raises(ValueError, match="Did you mean 'kl_divergence'"):
        losses.get("kl_divergance")


def test_generalized_cross_entropy_refuses_q_outside_0_1():
    with pytest.raises(ValueError, match=r"q must lie in \(0, 1\), received q=1.5"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)


def test_ctc_names_the_shapes_it_expects():
    with pytest.raises(ValueError, match=r"ctc: expected integer labels.*\(4, 3\)"):
        losses.CTC()(np.zeros((4, 3), np.int32), np.zeros((4, 3), np.float32))


def test_a_half_precision_loss_computes_in_its_dtype():
    y = np.ones((4, 3), np.float32)
    assert losses.LogCosh()(y, y * 0.5).dtype == np.float32
    assert losses.LogCosh(dtype="bfloat16")(y, y * 0.5).dtype == jax.numpy.bfloat16


def _digits():
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    return (x[order] / 16.0).astype(np.float32), y[order].astype(np.int32)


@pytest.mark.parametrize(
    "loss, accuracy",
    [
        (losses.CategoricalFocalCrossentropy(from_logits=True, alpha=1.0), 0.9),
        (losses.CategoricalHinge(), 0.9),
        (losses.KLDivergence(), 0.9),
    ],
    ids=["categorical_focal", "categorical_hinge", "kl_divergence"],
)
def test_a_classifier_learns_with_the_loss_and_reloads_it(loss, accuracy, tmp_path):
    x, y = _digits()
    one_hot = np.eye(10, dtype=np.float32)[y]
    head = [layers.Dense(10, activation="softmax")] if isinstance(
        loss, losses.KLDivergence) else [layers.Dense(10)]  # fmt: skip
    model = nn.Sequential(
        [layers.Input((64,)), layers.Dense(32, activation="relu"), *head]
    )
    model.compile(optimizer=optimizers.Adam(1e-2), loss=loss)
    model.fit(x[:1280], one_hot[:1280], batch_size=64, epochs=10, verbose=0, seed=0)
    scores = model.predict(x[1280:], verbose=0)
    assert float(np.mean(scores.argmax(-1) == y[1280:])) >= accuracy
    model.save(tmp_path / "m.stateless")
    reloaded = nn.load_model(tmp_path / "m.stateless")
    assert reloaded.loss == loss
    np.testing.assert_array_equal(reloaded.predict(x[1280:], verbose=0), scores)
