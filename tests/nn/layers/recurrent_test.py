"""LSTM and GRU against plain NumPy loops over time with Keras's equations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import nn
import stateless as sl
from nn import layers
from nn.layers.recurrent import GRU, LSTM
from nn.regularizers import L1L2
from stateless.errors import ShapeError
from tests.nn.harness import check_layer

_rng = np.random.default_rng(0)
MASK = np.array([[1, 0, 1, 1, 0], [0, 1, 1, 0, 1]], bool)  # (B, T) = (2, 5)


def _x(*shape):
    return jnp.asarray(_rng.standard_normal(shape), jnp.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _variables(layer, *inputs):
    """Random variables of `init`'s shapes (biases not zero; nothing compiled)."""
    shapes = jax.eval_shape(layer.init, sl.random.key(0), *inputs)
    return jax.tree.map(lambda w: _x(*w.shape) * 0.5, shapes)


def _np(params):
    return {k: np.asarray(w, np.float64) for k, w in params.items()}


def _loop(step, states, x, mask, go_backwards):
    """Keras's masked recurrence: masked steps keep the states; output is h."""
    x, steps = np.asarray(x, np.float64), x.shape[1]
    mask = np.ones(x.shape[:2], bool) if mask is None else np.asarray(mask)
    outputs = []
    for t in reversed(range(steps)) if go_backwards else range(steps):
        new = step(x[:, t], *states)
        states = [np.where(mask[:, t, None], n, s) for n, s in zip(new, states)]
        outputs.append(states[0])
    return np.stack(outputs, 1), states


def lstm_reference(params, x, mask=None, states=None, go_backwards=False):
    p = _np(params)
    u = p["recurrent_kernel"].shape[0]
    bias = p.get("bias", np.zeros(4 * u))

    def step(x_t, h, c):
        z = x_t @ p["kernel"] + h @ p["recurrent_kernel"] + bias
        i, f = _sigmoid(z[:, :u]), _sigmoid(z[:, u : 2 * u])
        g, o = np.tanh(z[:, 2 * u : 3 * u]), _sigmoid(z[:, 3 * u :])
        c = f * c + i * g
        return o * np.tanh(c), c

    zeros = np.zeros((x.shape[0], u))
    return _loop(step, states or [zeros, zeros], x, mask, go_backwards)


def gru_reference(params, x, reset_after, mask=None, states=None, go_backwards=False):
    p = _np(params)
    w, rec = p["kernel"], p["recurrent_kernel"]
    u = rec.shape[0]
    bias = p.get("bias", np.zeros((2, 3 * u) if reset_after else 3 * u))
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    z_, r_, h_ = slice(0, u), slice(u, 2 * u), slice(2 * u, 3 * u)

    def step(x_t, h):
        x_z = x_t @ w[:, z_] + b_in[z_]
        x_r = x_t @ w[:, r_] + b_in[r_]
        x_h = x_t @ w[:, h_] + b_in[h_]
        z = _sigmoid(x_z + h @ rec[:, z_] + b_rec[z_])
        r = _sigmoid(x_r + h @ rec[:, r_] + b_rec[r_])
        if reset_after:
            hh = np.tanh(x_h + r * (h @ rec[:, h_] + b_rec[h_]))
        else:
            hh = np.tanh(x_h + (r * h) @ rec[:, h_])
        return (z * h + (1 - z) * hh,)

    return _loop(step, states or [np.zeros((x.shape[0], u))], x, mask, go_backwards)


def _reference(layer, params, x, **kwargs):
    if isinstance(layer, LSTM):
        return lstm_reference(params, x, **kwargs)
    return gru_reference(params, x, layer.reset_after, **kwargs)


LAYERS = {
    "lstm": LSTM(3, return_sequences=True, return_state=True),
    "lstm_no_bias": LSTM(3, use_bias=False, return_sequences=True, return_state=True),
    "gru": GRU(3, return_sequences=True, return_state=True),
    "gru_no_bias": GRU(3, use_bias=False, return_sequences=True, return_state=True),
    "gru_reset_before": GRU(
        3, reset_after=False, return_sequences=True, return_state=True
    ),
}


@pytest.mark.parametrize(
    "layer, expected",
    [
        (LSTM(3, return_state=True), (2, 3)),
        (
            GRU(3, reset_after=False, go_backwards=True, return_sequences=True),
            (2, 5, 3),
        ),
    ],
)
def test_check_layer(layer, expected):
    x = _x(2, 5, 4)
    check_layer(layer, x, expected_shape=expected, wrong_input=x[..., :2])


