"""Keras's weights surface over the one place a model's arrays live:
`weights`, `get_weights` / `set_weights` (copied to and from the installed
Keras 3), `count_params`, `get_layer`, `Sequential.add` / `pop` and freezing
with `trainable = False`."""

import os

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

_rng = np.random.default_rng(0)


def _cnn(lib):
    L = lib.layers  # noqa: N806
    return lib.Sequential([
        L.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
        L.BatchNormalization(), L.MaxPooling2D(2), L.Flatten(), L.Dense(3),
    ])  # fmt: skip


def _lstm(lib):
    L = lib.layers  # noqa: N806
    return lib.Sequential([L.Input((5, 3)), L.LSTM(4), L.Dense(2)])


def _skip(lib):
    L = lib.layers  # noqa: N806
    x = L.Input((6,))
    h = L.Dense(4, activation="tanh")(x)
    y = L.Add()([L.Dense(4)(h), h])
    return lib.Model(x, L.Dense(2)(y))


_SHAPES = {_cnn: (7, 8, 8, 1), _lstm: (7, 5, 3), _skip: (7, 6)}


@pytest.mark.parametrize("make", [_cnn, _lstm, _skip], ids=["cnn", "lstm", "skip"])
def test_weights_copy_from_keras_and_back(make):
    x = _rng.standard_normal(_SHAPES[make]).astype(np.float32)
    reference, ours = make(keras), make(nn)
    # Random statistics, so that BatchNormalization's state matters too.
    arrays = [
        _rng.uniform(0.5, 1.5, w.shape).astype(np.float32)
        for w in reference.get_weights()
    ]
    reference.set_weights(arrays)
    assert [w.shape for w in ours.get_weights()] == [a.shape for a in arrays]
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(
        np.asarray(ours(x)), np.asarray(reference(x)), rtol=1e-5, atol=1e-5
    )
    assert ours.count_params() == reference.count_params()

    back = make(keras)
    back.set_weights(ours.get_weights())
    np.testing.assert_allclose(
        np.asarray(back(x)), np.asarray(ours(x)), rtol=1e-5, atol=1e-5
    )


def test_weight_lists_follow_keras_order_and_trainability():
    model = _cnn(nn)
    reference = _cnn(keras)
    assert [w.path.split("/")[-1] for w in model.weights] == [
        w.path.split("/")[-1] for w in reference.weights
    ]
    assert len(model.trainable_weights) == len(reference.trainable_weights) == 6
    assert [w.name for w in model.non_trainable_weights] == [
        "moving_mean",
        "moving_variance",
    ]
    assert model.trainable_variables[0].shape == (3, 3, 1, 4)


def test_a_sub_layer_reads_and_replaces_its_slice_of_the_model():
    model = nn.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(2)])
    x = jnp.ones((1, 3))
    head = model.get_layer("dense_1")
    assert head is model.get_layer(index=-1) is model.layers[1]
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.full_like(bias, 7.0)])
    np.testing.assert_array_equal(np.asarray(model(x)), [[7.0, 7.0]])
    np.testing.assert_array_equal(model.variables["params"]["dense_1"]["bias"], [7, 7])
    with pytest.raises(
        ValueError, match=r"no layer named 'head'.*\['dense', 'dense_1'\]"
    ):
        model.get_layer("head")
    with pytest.raises(ValueError, match=r"expected 2 arrays"):
        head.set_weights([kernel])
    with pytest.raises(ValueError, match=r"'kernel' has shape \(4, 2\)"):
        head.set_weights([np.zeros((2, 4)), bias])


def test_a_keras_style_weight_reads_the_model_it_lives_in():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.factor

    scale = Scale()
    model = nn.Sequential([layers.Input((2,)), scale])
    np.testing.assert_array_equal(scale.factor.numpy(), [1.0, 1.0])
    scale.factor.assign(jnp.array([2.0, 3.0]))
    np.testing.assert_array_equal(np.asarray(model(jnp.ones((1, 2)))), [[2.0, 3.0]])
    assert [w.path for w in model.weights] == ["scale/factor"]


def test_sequential_add_and_pop_keep_the_weights_already_there():
    sl.set_random_seed(0)
    model = nn.Sequential([layers.Input((3,)), layers.Dense(4)])
    first = model.get_weights()
    model.add(layers.Dense(2))
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]
    np.testing.assert_array_equal(model.get_weights()[0], first[0])
    assert model(jnp.ones((5, 3))).shape == (5, 2)
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and popped.units == 2
    assert model(jnp.ones((5, 3))).shape == (5, 4)
    np.testing.assert_array_equal(model.get_weights()[0], first[0])


def test_input_shape_output_shape_and_the_functional_inputs():
    model = _skip(nn)
    assert model.input_shape == (None, 6) and model.output_shape == (None, 2)
    assert model.inputs[0].shape == (None, 6) and model.input is model.inputs[0]
    assert model.outputs[0].shape == (None, 2)
    with pytest.raises(ValueError, match="is not built"):
        layers.Dense(2).count_params()
    stack = _cnn(nn)
    assert stack.inputs[0].shape == (None, 8, 8, 1)
    assert stack.outputs[0].shape == (None, 3) and stack.output_shape == (None, 3)


def _digits():
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    return (x[order] / 16.0).astype(np.float32), y[order].astype(np.int32)


def test_a_frozen_base_keeps_its_weights_bit_for_bit_while_the_head_learns():
    x, y = _digits()
    sl.set_random_seed(0)
    base = nn.Sequential(
        [
            layers.Input((64,)),
            layers.Dense(32, activation="relu"),
            layers.BatchNormalization(),
        ]  # fmt: skip
    )
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    pretrained = nn.Sequential([base, layers.Dense(10)])
    pretrained.compile(optimizer=nn.optimizers.Adam(1e-2), loss=loss)
    pretrained.fit(x[:700], y[:700], batch_size=64, epochs=5, verbose=0, seed=0)
    before = base.get_weights()  # read from the model they live in

    base.trainable = False
    assert not base.layers[0].trainable and not base.layers[1].trainable
    inputs = layers.Input((64,))  # Keras's transfer-learning guide, functional
    model = nn.Model(inputs, layers.Dense(10)(base(inputs, training=False)))
    model.compile(optimizer=nn.optimizers.Adam(1e-2), loss=loss, metrics=["accuracy"])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 6
    for old, new in zip(before, base.get_weights()):  # the base kept its training
        np.testing.assert_array_equal(old, new)
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 330" in lines[0]
    assert "Non-trainable params: 2,208" in lines[0]
    model.fit(x[700:1400], y[700:1400], batch_size=64, epochs=8, verbose=0, seed=0)
    for old, new in zip(before, base.get_weights()):
        np.testing.assert_array_equal(old, new)  # statistics too: inference mode
    _, accuracy = model.evaluate(x[1400:], y[1400:], verbose=0)
    assert accuracy > 0.9, accuracy


def test_a_model_that_held_its_own_weights_gives_them_to_the_model_it_joins():
    sl.set_random_seed(1)
    inner = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
    trained = inner.get_weights()  # inner holds its own now
    outer = nn.Sequential([inner, layers.Dense(1)])
    outer(jnp.ones((4, 3)))
    assert inner.variables is None  # one place: the outer model
    for a, b in zip(trained, inner.get_weights()):
        np.testing.assert_array_equal(a, b)
    inner.set_weights([np.zeros((3, 2)), np.ones(2)])
    np.testing.assert_array_equal(
        outer.variables["params"]["sequential"]["dense"]["bias"], [1, 1]
    )
