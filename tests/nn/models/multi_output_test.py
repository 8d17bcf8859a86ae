"""`compile` for a model of several outputs, against Keras 3: a loss per
output (a dict by name or a list), loss weights, per-output metrics, weighted
metrics; the same logs, in the same order, from the same weights and data."""

import os

import numpy as np
import pytest

import nn
from nn import layers

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

_rng = np.random.default_rng(7)
X = _rng.standard_normal((64, 4)).astype(np.float32)
CLASSES = (X[:, 0] > 0).astype(np.int32) + (X[:, 1] > 0.5).astype(np.int32)
VALUES = (X @ np.array([[1.0], [-1.0], [0.5], [0.0]])).astype(np.float32)
WEIGHTS = _rng.uniform(0.5, 2.0, 64).astype(np.float32)


def _heads(lib, as_dict):
    """A shared trunk and two heads: 3 classes (logits) and one value."""
    x = lib.layers.Input((4,), name="x")
    h = lib.layers.Dense(8, activation="relu", name="h")(x)
    cls = lib.layers.Dense(3, name="class")(h)
    value = lib.layers.Dense(1, name="value")(h)
    return lib.Model(x, {"value": value, "class": cls} if as_dict else [cls, value])


def _twins(as_dict=False):
    theirs, ours = _heads(keras, as_dict), _heads(nn, as_dict)
    for name in ("h", "class", "value"):
        ours.get_layer(name).set_weights(theirs.get_layer(name).get_weights())
    return ours, theirs


def _compile(model, lib, **overrides):
    options = {
        "optimizer": lib.optimizers.SGD(0.05),
        "loss": {
            "class": lib.losses.SparseCategoricalCrossentropy(from_logits=True),
            "value": "mse",
        },
        "loss_weights": {"class": 1.0, "value": 0.5},
        "metrics": {"class": ["accuracy"], "value": ["mae"]},
        "weighted_metrics": {"class": ["accuracy"], "value": ["mse"]},
    }
    model.compile(**{**options, **overrides})


@pytest.mark.parametrize("as_dict", [False, True], ids=["list_outputs", "dict_outputs"])
def test_two_heads_train_and_log_as_keras_does(as_dict):
    ours, theirs = _twins(as_dict)
    _compile(ours, nn)
    _compile(theirs, keras)
    # Keras weighs a dict of targets with one sample_weight array only for a
    # model whose outputs are a dict: each model gets its own structure
    y = {"class": CLASSES, "value": VALUES} if as_dict else [CLASSES, VALUES]
    options = {"batch_size": 16, "epochs": 3, "verbose": 0, "shuffle": False}
    got = ours.fit(X, y, sample_weight=WEIGHTS, **options).history
    want = theirs.fit(X, y, sample_weight=WEIGHTS, **options).history
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=2e-5, err_msg=name)
    assert got["loss"][-1] < got["loss"][0]

    listed = ours.evaluate(X, y, verbose=0)
    expected = theirs.evaluate(X, y, verbose=0)
    np.testing.assert_allclose(listed, expected, rtol=2e-5)  # and Keras's order
    named = ours.evaluate(X, y, verbose=0, return_dict=True)
    assert list(named)[:3] == ["loss", "class_loss", "value_loss"]
    assert list(named)[3:] == [
        "class_accuracy", "class_weighted_accuracy", "value_mae", "value_mse",
    ]  # fmt: skip


def test_one_loss_for_every_output_and_per_output_sample_weights():
    ours, theirs = _twins()
    for model, lib in ((ours, nn), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    targets = [np.eye(3, dtype=np.float32)[CLASSES], VALUES]
    weights = [np.ones(64, np.float32), WEIGHTS]
    got = ours.evaluate(X, targets, sample_weight=weights, verbose=0, return_dict=True)
    want = theirs.evaluate(
        X, targets, sample_weight=weights, verbose=0, return_dict=True
    )
    assert sorted(got) == sorted(want) == ["class_loss", "loss", "value_loss"]
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=2e-5, err_msg=name)