@pytest.mark.parametrize("name", LAYERS)
def test_matches_numpy_with_and_without_mask(name):
    layer, x = LAYERS[name], _x(2, 5, 4)
    v = _variables(layer, x)
    for mask in (None, MASK):
        (y, *states), _ = layer.apply(v, x, mask=mask)
        ref_y, ref_states = _reference(layer, v["params"], x, mask=mask)
        np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5)
        assert len(states) == len(ref_states) == (2 if name.startswith("lstm") else 1)
        for state, ref in zip(states, ref_states):
            np.testing.assert_allclose(state, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_masked_steps_keep_state_and_repeat_output(name):
    layer, x = LAYERS[name], _x(2, 5, 4)
    v = _variables(layer, x)
    (y, *final), _ = layer.apply(v, x, mask=MASK)
    y = np.asarray(y)
    np.testing.assert_array_equal(y[1, 0], np.zeros(3))  # masked first step: h0
    for b, t in zip(*np.nonzero(~MASK[:, 1:])):
        np.testing.assert_array_equal(y[b, t + 1], y[b, t])
    for b in range(2):  # same as running on only the unmasked steps
        (_, *kept), _ = layer.apply(v, x[b : b + 1, MASK[b]])
        for state, ref in zip(final, kept):
            np.testing.assert_allclose(state[b], ref[0], rtol=1e-5, atol=1e-6)
    (_, *unmasked), _ = layer.apply(v, x)
    assert not np.allclose(final[0], unmasked[0], atol=1e-3)


@pytest.mark.parametrize("name", ["lstm", "gru_reset_before"])
def test_go_backwards_reads_from_the_end_and_keeps_processing_order(name):
    layer, x = LAYERS[name], _x(2, 5, 4)
    backwards = type(layer)(**{**layer.get_config(), "go_backwards": True})
    v = _variables(layer, x)
    (y, *states), _ = backwards.apply(v, x, mask=MASK)
    (flipped, *flipped_states), _ = layer.apply(v, x[:, ::-1], mask=MASK[:, ::-1])
    np.testing.assert_allclose(y, flipped, rtol=1e-6, atol=1e-6)
    ref_y, ref_states = _reference(layer, v["params"], x, mask=MASK, go_backwards=True)
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(states[0], ref_states[0], rtol=1e-5, atol=1e-5)
    forward, _ = layer.apply(v, x, mask=MASK)
    assert not np.allclose(y, forward[0], atol=1e-3)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_initial_state(name):
    layer, x = LAYERS[name], _x(2, 5, 4)
    v = _variables(layer, x)
    states = [_x(2, 3) for _ in range(2 if name == "lstm" else 1)]
    (y, *final), _ = layer.apply(v, x, initial_state=states, mask=MASK)
    ref_y, ref_final = _reference(
        layer, v["params"], x, mask=MASK, states=[np.asarray(s) for s in states]
    )
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(final[-1], ref_final[-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y[1, 0], states[0][1])  # masked first step
    with pytest.raises(ValueError, match="expected .* arrays, received 3"):
        layer.apply(v, x, initial_state=[states[0]] * 3)
    with pytest.raises(ShapeError, match="initial_state"):
        layer.apply(v, x, initial_state=[s[:, :2] for s in states])


def test_gru_accepts_a_single_initial_state_array():
    layer, x = LAYERS["gru"], _x(2, 5, 4)
    v, h0 = _variables(layer, x), _x(2, 3)
    single, _ = layer.apply(v, x, initial_state=h0)
    listed, _ = layer.apply(v, x, initial_state=[h0])
    np.testing.assert_array_equal(single[0], listed[0])


def test_return_sequences_and_return_state_shapes():
    x = _x(2, 5, 4)
    for layer, shapes in [
        (LSTM(3), (2, 3)),
        (LSTM(3, return_state=True), [(2, 3)] * 3),
        (
            LSTM(3, return_sequences=True, return_state=True),
            [(2, 5, 3), (2, 3), (2, 3)],
        ),
        (GRU(3, return_sequences=True), (2, 5, 3)),
        (GRU(3, return_state=True), [(2, 3), (2, 3)]),
    ]:
        assert jax.tree.map(jnp.shape, layer.output_spec(x)) == shapes, layer


def test_last_output_is_the_last_sequence_output_and_the_state():
    layer, x = LAYERS["lstm"], _x(2, 5, 4)
    v = _variables(layer, x)
    (y, h, _), _ = layer.apply(v, x, mask=MASK)
    last, _ = LSTM(3).apply(v, x, mask=MASK)
    np.testing.assert_array_equal(last, y[:, -1])
    np.testing.assert_array_equal(last, h)


def test_initial_parameters_follow_keras():
    x = jax.ShapeDtypeStruct((2, 5, 4), jnp.float32)
    v = LSTM(3).init(sl.random.key(0), x)["params"]
    assert jax.tree.map(jnp.shape, v) == {
        "kernel": (4, 12),
        "recurrent_kernel": (3, 12),
        "bias": (12,),
    }
    np.testing.assert_array_equal(v["bias"], [0] * 3 + [1] * 3 + [0] * 6)
    rec = np.asarray(v["recurrent_kernel"])
    np.testing.assert_allclose(rec @ rec.T, np.eye(3), atol=1e-5)  # orthogonal
    no_forget = LSTM(3, unit_forget_bias=False).init(sl.random.key(0), x)
    np.testing.assert_array_equal(no_forget["params"]["bias"], np.zeros(12))
    assert GRU(3).init(sl.random.key(0), x)["params"]["bias"].shape == (2, 9)
    gru = GRU(3, reset_after=False, use_bias=False).init(sl.random.key(0), x)
    assert jax.tree.map(jnp.shape, gru["params"]) == {
        "kernel": (4, 9),
        "recurrent_kernel": (3, 9),
    }


@pytest.mark.parametrize("name", ["lstm", "gru", "gru_reset_before"])
def test_gradients(name):
    layer, x = LAYERS[name], _x(2, 4, 3)
    v = _variables(layer, x)

    def fn(params, x):
        (y, *_), _ = layer.apply({"params": params, "state": {}}, x, mask=MASK[:, :4])
        return y

    check_grads(
        jax.jit(fn),
        (v["params"], x),
        order=1,
        modes=("rev",),
        atol=2e-2,
        rtol=2e-2,
        eps=1e-2,
    )


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_jit_with_mask_and_initial_state(name):
    layer, x = LAYERS[name], _x(2, 5, 4)
    v = _variables(layer, x)
    states = [_x(2, 3) for _ in range(2 if name == "lstm" else 1)]

    def run(v, x, mask, states):
        return layer.apply(v, x, mask=mask, initial_state=states)[0]

    eager = run(v, x, jnp.asarray(MASK), states)
    jitted = jax.jit(run)(v, x, jnp.asarray(MASK), states)
    for a, b in zip(jitted, eager):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_mask_of_the_wrong_shape_raises():
    layer, x = LAYERS["gru"], _x(2, 5, 4)
    v = _variables(layer, x)
    with pytest.raises(ShapeError, match=r"GRU.*'mask': expected \(2, 5\)"):
        layer.apply(v, x, mask=MASK[:, :4])


def test_penalty_covers_kernel_recurrent_kernel_and_bias():
    layer = LSTM(
        3,
        kernel_regularizer=L1L2(l2=0.1),
        recurrent_regularizer="l1",
        bias_regularizer=L1L2(l1=0.5),
    )
    p = _np(_variables(layer, _x(2, 5, 4))["params"])
    expected = (
        0.1 * np.sum(p["kernel"] ** 2)
        + 0.01 * np.sum(np.abs(p["recurrent_kernel"]))
        + 0.5 * np.sum(np.abs(p["bias"]))
    )
    np.testing.assert_allclose(layer.penalty(p), expected, rtol=1e-6)
    assert GRU(3).penalty(p) == 0.0


def test_invalid_configs_raise():
    with pytest.raises(ValueError, match="units must be a positive int"):
        LSTM(0)
    with pytest.raises(ValueError, match="unknown activation"):
        GRU(3, recurrent_activation="sigmoidd")


def test_stacked_in_a_sequential_model():
    model = nn.Sequential(
        [layers.Input((5, 4)), LSTM(6, return_sequences=True), GRU(3)]
    )
    v = _variables(model)
    assert sorted(v["params"]) == ["gru", "lstm"]
    y, _ = model.apply(v, _x(2, 5, 4))
    assert y.shape == (2, 3)
