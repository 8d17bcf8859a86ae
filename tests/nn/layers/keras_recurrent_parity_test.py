"""SimpleRNN, LSTM, GRU, RNN over cells (built-in, stacked, written by a
user), Bidirectional, TimeDistributed and ConvLSTM1D/2D/3D against Keras 3
on the same weights: outputs and gradients (with respect to the weights,
the inputs and the initial states) within 1e-5, with and without masks,
`go_backwards`, `return_state`, `stateful`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nn import layers
from stateless import ops
from tests.keras_reference import cotangent, keras_numbers

MASK = np.array([[1, 1, 0, 1, 0, 1], [0, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]], bool)
_CELL = ["kernel", "recurrent_kernel", "bias"]
_DIRECTIONS = ["forward_layer", "backward_layer"]


def _minimal_cell(base, math):
    """A cell written Keras's way (the same code on both sides):
    `h = tanh(x @ w + h @ u)`, with `state_size`."""

    class MinimalCell(base):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
            self.u = self.add_weight(shape=(self.units, self.units), name="u")

        def call(self, inputs, states):
            h = math.tanh(math.matmul(inputs, self.w) + math.matmul(states[0], self.u))
            return h, [h]

    return MinimalCell


# name: (make(L, cell class), our parameter paths in Keras's weight order,
#        mask?, initial states' sizes)
CASES = {
    "simple_rnn_mask": (
        lambda L, C: L.SimpleRNN(3, return_sequences=True), _CELL, True, ()),
    "simple_rnn_back_state": (
        lambda L, C: L.SimpleRNN(3, go_backwards=True, return_state=True),
        _CELL, True, ()),
    "lstm_mask_state": (
        lambda L, C: L.LSTM(3, return_sequences=True, return_state=True),
        _CELL, True, ()),
    "lstm_back": (
        lambda L, C: L.LSTM(3, go_backwards=True, return_sequences=True),
        _CELL, True, ()),
    "lstm_initial_state": (
        lambda L, C: L.LSTM(3, return_state=True, unit_forget_bias=False),
        _CELL, True, (3, 3)),
    "lstm_unroll": (lambda L, C: L.LSTM(3, unroll=True), _CELL, False, ()),
    "gru_mask_state": (
        lambda L, C: L.GRU(3, return_sequences=True, return_state=True),
        _CELL, True, ()),
    "gru_reset_before_back": (
        lambda L, C: L.GRU(3, reset_after=False, go_backwards=True), _CELL, True, ()),
    "gru_zero_output": (
        lambda L, C: L.GRU(3, return_sequences=True, zero_output_for_mask=True),
        _CELL, True, (3,)),
    "rnn_lstm_cell": (
        lambda L, C: L.RNN(L.LSTMCell(3), return_sequences=True),
        [f"cell/{p}" for p in _CELL], True, ()),
    "rnn_stacked": (
        lambda L, C: L.RNN(
            [L.LSTMCell(4), L.GRUCell(3)], return_sequences=True, return_state=True
        ),
        [f"cell/lstm_cell/{p}" for p in _CELL] + [f"cell/gru_cell/{p}" for p in _CELL],
        True, ()),
    "rnn_user_cell": (
        lambda L, C: L.RNN(C(3), return_sequences=True, go_backwards=True),
        ["cell/w", "cell/u"], True, ()),
    "bidirectional_lstm": (
        lambda L, C: L.Bidirectional(L.LSTM(3, return_sequences=True)),
        [f"{d}/{p}" for d in _DIRECTIONS for p in _CELL], True, ()),
    "bidirectional_gru_sum_state": (
        lambda L, C: L.Bidirectional(L.GRU(3, return_state=True), merge_mode="sum"),
        [f"{d}/{p}" for d in _DIRECTIONS for p in _CELL], True, (3, 3)),
    "bidirectional_list_backward_layer": (
        lambda L, C: L.Bidirectional(
            L.SimpleRNN(3, return_sequences=True), merge_mode=None,
            backward_layer=L.LSTM(2, return_sequences=True, go_backwards=True),
        ),
        [f"{d}/{p}" for d in _DIRECTIONS for p in _CELL], True, ()),
    "bidirectional_initial_state": (
        lambda L, C: L.Bidirectional(L.LSTM(3), merge_mode="mul"),
        [f"{d}/{p}" for d in _DIRECTIONS for p in _CELL], False, (3, 3, 3, 3)),
    "time_distributed_dense": (
        lambda L, C: L.TimeDistributed(L.Dense(4, activation="tanh")),
        ["layer/kernel", "layer/bias"], False, ()),
    # Keras's ConvLSTM on JAX fails to broadcast a (B, 1) mask over its
    # (B, *spatial, filters) states, so these run unmasked here (masks are
    # checked against a masked loop of our own LSTM in rnn_test.py).
    "conv_lstm1d": (
        lambda L, C: L.ConvLSTM1D(3, 3, padding="same", return_sequences=True),
        _CELL, False, ()),
    "conv_lstm2d_strides_back_state": (
        lambda L, C: L.ConvLSTM2D(
            2, 3, strides=2, go_backwards=True, return_state=True
        ),
        _CELL, False, ()),
    "conv_lstm2d_dilated_channels_first": (
        lambda L, C: L.ConvLSTM2D(
            2, 2, dilation_rate=2, data_format="channels_first", return_sequences=True
        ),
        _CELL, False, ()),
    "conv_lstm3d": (
        lambda L, C: L.ConvLSTM3D(2, 2, return_sequences=True), _CELL, False, ()),
}  # fmt: skip
_STEP_SHAPES = {  # a step's shape where it is not (5,)
    "conv_lstm1d": (7, 2),
    "conv_lstm2d_strides_back_state": (7, 7, 2),
    "conv_lstm2d_dilated_channels_first": (2, 6, 6),
    "conv_lstm3d": (3, 4, 3, 2),
}


def _inputs(case):
    rng = np.random.default_rng(len(case))
    x = rng.normal(size=(3, 6, *_STEP_SHAPES.get(case, (5,)))).astype(np.float32)
    states = [rng.normal(size=(3, n)).astype(np.float32) for n in CASES[case][3]]
    return x, (MASK if CASES[case][2] else None), states


def _keras_side(path):
    import keras

    cell = _minimal_cell(keras.layers.Layer, keras.ops)
    out = {}
    for case, (make, *_) in CASES.items():
        layer = make(keras.layers, cell)
        x, mask, states = _inputs(case)
        symbolic = keras.KerasTensor  # builds the layer without running it
        keywords = {"mask": None if mask is None else symbolic(mask.shape, "bool")}
        if states:
            keywords["initial_state"] = [symbolic(s.shape) for s in states]
        layer(symbolic(x.shape), **keywords)
        weights = [v.value for v in layer.trainable_variables]
        frozen = [v.value for v in layer.non_trainable_variables]

        def run(weights, x, states, layer=layer, frozen=frozen, mask=mask):
            more = {"initial_state": states} if states else {}
            y = layer.stateless_call(weights, frozen, x, mask=mask, **more)[0]
            return jax.tree.leaves(y)

        shapes = jax.eval_shape(run, weights, x, states)
        cots = [cotangent(case)(y.shape) for y in shapes]

        @jax.jit
        def forward_and_back(weights, x, states, run=run, cots=cots):
            ys, back = jax.vjp(run, weights, x, states)
            return ys, back([jnp.asarray(c) for c in cots])

        ys, grads = forward_and_back(weights, x, states)
        for i, y in enumerate(ys):
            out[f"{case}/y{i}"] = np.asarray(y)
        for i, (w, g) in enumerate(zip(weights, grads[0])):
            out[f"{case}/w{i}"], out[f"{case}/gw{i}"] = np.asarray(w), np.asarray(g)
        out[f"{case}/gx"] = np.asarray(grads[1])
        for i, g in enumerate(grads[2]):
            out[f"{case}/gs{i}"] = np.asarray(g)
    out |= _keras_stateful()
    out |= _keras_masked_models()
    np.savez(path, **out)


def _keras_stateful():
    import keras

    layer = keras.layers.LSTM(3, stateful=True, return_sequences=True)
    first, second = _stateful_batches()
    layer(first)
    layer.reset_states()
    out = {f"stateful/w{i}": np.asarray(v.value) for i, v in enumerate(layer.weights)}
    out["stateful/y1"] = np.asarray(layer(first))
    out["stateful/y2"] = np.asarray(layer(second))
    return out


PADDED = np.array(
    [[4, 2, 7, 0, 0, 0], [1, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 9]], np.int32
)


def _masked_model(L, mask_zero):
    """Padded ids through an embedding, a bidirectional LSTM over the
    sequence, a GRU on each step, pooling over the steps and a dense head
    (the same on both sides)."""
    return [
        L.Input((6,), dtype="int32"),
        L.Embedding(10, 4, mask_zero=mask_zero),
        L.Bidirectional(L.LSTM(3, return_sequences=True)),
        L.TimeDistributed(L.Dense(3)),
        L.GRU(3, return_sequences=True),
        L.GlobalAveragePooling1D(),
        L.Dense(2),
    ]


def _keras_masked_models():
    import keras

    out = {}
    for mask_zero in (True, False):
        model = keras.Sequential(_masked_model(keras.layers, mask_zero))
        if mask_zero:  # larger than Keras's initial weights: outputs of order 1
            weights = [3.0 * w for w in model.get_weights()]
        model.set_weights(weights)
        out[f"masked_model/y_{mask_zero}"] = np.asarray(
            model.predict(PADDED, verbose=0)
        )
    for i, w in enumerate(weights):
        out[f"masked_model/w{i}"] = w
    return out


def _stateful_batches():
    rng = np.random.default_rng(7)
    return [rng.normal(size=(2, 4, 5)).astype(np.float32) for _ in range(2)]


@pytest.fixture(scope="module")
def keras_side(tmp_path_factory):
    return keras_numbers(__file__, tmp_path_factory.mktemp("keras") / "rnn.npz")


def _params(paths, numbers, case):
    flat = {path: numbers[f"{case}/w{i}"] for i, path in enumerate(paths)}
    params: dict = {}
    for path, value in flat.items():
        *parents, leaf = path.split("/")
        node = params
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = jnp.asarray(value)
    return params


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_values_and_gradients(case, keras_side):
    make, paths, _, _ = CASES[case]
    layer = make(layers, _minimal_cell(layers.Layer, ops))
    x, mask, states = _inputs(case)
    params = _params(paths, keras_side, case)
    mine = layer.init(jax.random.key(0), x)
    assert jax.tree.map(np.shape, mine["params"]) == jax.tree.map(np.shape, params)

    def run(params, x, states):
        more = {"initial_state": states} if states else {}
        y, _ = layer.apply({"params": params, "state": {}}, x, mask=mask, **more)
        return jax.tree.leaves(y)

    ys = jax.jit(run)(params, x, states)
    assert len(ys) == len([k for k in keras_side if k.startswith(f"{case}/y")])
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y, keras_side[f"{case}/y{i}"], rtol=1e-5, atol=1e-5)
    cots = [cotangent(case)(y.shape) for y in ys]

    def loss(p, x, s):
        return sum(jnp.sum(y * c) for y, c in zip(run(p, x, s), cots))

    gp, gx, gs = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(params, x, states)
    np.testing.assert_allclose(gx, keras_side[f"{case}/gx"], rtol=1e-5, atol=1e-5)
    for i, g in enumerate(gs):
        np.testing.assert_allclose(g, keras_side[f"{case}/gs{i}"], rtol=1e-5, atol=1e-5)
    flat = {path: g for path, g in zip(paths, _leaves_in(paths, gp))}
    for i, path in enumerate(paths):
        want = keras_side[f"{case}/gw{i}"]
        np.testing.assert_allclose(flat[path], want, rtol=1e-5, atol=1e-5)


def _leaves_in(paths, tree):
    for path in paths:
        node = tree
        for part in path.split("/"):
            node = node[part]
        yield node


def test_stateful_lstm_carries_its_states_between_batches_as_keras(keras_side):
    layer = layers.LSTM(3, stateful=True, return_sequences=True)
    first, second = _stateful_batches()
    v = layer.init(jax.random.key(0), first)
    assert jax.tree.map(np.shape, v["state"]) == {
        "states": {"state_0": (2, 3), "state_1": (2, 3)}
    }
    v["params"] = _params(_CELL, keras_side, "stateful")
    y1, state = layer.apply(v, first)
    y2, _ = layer.apply({**v, "state": state}, second)
    np.testing.assert_allclose(y1, keras_side["stateful/y1"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y2, keras_side["stateful/y2"], rtol=1e-5, atol=1e-5)
    fresh, _ = layer.apply(v, second)
    assert not np.allclose(fresh, y2, atol=1e-3)  # the kept states matter


def test_masking_changes_a_models_outputs_exactly_as_keras(keras_side):
    import nn

    count = len([k for k in keras_side if k.startswith("masked_model/w")])
    weights = [keras_side[f"masked_model/w{i}"] for i in range(count)]
    for mask_zero in (True, False):
        model = nn.Sequential(_masked_model(layers, mask_zero))
        model.set_weights(weights)
        np.testing.assert_allclose(
            model.predict(PADDED),
            keras_side[f"masked_model/y_{mask_zero}"],
            rtol=1e-5,
            atol=1e-5,
        )
    masked, unmasked = (
        keras_side["masked_model/y_True"],
        keras_side["masked_model/y_False"],
    )
    assert np.abs(masked - unmasked)[:2].min() > 1e-3  # the padded rows change
