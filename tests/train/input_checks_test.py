"""Inputs and labels that cannot lie: checked once, before any step runs.

Labels held in memory are checked against the loss (class ids in range,
integral); inputs against the declared `layers.Input` (Sequential and
functional alike); a dict of inputs names what it lacks; inputs of no rows
predict outputs of no rows.
"""

import numpy as np
import pytest

import nn
from nn import layers
from stateless.errors import ShapeError

X = np.random.default_rng(0).random((16, 4)).astype(np.float32)


def _classifier(ignore_class=None):
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    loss = nn.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=ignore_class
    )
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


@pytest.mark.parametrize(
    "labels, message",
    [(np.full(16, 7), r"class ids in \[0, 3\) .* received 7 \(example 0\)"),
     (np.r_[np.zeros(5, int), -1, np.zeros(10, int)], r"received -1 \(example 5\)"),
     (np.full(16, 0.5), r"integer class ids; received 0.5 \(example 0\)")],
    ids=["above", "negative", "fractional"],
)  # fmt: skip
def test_sparse_labels_out_of_range_are_refused_before_training(labels, message):
    model = _classifier()
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(X, labels, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # not one step ran
    with pytest.raises(ValueError, match=message):
        model.evaluate(X, labels, verbose=0)


def test_valid_sparse_labels_still_train():
    model = _classifier(ignore_class=-1)
    labels = np.r_[np.arange(15) % 3, -1]  # -1 is the ignored class
    history = model.fit(X, labels, epochs=2, verbose=0, seed=0)
    assert np.isfinite(history.history["loss"]).all()
    model.fit(X, (np.arange(16) % 3).astype(np.float32), verbose=0)  # integral floats


def test_each_output_checks_its_own_labels():
    x = layers.Input((4,))
    model = nn.Model(x, {"cls": layers.Dense(3)(x), "value": layers.Dense(1)(x)})
    model.compile(
        optimizer="sgd",
        loss={"cls": nn.losses.SparseCategoricalCrossentropy(from_logits=True),
              "value": "mse"},
    )  # fmt: skip
    y = {"cls": np.full(16, 3), "value": np.full((16, 1), 7.0)}  # 7.0: a value
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        model.fit(X, y, verbose=0)
    model.fit(X, {**y, "cls": np.full(16, 2)}, verbose=0)


def test_a_sequential_refuses_inputs_its_declared_input_rules_out():
    model = nn.Sequential([layers.Input((8,)), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ShapeError, match=r"expected inputs of shape \(None, 8\)"):
        model.fit(np.ones((16, 5)), np.ones((16, 3)), verbose=0)
    assert model.variables is None or model.get_weights()[0].shape == (8, 3)
    declared = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    with pytest.raises(ShapeError, match=r"received \(4,\)"):
        declared.predict(np.ones((4,)), verbose=0)  # one example without its axis
    free = nn.Sequential([layers.Input((None, 2)), layers.Dense(3)])  # any length
    assert free.predict(np.ones((2, 5, 2)), verbose=0).shape == (2, 5, 3)


def test_inputs_of_no_rows_predict_outputs_of_no_rows():
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    empty = model.predict(X[:0], verbose=0)
    assert empty.shape == (0, 3) and empty.dtype == np.float32
    x = layers.Input((4,))
    heads = nn.Model(x, [layers.Dense(2)(x), layers.Dense(5)(x)])
    assert [a.shape for a in heads.predict(X[:0], verbose=0)] == [(0, 2), (0, 5)]


def test_a_dict_of_inputs_names_the_missing_key():
    a, b = layers.Input((2,), name="a"), layers.Input((2,), name="b")
    model = nn.Model({"a": a, "b": b}, layers.Dense(1)(layers.Concatenate()([a, b])))
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        model.predict({"a": np.ones((3, 2)), "c": np.ones((3, 2))}, verbose=0)
