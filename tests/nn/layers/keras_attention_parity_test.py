"""Attention, AdditiveAttention, MultiHeadAttention and GroupQueryAttention
against Keras 3 on the same weights: outputs (and attention scores) and
gradients with respect to the weights and the inputs within 1e-5, with
query and value masks, causal masks, explicit masks and attention axes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers
from tests.keras_reference import cotangent, keras_numbers

_PROJECTIONS = [
    f"{part}/{w}" for part in ("query", "key", "value", "attention_output")
    for w in ("kernel", "bias")
]  # fmt: skip
_GROUPED = [
    f"{part}/{w}" for part in ("query", "key", "value", "output")
    for w in ("kernel", "bias")
]  # fmt: skip
_GATED = [
    f"{part}/{w}" for part in ("query", "key", "gate", "value", "attention_output")
    for w in ("kernel", "bias")
]  # fmt: skip
QUERY_MASK = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)
VALUE_MASK = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], bool)


def _data(case):
    rng = np.random.default_rng(len(case))
    shape_q, shape_v = (
        ((2, 3, 4, 6), (2, 3, 5, 6)) if "axes" in case else ((2, 4, 6), (2, 5, 6))
    )
    return (
        rng.normal(size=shape_q).astype(np.float32),
        rng.normal(size=shape_v).astype(np.float32),
        rng.normal(size=shape_v).astype(np.float32),
    )


def _explicit_mask():
    return np.random.default_rng(9).random((2, 4, 5)) > 0.3


# name: (make(L), (positional arguments, keyword arguments) from the data,
#        our parameter paths in Keras's weight order)
CASES = {
    "attention_masks_scores": (
        lambda L: L.Attention(),
        lambda q, v, k: (([q, v],), {"mask": [QUERY_MASK, VALUE_MASK],
                                     "return_attention_scores": True}),
        []),
    "attention_scaled_concat_causal_key": (
        lambda L: L.Attention(use_scale=True, score_mode="concat"),
        lambda q, v, k: (([q, v, k],), {"use_causal_mask": True}),
        ["scale", "concat_score_weight"]),
    "additive_value_mask": (
        lambda L: L.AdditiveAttention(),
        lambda q, v, k: (([q, v],), {"mask": [None, VALUE_MASK]}),
        ["scale"]),
    "additive_unscaled_scores": (
        lambda L: L.AdditiveAttention(use_scale=False),
        lambda q, v, k: (([q, v],), {"return_attention_scores": True}),
        []),
    # Keras's MultiHeadAttention reads the query's mask from the query tensor
    # and ignores query_mask=; the functional model below hands it over
    "mha_value_mask": (
        lambda L: L.MultiHeadAttention(2, 3),
        lambda q, v, k: ((q, v), {"value_mask": VALUE_MASK}),
        _PROJECTIONS),
    "mha_scores_causal_explicit": (
        lambda L: L.MultiHeadAttention(2, 3, value_dim=4),
        lambda q, v, k: ((q, v, k), {
            "attention_mask": _explicit_mask(), "use_causal_mask": True,
            "return_attention_scores": True}),
        _PROJECTIONS),
    # Keras's fused path fails when value_dim differs from key_dim (ours
    # does not: attention_test checks it against the unfused numbers)
    "mha_output_shape_key_mask": (
        lambda L: L.MultiHeadAttention(2, 3, output_shape=5),
        lambda q, v, k: ((q, v, k), {"key_mask": VALUE_MASK}),
        _PROJECTIONS),
    "mha_axes_one": (
        lambda L: L.MultiHeadAttention(2, 3, attention_axes=(2,)),
        lambda q, v, k: ((q, v), {"return_attention_scores": True}),
        _PROJECTIONS),
    "mha_axes_default": (
        lambda L: L.MultiHeadAttention(2, 3),
        lambda q, v, k: ((q[:, :, :3], v[:, :, :3]), {}),
        _PROJECTIONS),
    "mha_gate_window": (
        lambda L: L.MultiHeadAttention(2, 3, value_dim=4, use_gate=True,
                                       sliding_window=2),
        lambda q, v, k: ((q, v), {"value_mask": VALUE_MASK,
                                  "return_attention_scores": True}),
        _GATED),
    "mha_gate_causal_window_fused": (
        lambda L: L.MultiHeadAttention(2, 3, use_gate=True, sliding_window=3),
        lambda q, v, k: ((q, q), {"use_causal_mask": True}),
        _GATED),
    "gqa_masks": (
        lambda L: L.GroupQueryAttention(3, 4, 2),
        lambda q, v, k: ((q, v), {"query_mask": QUERY_MASK, "value_mask": VALUE_MASK}),
        _GROUPED),
    "gqa_gate_causal_window": (
        lambda L: L.GroupQueryAttention(3, 4, 2, use_gate=True, sliding_window=2),
        lambda q, v, k: ((q, q), {"use_causal_mask": True,
                                  "return_attention_scores": True}),
        [f"{part}/{w}" for part in ("query", "key", "gate", "value", "output")
         for w in ("kernel", "bias")]),
    "gqa_scores_causal": (
        lambda L: L.GroupQueryAttention(3, 4, 1, use_bias=False),
        lambda q, v, k: ((q, v, k), {"use_causal_mask": True,
                                     "return_attention_scores": True}),
        [p for p in _GROUPED if p.endswith("kernel")]),
}  # fmt: skip


def _floats(tree):
    return jax.tree.map(jnp.asarray, tree)


def _keras_side(path):
    import keras

    out = {}
    for case, (make, arguments, _) in CASES.items():
        layer = make(keras.layers)
        args, kwargs = arguments(*_data(case))
        layer(*args, **kwargs)
        weights = [v.value for v in layer.trainable_variables]
        frozen = [v.value for v in layer.non_trainable_variables]

        def run(w, a, layer=layer, frozen=frozen, kwargs=kwargs):
            return jax.tree.leaves(layer.stateless_call(w, frozen, *a, **kwargs)[0])

        ys = jax.jit(run)(weights, _floats(args))
        cots = [cotangent(case)(y.shape) for y in ys]

        def loss(w, a, run=run, cots=cots):
            return sum(jnp.sum(y * c) for y, c in zip(run(w, a), cots))

        gw, ga = jax.jit(jax.grad(loss, argnums=(0, 1)))(weights, _floats(args))
        for i, y in enumerate(ys):
            out[f"{case}/y{i}"] = np.asarray(y)
        for i, (w, g) in enumerate(zip(weights, gw)):
            out[f"{case}/w{i}"], out[f"{case}/gw{i}"] = np.asarray(w), np.asarray(g)
        for i, g in enumerate(jax.tree.leaves(ga)):
            out[f"{case}/ga{i}"] = np.asarray(g)
    out |= _keras_functional()
    np.savez(path, **out)


def _functional(L, Model, mask_zero=True):
    """A model where masks from an Embedding reach attention layers."""
    ids = L.Input((5,), dtype="int32")
    h = L.Embedding(8, 6, mask_zero=mask_zero)(ids)
    attended = L.MultiHeadAttention(2, 3)(h, h)
    dotted = L.Attention()([h, attended])
    pooled = L.GlobalAveragePooling1D()(dotted)
    return Model(ids, L.Dense(2)(pooled))


IDS = np.array([[3, 1, 4, 0, 0], [2, 7, 0, 0, 0], [5, 5, 5, 5, 5]], np.int32)


def _keras_functional():
    import keras

    keras.utils.set_random_seed(0)  # the same weights each run: the test's margins hold
    model = _functional(keras.layers, keras.Model)
    weights = [1.5 * w for w in model.get_weights()]
    model.set_weights(weights)
    out = {f"functional/w{i}": w for i, w in enumerate(weights)}
    out["functional/y"] = np.asarray(model.predict(IDS, verbose=0))
    return out


@pytest.fixture(scope="module")
def keras_side(tmp_path_factory):
    return keras_numbers(__file__, tmp_path_factory.mktemp("keras") / "attention.npz")


def _params(paths, numbers, case):
    params: dict = {}
    for i, path in enumerate(paths):
        *parents, leaf = path.split("/")
        node = params
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = jnp.asarray(numbers[f"{case}/w{i}"])
    return params


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_values_and_gradients(case, keras_side):
    make, arguments, paths = CASES[case]
    layer = make(layers)
    args, kwargs = arguments(*_data(case))
    mine = layer.init(sl.random.key(0), *args)
    params = _params(paths, keras_side, case)
    assert jax.tree.map(np.shape, mine["params"]) == jax.tree.map(np.shape, params)

    def run(p, a):
        return jax.tree.leaves(layer.apply({"params": p, "state": {}}, *a, **kwargs)[0])

    ys = jax.jit(run)(params, _floats(args))
    assert len(ys) == len([k for k in keras_side if k.startswith(f"{case}/y")])
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y, keras_side[f"{case}/y{i}"], rtol=1e-5, atol=1e-5)
    cots = [cotangent(case)(y.shape) for y in ys]

    def loss(p, a):
        return sum(jnp.sum(y * c) for y, c in zip(run(p, a), cots))

    gp, ga = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, _floats(args))
    for i, g in enumerate(jax.tree.leaves(ga)):
        np.testing.assert_allclose(g, keras_side[f"{case}/ga{i}"], rtol=1e-5, atol=1e-5)
    for i, path in enumerate(paths):
        node = gp
        for part in path.split("/"):
            node = node[part]
        np.testing.assert_allclose(
            node, keras_side[f"{case}/gw{i}"], rtol=1e-5, atol=1e-5
        )


def test_masks_reach_attention_layers_in_a_functional_model_as_in_keras(keras_side):
    model = _functional(layers, nn.Model)
    count = len([k for k in keras_side if k.startswith("functional/w")])
    weights = [keras_side[f"functional/w{i}"] for i in range(count)]
    model.set_weights(weights)
    np.testing.assert_allclose(
        model.predict(IDS), keras_side["functional/y"], rtol=1e-5, atol=1e-5
    )
    unmasked = _functional(layers, nn.Model, mask_zero=False)
    unmasked.set_weights(weights)
    changed = np.abs(unmasked.predict(IDS) - keras_side["functional/y"])
    assert changed[:2].min() > 1e-3 and changed[2].max() < 1e-5  # padded rows only
