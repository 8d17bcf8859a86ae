"""Bidirectional, TimeDistributed and ConvLSTM1D/2D/3D: the layer contract,
masks, clear errors, and two models of Keras's examples that learn data the
test makes and reload exactly: a bidirectional LSTM classifier of padded
sequences, and a sequence-to-sequence adder (LSTM encoder, RepeatVector,
LSTM decoder, TimeDistributed(Dense))."""

import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers
from nn.archive import load_model, save_model
from stateless.errors import ShapeError
from tests.nn.harness import check_layer

_rng = np.random.default_rng(3)


def _x(*shape):
    return _rng.normal(size=shape).astype(np.float32)


CONTRACT = {
    "bidirectional_concat": (
        layers.Bidirectional(layers.LSTM(3, return_sequences=True)), (2, 5, 4),
        (2, 5, 6)),
    "bidirectional_ave_state": (
        layers.Bidirectional(layers.GRU(3, return_state=True), merge_mode="ave"),
        (2, 5, 4), (2, 3)),
    "bidirectional_backward_layer": (
        layers.Bidirectional(
            layers.SimpleRNN(3), merge_mode=None,
            backward_layer=layers.GRU(2, go_backwards=True, dropout=0.2),
        ),
        (2, 5, 4), (2, 3)),
    "time_distributed": (layers.TimeDistributed(layers.Dense(3)), (2, 5, 4), (2, 5, 3)),
    "time_distributed_conv": (
        layers.TimeDistributed(layers.Conv2D(2, 3)), (2, 3, 5, 5, 1), (2, 3, 3, 3, 2)),
    "conv_lstm1d": (layers.ConvLSTM1D(2, 3, dropout=0.3), (2, 4, 6, 3), (2, 4, 2)),
    "conv_lstm2d": (
        layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, dropout=0.3),
        (2, 4, 5, 5, 3), (2, 4, 5, 5, 2)),
    "conv_lstm3d": (layers.ConvLSTM3D(2, 2, return_state=True), (2, 3, 3, 3, 3, 1),
                    (2, 2, 2, 2, 2)),
}  # fmt: skip


# With -m slow: the 1D and 3D cases check the same recurrence (the 1D one
# under dropout) in the default selection.
_SLOW = {"conv_lstm2d"}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=[pytest.mark.slow] if c in _SLOW else [])
     for c in sorted(CONTRACT)],
)  # fmt: skip
def test_the_layer_contract_holds(case):
    layer, shape, expected = CONTRACT[case]
    x = _x(*shape)
    dropout = ("bidirectional_backward_layer", "conv_lstm1d", "conv_lstm2d")
    training = case in dropout
    check_layer(layer, x, expected_shape=expected, training=training)


