"""RNN over cells: the layer contract for every recurrent layer and cell,
a cell's step against the loop, dropout's one mask per sequence, stateful
layers in a model with reset_states, and a masked model that learns and
reloads exactly."""

import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers
from nn.archive import load_model, save_model
from stateless import ops
from stateless.errors import ShapeError
from tests.nn.harness import check_layer

_rng = np.random.default_rng(11)


def _x(*shape):
    return _rng.normal(size=shape).astype(np.float32)


@nn.register("tests>DecayCell")
class DecayCell(layers.Layer):
    """A cell written Keras's way: `h = a * h + x @ w`, with `state_size`."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.a = self.add_weight(shape=(self.units,), initializer="ones", name="a")

    def call(self, inputs, states):
        h = self.a * states[0] + ops.matmul(inputs, self.w)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


CONTRACT = {
    "simple_rnn": (layers.SimpleRNN(3, return_sequences=True), (2, 5, 3)),
    "simple_rnn_state": (layers.SimpleRNN(3, return_state=True), (2, 3)),
    "lstm_unroll": (layers.LSTM(3, unroll=True, go_backwards=True), (2, 3)),
    "rnn_lstm_cell": (layers.RNN(layers.LSTMCell(3)), (2, 3)),
    "rnn_stacked": (
        layers.RNN([layers.SimpleRNNCell(4), layers.GRUCell(3)], return_state=True),
        (2, 3),
    ),
    "rnn_user_cell": (layers.RNN(DecayCell(3), return_sequences=True), (2, 5, 3)),
}


@pytest.mark.parametrize("case", sorted(CONTRACT))
def test_the_layer_contract_holds(case):
    layer, expected = CONTRACT[case]
    x = _x(2, 5, 4)
    check_layer(layer, x, expected_shape=expected, wrong_input=x[:, :, :2])


@pytest.mark.parametrize(
    "cell, states",
    [
        (layers.SimpleRNNCell(3), [(2, 3)]),
        (layers.LSTMCell(3, dropout=0.2), [(2, 3), (2, 3)]),
        (layers.GRUCell(3, reset_after=False), [(2, 3)]),
    ],
)
def test_a_cell_is_one_step_of_its_loop(cell, states):
    x_t, states = _x(2, 4), [_x(*s) for s in states]
    check_layer(cell, x_t, states, expected_shape=(2, 3))
    v = cell.init(sl.random.key(0), x_t)
    (y, new), _ = cell.apply(v, x_t, states)
    loop = layers.RNN(cell, return_state=True)
    (y_loop, *new_loop), _ = loop.apply(
        {"params": {"cell": v["params"]}, "state": {}}, x_t[:, None], states
    )
    np.testing.assert_allclose(y, y_loop, rtol=1e-6)
    for a, b in zip(new, new_loop):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_dropout_draws_one_mask_per_sequence():
    layer = layers.SimpleRNN(
        6, dropout=0.5, activation="linear", return_sequences=True, seed=3
    )
    x = np.ones((4, 5, 6), np.float32)
    v = layer.init(sl.random.key(0), x)
    v["params"] = {
        "kernel": jnp.eye(6),
        "recurrent_kernel": jnp.zeros((6, 6)),
        "bias": jnp.zeros(6),
    }
    y, _ = layer.apply(v, x, training=True, rng=sl.random.key(1))
    y = np.asarray(y)
    assert set(np.unique(y)) == {0.0, 2.0}  # inverted dropout at rate 0.5
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1], y.shape))  # every step
    assert not np.array_equal(y[0, 0], y[1, 0])  # each sequence its own
    again, _ = layer.apply(v, x, training=True, rng=sl.random.key(1))
    np.testing.assert_array_equal(again, y)
    np.testing.assert_array_equal(layer.apply(v, x)[0], x)  # inference: none
    with pytest.raises(ValueError, match="needs rng= when training=True"):
        layer.apply(v, x, training=True)


def test_recurrent_dropout_changes_training_outputs_only():
    layer = layers.GRU(4, recurrent_dropout=0.4, return_sequences=True)
    x = _x(3, 6, 2)
    v = layer.init(sl.random.key(0), x)
    plain = layers.GRU(4, return_sequences=True).apply(v, x)[0]
    np.testing.assert_array_equal(layer.apply(v, x)[0], plain)
    dropped = layer.apply(v, x, training=True, rng=sl.random.key(2))[0]
    np.testing.assert_array_equal(dropped[:, 0], plain[:, 0])  # h0 = 0: nothing to drop
    assert not np.allclose(dropped[:, 1:], plain[:, 1:], atol=1e-4)


def test_stateful_layer_in_a_model_and_reset_states():
    lstm = layers.LSTM(3, stateful=True)
    model = nn.Sequential([layers.Input((4, 2), batch_size=2), lstm])
    x = _x(2, 4, 2)
    first = np.asarray(model(x))
    second = np.asarray(model(x))  # starts from the states `first` left
    assert not np.allclose(first, second, atol=1e-4)
    lstm.reset_states()
    np.testing.assert_allclose(model(x), first, rtol=1e-6)
    v = lstm.init(sl.random.key(0), x)
    with pytest.raises(ShapeError, match="stateful.*batch size is fixed at 2"):
        lstm.apply(v, _x(3, 4, 2))


def test_a_stateful_bidirectional_layer_resets_both_directions():
    both = layers.Bidirectional(layers.GRU(3, stateful=True))
    model = nn.Sequential([layers.Input((4, 2), batch_size=2), both, layers.Dense(1)])
    x = _x(2, 4, 2)
    first = np.asarray(model(x))
    assert not np.allclose(model(x), first, atol=1e-5)
    both.reset_states()
    np.testing.assert_allclose(model(x), first, rtol=1e-6)


def test_keras_input_shape_keyword_starts_a_sequential():
    model = nn.Sequential([layers.LSTM(4, input_shape=(5, 3)), layers.Dense(1)])
    assert model.input_shape == (None, 5, 3)
    assert model(_x(2, 5, 3)).shape == (2, 1)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="dropout must be in"):
        layers.LSTM(3, dropout=1.5)
    with pytest.raises(ValueError, match="use_cudnn must be one of"):
        layers.GRU(3, use_cudnn="yes")
    with pytest.raises(TypeError, match="cell must be a layer with a state_size"):
        layers.RNN(layers.Dense(3))
    with pytest.raises(ValueError, match="at least one cell"):
        layers.StackedRNNCells([])


def _padded_sequences(count, rng):
    """Ids 1..9 of lengths 2..12, zero-padded at the end to 20; the label
    says whether the first id is below 5, so the model must carry it to the
    sequence's last real step."""
    lengths = rng.integers(2, 13, count)
    ids = np.zeros((count, 20), np.int32)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, 10, length)
    return ids, (ids[:, 0] < 5).astype(np.int32)


