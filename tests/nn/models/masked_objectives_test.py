"""Losses and metrics read the masks a model's outputs carry, as in Keras.

The same models, weights and padded batches run through Keras 3 (on JAX, in
a subprocess) and here: `evaluate` gives the same loss and metrics, and one
`train_on_batch` step of SGD leaves the same weights (so the masked loss has
the same gradients). A label at a padded step changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn import layers
from tests.keras_reference import keras_numbers
from train.optimizers import SGD

IDS = np.array(
    [[4, 2, 7, 0, 0, 0], [1, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 9], [5, 8, 0, 0, 0, 0],
     [9, 9, 1, 2, 0, 0], [6, 0, 0, 0, 0, 0], [2, 4, 6, 8, 1, 3], [7, 7, 7, 0, 0, 0]],
    np.int32,
)  # fmt: skip
TAGS = (np.arange(48).reshape(8, 6) * 7 % 3).astype(np.int32)
SCORES = np.linspace(-1.0, 1.0, 8, dtype=np.float32)[:, None]
STEP_WEIGHTS = (1.0 + np.arange(48).reshape(8, 6) % 4).astype(np.float32)


def _tagger(L):
    """One tag per step of a padded sequence."""
    return [
        L.Input((6,), dtype="int32"),
        L.Embedding(10, 4, mask_zero=True),
        L.LSTM(5, return_sequences=True),
        L.Dense(3, activation="softmax"),
    ]


def _tags_and_score(L, model_class):
    """Per-step tags (masked) and one score per sequence (pooled: unmasked)."""
    ids = L.Input((6,), dtype="int32")
    steps = L.GRU(5, return_sequences=True)(L.Embedding(10, 4, mask_zero=True)(ids))
    tags = L.Dense(3, activation="softmax", name="tags")(steps)
    score = L.Dense(1, name="score")(L.GlobalAveragePooling1D()(steps))
    return model_class(ids, [tags, score])


def _compile_tagger(model, sgd):
    model.compile(
        optimizer=sgd(learning_rate=0.5),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=["sparse_categorical_accuracy"],
    )


def _compile_two(model, sgd):
    model.compile(
        optimizer=sgd(learning_rate=0.5),
        loss={"tags": "sparse_categorical_crossentropy", "score": "mse"},
        loss_weights={"tags": 1.0, "score": 0.5},
        metrics={"tags": ["accuracy"], "score": ["mae"]},
    )


def _run(model, x, y, sample_weight):
    """`evaluate`'s logs, then the weights after one step of SGD."""
    logs = model.evaluate(
        x, y, sample_weight=sample_weight, verbose=0, return_dict=True
    )
    model.train_on_batch(x, y, sample_weight=sample_weight)
    return logs, model.get_weights()


def _cases(L, model_class, sequential):
    return {
        "tagger": (
            sequential(_tagger(L)), _compile_tagger, (IDS, TAGS, STEP_WEIGHTS)
        ),
        "two": (
            _tags_and_score(L, model_class), _compile_two,
            (IDS, {"tags": TAGS, "score": SCORES}, None),
        ),
    }  # fmt: skip


def _keras_side(path):
    import keras

    keras.utils.set_random_seed(3)
    out = {}
    cases = _cases(keras.layers, keras.Model, keras.Sequential)
    for case, (model, compile_it, data) in cases.items():
        weights = model.get_weights()
        compile_it(model, keras.optimizers.SGD)
        logs, after = _run(model, *data)
        for name, value in logs.items():
            out[f"{case}/logs/{name}"] = np.asarray(value)
        for i, (w, a) in enumerate(zip(weights, after)):
            out[f"{case}/w{i}"], out[f"{case}/after{i}"] = w, a
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_side(tmp_path_factory):
    return keras_numbers(__file__, tmp_path_factory.mktemp("keras") / "masked.npz")


@pytest.mark.parametrize("case", ["tagger", "two"])
def test_evaluate_and_one_step_match_keras(case, keras_side):
    model, compile_it, data = _cases(layers, nn.Model, nn.Sequential)[case]
    count = len([k for k in keras_side if k.startswith(f"{case}/w")])
    model.set_weights([keras_side[f"{case}/w{i}"] for i in range(count)])
    compile_it(model, SGD)
    logs, after = _run(model, *data)
    theirs = {
        k.split("/")[-1]: float(v)
        for k, v in keras_side.items()
        if k.startswith(f"{case}/logs/")
    }
    assert sorted(logs) == sorted(theirs)
    for name, value in theirs.items():
        np.testing.assert_allclose(logs[name], value, rtol=1e-5, err_msg=name)
    for i, weight in enumerate(after):
        np.testing.assert_allclose(
            weight, keras_side[f"{case}/after{i}"], rtol=1e-5, atol=1e-6
        )


def test_labels_at_padded_steps_change_nothing():
    model = nn.Sequential(_tagger(layers))
    rng = np.random.default_rng(0)  # weights of order 1: confident predictions
    model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()])
    _compile_tagger(model, SGD)
    noisy = np.where(IDS == 0, (TAGS + 1) % 3, TAGS)
    clean = model.evaluate(IDS, TAGS, verbose=0, return_dict=True)
    assert model.evaluate(IDS, noisy, verbose=0, return_dict=True) == clean
    unmasked = nn.Sequential(
        [layers.Input((6,), dtype="int32"), layers.Embedding(10, 4)]
        + _tagger(layers)[2:]
    )
    unmasked.set_weights(model.get_weights())
    _compile_tagger(unmasked, SGD)
    loss = unmasked.evaluate(IDS, TAGS, verbose=0, return_dict=True)["loss"]
    assert abs(loss - clean["loss"]) > 0.01  # without a mask the padding counts
