"""Masks flow through models as Keras propagates them: from
`Embedding(mask_zero=True)` and `Masking` through the layers that support
masking, into the layers that take `mask`, stopped by those that do not;
merges combine masks; users' layers receive masks and compute their own."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers
from stateless import ops
from stateless.errors import ShapeError

IDS = np.array([[4, 2, 7, 0, 0, 0], [1, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 9]], np.int32)
KEEP = IDS != 0


def _sub(variables, name):
    return {
        "params": variables["params"].get(name, {}),
        "state": variables["state"].get(name, {}),
    }


def _embedding_then(*rest):
    return nn.Sequential(
        [
            layers.Input((6,), dtype="int32"),
            layers.Embedding(10, 4, mask_zero=True),
            *rest,
        ]
    )


def test_embedding_mask_reaches_the_rnn_through_dense_and_dropout():
    model = _embedding_then(layers.Dense(5), layers.Dropout(0.1), layers.LSTM(3))
    v = model.init(sl.random.key(0))
    y, _ = model.apply(v, IDS)
    embedding, dense, _, lstm = model.layers
    h = embedding.apply(_sub(v, "embedding"), IDS)[0]
    h = dense.apply(_sub(v, "dense"), h)[0]
    masked = lstm.apply(_sub(v, "lstm"), h, mask=KEEP)[0]
    np.testing.assert_allclose(y, masked, rtol=1e-6)
    unmasked = lstm.apply(_sub(v, "lstm"), h)[0]
    assert not np.allclose(y, unmasked, atol=1e-3)
    jitted = jax.jit(model.apply)(v, IDS)[0]
    np.testing.assert_allclose(jitted, y, rtol=1e-6)


def test_a_layer_without_masking_support_stops_the_mask():
    model = _embedding_then(layers.Conv1D(4, 1), layers.GRU(3))
    v = model.init(sl.random.key(0))
    embedding, conv, gru = model.layers
    h = conv.apply(_sub(v, "conv1d"), embedding.apply(_sub(v, "embedding"), IDS)[0])[0]
    np.testing.assert_allclose(
        model.apply(v, IDS)[0], gru.apply(_sub(v, "gru"), h)[0], rtol=1e-6
    )


def test_masking_layer_and_pooling_over_the_steps_that_count_in_a_functional_model():
    x = np.random.default_rng(0).normal(size=(3, 6, 2)).astype(np.float32)
    x[~KEEP] = -1.0
    inputs = layers.Input((6, 2))
    h = layers.Masking(mask_value=-1.0)(inputs)
    seq = layers.SimpleRNN(3, return_sequences=True)(h)
    pooled = layers.GlobalAveragePooling1D()(seq)
    model = nn.Model(inputs, pooled)
    v = model.init(sl.random.key(0))
    rnn = seq.node.layer
    steps = rnn.apply(_sub(v, "simple_rnn"), x * KEEP[..., None], mask=KEEP)[0]
    steps = np.asarray(steps)
    expected = (steps * KEEP[..., None]).sum(1) / KEEP.sum(1, keepdims=True)
    np.testing.assert_allclose(model.apply(v, x)[0], expected, rtol=1e-5)


def test_merges_combine_masks_as_keras():
    a = jnp.array([[True, False, False]])
    b = jnp.array([[False, False, True]])
    xa, xb = jnp.ones((1, 3, 2)), jnp.ones((1, 3, 2))
    np.testing.assert_array_equal(layers.Add().compute_mask([xa, xb], [a, b]), a | b)
    assert layers.Add().compute_mask([xa, xb], [a, None]) is None
    joined = layers.Concatenate(axis=1).compute_mask([xa, xb], [a, None])
    np.testing.assert_array_equal(joined, [[True, False, False, True, True, True]])


@nn.register("tests>keep_all")
def keep_all(inputs, mask):
    return ops.ones(inputs.shape[:2], "bool")


class MeanOverMask(layers.Layer):
    """A user's layer that takes `mask` in `call` and ends the mask."""

    def call(self, inputs, mask=None):
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return ops.sum(inputs * weights, axis=1) / ops.sum(weights, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


class FirstStepsOnly(layers.Layer):
    """A user's layer that makes a mask of its own: the first two steps."""

    supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        return ops.arange(inputs.shape[1])[None, :] < 2 + ops.zeros(
            inputs.shape[:1] + (1,), "int32"
        )


def test_users_layers_receive_masks_and_compute_their_own():
    model = _embedding_then(MeanOverMask())
    v = model.init(sl.random.key(0))
    h = np.asarray(model.layers[0].apply(_sub(v, "embedding"), IDS)[0])
    expected = (h * KEEP[..., None]).sum(1) / KEEP.sum(1, keepdims=True)
    np.testing.assert_allclose(model.apply(v, IDS)[0], expected, rtol=1e-5)

    own = _embedding_then(FirstStepsOnly(), MeanOverMask())
    v = own.init(sl.random.key(0))
    h = np.asarray(own.layers[0].apply(_sub(v, "embedding"), IDS)[0])
    np.testing.assert_allclose(own.apply(v, IDS)[0], h[:, :2].mean(1), rtol=1e-5)

    reset = _embedding_then(layers.Lambda(lambda x: x, mask=keep_all), MeanOverMask())
    v = reset.init(sl.random.key(0))
    h = np.asarray(reset.layers[0].apply(_sub(v, "embedding"), IDS)[0])
    np.testing.assert_allclose(reset.apply(v, IDS)[0], h.mean(1), rtol=1e-5)


class Encoder(nn.Model):
    """A subclassed model passes masks explicitly, as Keras's guide shows."""

    def __init__(self):
        super().__init__()
        self.embed = layers.Embedding(10, 4, mask_zero=True)
        self.lstm = layers.LSTM(3)

    def call(self, ids):
        return self.lstm(self.embed(ids), mask=self.embed.compute_mask(ids))


def test_a_subclassed_model_hands_the_mask_on_explicitly():
    model = Encoder()
    v = model.init(sl.random.key(0), IDS)
    y, _ = model.apply(v, IDS)
    h = model.embed.apply(_sub(v, "embedding"), IDS)[0]
    masked = model.lstm.apply(_sub(v, "lstm"), h, mask=KEEP)[0]
    np.testing.assert_allclose(y, masked, rtol=1e-6)


def test_a_mask_of_the_wrong_shape_names_the_layer():
    lstm = layers.LSTM(3)
    v = lstm.init(sl.random.key(0), jnp.ones((3, 6, 4)))
    with pytest.raises(ShapeError, match=r"LSTM, argument .mask.: expected \(3, 6\)"):
        lstm.apply(v, jnp.ones((3, 6, 4)), mask=KEEP[:, :4])