def test_an_output_without_a_loss_only_logs_its_metrics():
    ours, theirs = _twins(as_dict=True)  # Keras takes a partial dict only then
    for model, lib in ((ours, nn), (theirs, keras)):
        logits = lib.losses.SparseCategoricalCrossentropy(from_logits=True)
        _compile(
            model, lib, loss={"class": logits}, loss_weights=None,
            metrics={"value": ["mae"]}, weighted_metrics=None,
        )  # fmt: skip
    y = {"class": CLASSES, "value": VALUES}
    got = ours.evaluate(X, y, verbose=0, return_dict=True)
    want = theirs.evaluate(X, y, verbose=0, return_dict=True)
    assert list(got) == ["loss", "value_mae"] and sorted(want) == sorted(got)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=2e-5, err_msg=name)


def test_a_single_output_keeps_unweighted_metrics_unweighted():
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ours = nn.Sequential([layers.Input((4,)), layers.Dense(1)])
    ours.set_weights(theirs.get_weights())
    for model, lib in ((ours, nn), (theirs, keras)):
        model.compile(
            optimizer=lib.optimizers.SGD(0.05), loss="mse", loss_weights=2.0,
            metrics=["mae"], weighted_metrics=["mae"],
        )  # fmt: skip
    options = {"sample_weight": WEIGHTS, "verbose": 0, "return_dict": True}
    got = ours.evaluate(X, VALUES, **options)
    want = theirs.evaluate(X, VALUES, **options)
    assert list(got) == ["loss", "mae", "weighted_mae"] and sorted(want) == sorted(got)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=2e-5, err_msg=name)
    assert got["mae"] != got["weighted_mae"]
    # Deliberate difference: Keras's list form repeats "mae" here (it lists
    # each compiled metric by its own name, then the logs left over); ours
    # lists each log once, in the order of the dict.
    assert ours.evaluate(X, VALUES, sample_weight=WEIGHTS, verbose=0) == list(
        got.values()
    )


def test_mismatched_compile_arguments_are_refused_with_the_output_names():
    ours, _ = _twins()
    with pytest.raises(ValueError, match=r"list of 3 .* outputs \['class', 'value'\]"):
        ours.compile(optimizer="sgd", loss=["mse", "mse", "mse"])
    with pytest.raises(ValueError, match=r"\['score'\].*\['class', 'value'\]"):
        ours.compile(optimizer="sgd", loss={"score": "mse"})


def test_the_compile_config_round_trips_per_output_arguments():
    ours, _ = _twins()
    _compile(ours, nn)
    config = ours.get_compile_config()
    assert config["loss_weights"] == {"class": 1.0, "value": 0.5}
    assert config["metrics"] == {"class": ["accuracy"], "value": ["mae"]}
    again, _ = _twins()
    again.set_weights(ours.get_weights())
    again.compile_from_config(config)
    y = [CLASSES, VALUES]
    np.testing.assert_allclose(
        again.evaluate(X, y, verbose=0), ours.evaluate(X, y, verbose=0), rtol=1e-6
    )


def test_a_saved_two_head_model_comes_back_compiled_per_output(tmp_path):
    ours, _ = _twins()
    _compile(ours, nn)
    ours.fit(X, [CLASSES, VALUES], batch_size=16, epochs=1, verbose=0)
    ours.save(tmp_path / "heads.stateless")
    again = nn.load_model(tmp_path / "heads.stateless")
    y = [CLASSES, VALUES]
    assert again.evaluate(X, y, verbose=0) == ours.evaluate(X, y, verbose=0)
    assert again.metrics_names == ours.metrics_names


def test_targets_missing_an_output_are_named_in_the_error():
    ours, _ = _twins()
    _compile(ours, nn)
    with pytest.raises(KeyError, match=r"output 'value'.*\['class'\]"):
        ours.evaluate(X, {"class": CLASSES}, verbose=0)


def test_a_flat_list_as_long_as_the_outputs_gives_one_metric_per_output():
    ours, theirs = _twins()
    for model, lib in ((ours, nn), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse",
                      metrics=["mae", "mse"])  # fmt: skip
    targets = [np.eye(3, dtype=np.float32)[CLASSES], VALUES]
    got = ours.evaluate(X, targets, verbose=0, return_dict=True)
    want = theirs.evaluate(X, targets, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    assert list(got)[3:] == ["class_mae", "value_mse"]