def test_a_masked_conv_lstm_keeps_its_states_at_masked_steps():
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    x, keep = _x(2, 4, 5, 5, 1), np.array([[1, 0, 1, 0], [1, 1, 1, 0]], bool)
    v = layer.init(sl.random.key(0), x)
    y, _ = layer.apply(v, x, mask=keep)
    for row in range(2):  # the same as running on the kept steps alone
        alone, _ = layer.apply(v, x[row : row + 1, keep[row]])
        np.testing.assert_allclose(y[row, -1], alone[0, -1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y[0, 1], y[0, 0])  # a masked step repeats


def test_a_mask_passes_through_time_distributed():
    model = nn.Sequential(
        [
            layers.Input((None,), dtype="int32"),
            layers.Embedding(10, 4, mask_zero=True),
            layers.TimeDistributed(layers.Dense(3)),
            layers.LSTM(2),
        ]
    )
    ids = np.array([[3, 4, 0, 0, 0, 0]], np.int32)
    v = model.init(sl.random.key(0))
    cut, _ = model.apply(v, ids[:, :2])
    np.testing.assert_allclose(model.apply(v, ids)[0], cut, rtol=1e-5, atol=1e-6)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(TypeError, match="must be a recurrent layer"):
        layers.Bidirectional(layers.Dense(2))
    with pytest.raises(ValueError, match="read the sequence the same way"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="must agree on return_sequences"):
        layers.Bidirectional(
            layers.LSTM(2), backward_layer=layers.LSTM(2, go_backwards=True,
                                                       return_sequences=True)
        )  # fmt: skip
    with pytest.raises(ValueError, match="strides > 1 and dilation_rate > 1"):
        layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    layer = layers.TimeDistributed(layers.Dense(2))
    with pytest.raises(ShapeError, match="TimeDistributed.*3 or more axes"):
        layer.init(sl.random.key(0), jnp.ones((2, 3)))


def _signed_counts(count, rng):
    """Ids 1..19 of lengths 5..20, zero-padded in front to 24 (Keras's
    pad_sequences default); the label says whether ids 1-4 outnumber ids
    5-8 (never a tie)."""
    ids, labels = np.zeros((count, 24), np.int32), np.zeros(count, np.int32)
    for row in range(count):
        while True:
            tokens = rng.integers(1, 20, rng.integers(5, 21))
            lead = np.sum(tokens <= 4) - np.sum((tokens >= 5) & (tokens <= 8))
            if lead:
                break
        ids[row, 24 - len(tokens) :], labels[row] = tokens, lead > 0
    return ids, labels


def test_a_bidirectional_lstm_classifier_learns_padded_sequences(tmp_path):
    ids, labels = _signed_counts(1000, np.random.default_rng(0))
    model = nn.Sequential(
        [
            layers.Input((24,), dtype="int32"),
            layers.Embedding(20, 16, mask_zero=True),
            layers.Bidirectional(layers.LSTM(16, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(16)),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=nn.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(ids[:800], labels[:800], epochs=4, batch_size=32, verbose=0, seed=0)
    _, accuracy = model.evaluate(ids[800:], labels[800:], verbose=0)
    assert accuracy >= 0.95
    save_model(model, tmp_path / "bidirectional.stateless")
    again = load_model(tmp_path / "bidirectional.stateless")
    np.testing.assert_array_equal(again.predict(ids[800:]), model.predict(ids[800:]))


_CHARS = "0123456789+ "


def _sums(count, rng):
    """`"a+b"` (a, b < 100, padded to 5 characters) and `"a+b"`'s value
    (padded to 3), as character ids."""

    def encode(text, width):
        return [_CHARS.index(c) for c in text.ljust(width)]

    a, b = rng.integers(0, 100, count), rng.integers(0, 100, count)
    questions = np.array([encode(f"{i}+{j}", 5) for i, j in zip(a, b)], np.int32)
    answers = np.array([encode(str(i + j), 3) for i, j in zip(a, b)], np.int32)
    return questions, answers


@pytest.mark.slow  # the family's other learning test runs by default
def test_a_sequence_to_sequence_adder_learns_and_reloads(tmp_path):
    questions, answers = _sums(5000, np.random.default_rng(0))
    model = nn.Sequential(
        [
            layers.Input((5,), dtype="int32"),
            layers.Embedding(len(_CHARS), 16),
            layers.LSTM(96),
            layers.RepeatVector(3),
            layers.LSTM(96, return_sequences=True),
            layers.TimeDistributed(layers.Dense(len(_CHARS), activation="softmax")),
        ]
    )
    model.compile(
        optimizer=nn.optimizers.Adam(5e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        questions[:4000], answers[:4000], epochs=30, batch_size=128, verbose=0, seed=0
    )
    _, per_character = model.evaluate(questions[4000:], answers[4000:], verbose=0)
    assert per_character >= 0.9
    save_model(model, tmp_path / "adder.stateless")
    again = load_model(tmp_path / "adder.stateless")
    np.testing.assert_array_equal(
        again.predict(questions[4000:]), model.predict(questions[4000:])
    )
