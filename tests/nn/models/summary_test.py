"""`model.summary()` against Keras 3's: the same rows, cells and totals for
the same models, with Keras's keywords."""

import os
import re

import jax.numpy as jnp
import numpy as np
import pytest

import nn
from nn import layers

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)


def _heads(lib):
    """Two heads on a shared trunk, joined again: not a chain."""
    x = lib.layers.Input((4,), name="x")
    h = lib.layers.Dense(8, activation="relu", name="h")(x)
    cls = lib.layers.Dense(3, name="class")(h)
    value = lib.layers.Dense(1, name="value")(h)
    both = lib.layers.Concatenate(name="cat")([cls, value])
    return lib.Model(x, [both, value], name="heads")


def _stack(lib):
    return lib.Sequential(
        [
            lib.Input((6,)),
            lib.layers.Dense(5, name="hidden"),
            lib.layers.BatchNormalization(name="norm"),
            lib.layers.Dense(2, name="out"),
        ],
        name="stack",
    )


def _text(model, **options):
    printed = []
    model.summary(print_fn=lambda text, **_: printed.append(text), **options)
    return "".join(printed)


def _cells(text):
    """The table's rows as lists of cell texts (wrapped lines joined), and
    the lines under it."""
    rows, lines = [], text.strip().splitlines()
    body = [line for line in lines if line[:1] in "┃│"]
    for line in body:
        cells = [c.strip() for c in re.split("[┃│]", line)[1:-1]]
        if line.startswith("│") and rows and not cells[2]:  # a wrapped row
            rows[-1] = [(a + " " + b).strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    return rows, [line.strip() for line in lines if line.startswith(" ")]


@pytest.mark.parametrize("build", [_heads, _stack], ids=["functional", "sequential"])
def test_the_table_and_totals_are_keras_s(build):
    ours, theirs = _cells(_text(build(nn))), _cells(_text(build(keras)))
    assert ours == theirs
    assert _text(build(nn)).startswith('Model: "')


def test_connected_to_shows_what_each_layer_was_called_on():
    rows, _ = _cells(_text(_heads(nn)))
    assert rows[0] == ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    assert rows[-1] == [
        "cat (Concatenate)",
        "(None, 4)",
        "0",
        "class[0][0], value[0][0]",
    ]


def test_keywords_trainable_column_range_and_width():
    ours, theirs = _heads(nn), _heads(keras)
    for model in (ours, theirs):
        model.get_layer("class").trainable = False
    # Keras cuts lines at its console's width (80 here): a table that fits it
    options = {"show_trainable": True, "layer_range": ("h", "value"), "line_length": 76}
    (mine, totals), (reference, expected) = (
        _cells(_text(ours, **options)),
        _cells(_text(theirs, **options)),
    )
    assert mine[1:] == reference[1:] and totals == expected
    assert mine[0][:4] == reference[0][:4]  # Keras cuts the last title short:
    assert mine[0][4] == "Trainable" and reference[0][4].startswith("Trai")
    assert [row[-1] for row in mine[1:]] == ["Y", "N", "Y"]
    width = {len(line) for line in _text(ours, **options).splitlines()[1:-3]}
    assert width == {76}
    with pytest.raises(ValueError, match="layer_range"):
        _text(ours, layer_range=("nothing", "value"))


def test_optimizer_parameters_are_counted_once_a_fit_made_them():
    model = _stack(nn)
    model.compile(optimizer="adam", loss="mse")
    _, before = _cells(_text(model))
    assert not any(line.startswith("Optimizer params") for line in before)
    model.fit(np.zeros((8, 6), np.float32), np.zeros((8, 2), np.float32), verbose=0)
    _, after = _cells(_text(model))
    optimizer = next(line for line in after if line.startswith("Optimizer params"))
    trainable = int(after[1].split()[2].replace(",", ""))
    # Adam's two moments per trainable parameter, and its step counts and rate
    assert int(optimizer.split()[2].replace(",", "")) == 2 * trainable + 3


def _nested(lib):
    inner = lib.Sequential(
        [
            lib.Input((8,)),
            lib.layers.Dense(3, name="d1"),
            lib.layers.Dense(2, name="d2"),
        ],
        name="inner",
    )
    x = lib.layers.Input((8,), name="x")
    return lib.Model(x, lib.layers.Dense(1, name="top")(inner(x)), name="outer")


def test_expand_nested_lists_a_nested_model_s_layers_indented():
    ours, theirs = _nested(nn), _nested(keras)
    mine = _cells(_text(ours, expand_nested=True))
    assert mine == _cells(_text(theirs, expand_nested=True))
    assert [row[0] for row in mine[0][3:5]] == ["└ d1 (Dense)", "└ d2 (Dense)"]
    assert len(_cells(_text(ours))[0]) == 4  # folded: the header and 3 layers


def _counts(model):
    """`{layer name: (output shape, count)}` and the lines under the table."""
    rows, totals = _cells(_text(model))
    table = {row[0].split()[0]: (row[1], row[2]) for row in rows[1:]}
    return table, [line.split(" (")[0] for line in totals]


def test_cnn_counts_match_hand_counts():
    model = nn.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),  # 3*3*1*32 + 32 = 320
            layers.BatchNormalization(),  # 2*32 trainable + 2*32 not
            layers.Flatten(),
            layers.Dense(10),  # 26*26*32*10 + 10 = 216,330
        ]
    )
    table, totals = _counts(model)
    assert table["conv2d"] == ("(None, 26, 26, 32)", "320")
    assert table["batch_normalization"][1] == "128"
    assert table["flatten"] == ("(None, 21632)", "0")
    assert table["dense"][1] == "216,330"
    assert totals == [
        "Total params: 216,778",
        "Trainable params: 216,714",
        "Non-trainable params: 64",
    ]


def test_functional_and_subclassed_summaries():
    x = layers.Input((8,))
    model = nn.Model(x, layers.Dense(4)(layers.Dense(16)(x)), name="mlp")
    assert _text(model).startswith('Model: "mlp"')
    assert _counts(model)[1][0] == "Total params: 212"

    class MLP(nn.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(16), layers.Dense(4)

        def call(self, x):
            return self.b(self.a(x))

    sub = MLP()
    with pytest.raises(ValueError, match="call model.build"):
        sub.summary()
    sub.build((None, 8), seed=0)
    table, totals = _counts(sub)
    assert table["dense_1"] == ("(None, 4)", "68") and totals[0] == "Total params: 212"
    assert sub(jnp.ones((2, 8))).shape == (2, 4)