# suite time (13 s): the bidirectional classifier learns padded sequences by default
@pytest.mark.slow
def test_a_masked_recurrent_model_learns_padded_sequences_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    ids, labels = _padded_sequences(1200, rng)
    model = nn.Sequential(
        [
            layers.Input((20,), dtype="int32"),
            layers.Embedding(10, 8, mask_zero=True),
            layers.RNN([layers.GRUCell(16), layers.LSTMCell(16)]),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=nn.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(ids[:1000], labels[:1000], epochs=6, batch_size=32, verbose=0, seed=0)
    _, accuracy = model.evaluate(ids[1000:], labels[1000:], verbose=0)
    assert accuracy >= 0.95
    save_model(model, tmp_path / "masked.stateless")
    again = load_model(tmp_path / "masked.stateless")
    np.testing.assert_array_equal(again.predict(ids[1000:]), model.predict(ids[1000:]))


def test_a_model_of_every_recurrent_and_attention_layer_reloads_exactly(tmp_path):
    tokens = layers.Input((6,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(tokens)
    h = layers.SimpleRNN(4, return_sequences=True, go_backwards=True)(h)
    h = layers.RNN(DecayCell(4), return_sequences=True)(h)
    h = layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="sum")(h)
    h = layers.TimeDistributed(layers.Dense(4))(h)
    h = layers.Attention(use_scale=True)([h, h])
    h = layers.GroupQueryAttention(2, 2, 1, use_gate=True)(h, h)
    h = layers.MultiHeadAttention(2, 2, sliding_window=2, use_gate=True)(h, h)
    frames = layers.Reshape((6, 2, 2))(h)
    h = layers.ConvLSTM1D(2, 2, padding="same")(frames)
    model = nn.Model(tokens, layers.Dense(3)(layers.Flatten()(h)))
    ids = np.array([[3, 1, 4, 1, 5, 0], [2, 7, 0, 0, 0, 0]], np.int32)
    expected = model.predict(ids)
    save_model(model, tmp_path / "sequence.stateless")
    np.testing.assert_array_equal(
        load_model(tmp_path / "sequence.stateless").predict(ids), expected
    )
