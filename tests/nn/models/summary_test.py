"""summary(): per-layer output shapes and parameter counts that match hand counts."""

import jax.numpy as jnp
import pytest

import nn
from nn import layers


def _lines(model):
    printed = []
    model.summary(print_fn=printed.append)
    return printed[0].splitlines()


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
    lines = _lines(model)
    rows = {line.split()[0]: line for line in lines if line.split() and "(" in line}
    assert (
        rows["conv2d"].split()[-1] == "320" and "(None, 26, 26, 32)" in rows["conv2d"]
    )
    assert rows["batch_normalization"].split()[-1] == "128"
    assert rows["flatten"].split()[-1] == "0" and "(None, 21632)" in rows["flatten"]
    assert rows["dense"].split()[-1] == "216,330"
    assert "Total params: 216,778" in lines
    assert "Trainable params: 216,714" in lines
    assert "Non-trainable params: 64" in lines


def test_functional_and_subclassed_summaries():
    x = layers.Input((8,))
    model = nn.Model(x, layers.Dense(4)(layers.Dense(16)(x)), name="mlp")
    lines = _lines(model)
    assert lines[0] == 'Model: "mlp"' and "Total params: 212" in lines

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
    lines = _lines(sub)
    assert any(
        line.startswith("dense_1 (Dense)") and "(None, 4)" in line for line in lines
    )
    assert "Total params: 212" in lines
    assert sub(jnp.ones((2, 8))).shape == (2, 4)
