"""The core layers of Keras's catalogue against Keras 3: EinsumDense over
each form of equation, Identity, Masking, Embedding on float ids and
ReversibleEmbedding both ways: same weights, same outputs, same gradients.

Keras's side runs once, in a subprocess on its JAX backend (see
tests/keras_reference.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nn import layers
from tests import keras_reference

# name: (layer class, keyword arguments, input shape)
CASES = {
    "einsum_matrix": ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 6,
                      "bias_axes": "c", "activation": "relu"}, (3, 4)),
    "einsum_sequence": ("EinsumDense", {"equation": "abc,cd->abd",
                        "output_shape": (None, 6), "bias_axes": "d"}, (2, 5, 4)),
    "einsum_heads": ("EinsumDense", {"equation": "abc,cde->abde",
                     "output_shape": (5, 2, 3), "bias_axes": "de"}, (2, 5, 4)),
    "einsum_left_ellipsis": ("EinsumDense", {"equation": "...b,bc->...c",
                             "output_shape": 6, "bias_axes": "c"}, (2, 3, 5, 4)),
    "einsum_right_ellipsis": ("EinsumDense", {"equation": "ab...,bc->ac...",
                              "output_shape": (6,), "bias_axes": "c"}, (2, 4, 5)),
    "einsum_no_bias": ("EinsumDense", {"equation": "abc,cd->abd",
                       "output_shape": (5, 3)}, (2, 5, 4)),
    "identity": ("Identity", {}, (2, 3)),
    "masking": ("Masking", {"mask_value": 0.5}, (2, 4, 3)),
}  # fmt: skip
IDS = np.array([[1.0, 4.0, 9.0], [0.0, 2.0, 2.0]], np.float32)


def _inputs(case):
    rng = np.random.default_rng(len(case))
    x = rng.normal(size=CASES[case][2]).astype(np.float32)
    if case == "masking":
        x[0, 1], x[1, 3] = 0.5, 0.5  # two padded steps
        x[1, 0, 0] = 0.5  # one value equal to the mask value, not a padded step
    return x


def _keras_side(path):
    import keras

    out = keras_reference.catalogue_numbers(CASES, _inputs)
    embedding = keras.layers.Embedding(10, 4)
    out["embedding/y"] = np.asarray(embedding(IDS))
    out["embedding/table"] = np.asarray(embedding.embeddings.value)
    for tied in (True, False):
        layer = keras.layers.ReversibleEmbedding(
            10, 4, tie_weights=tied, logit_soft_cap=2.0
        )
        layer.build((2, 3))
        hidden = np.asarray(layer(IDS.astype("int32")))
        weights = [v.value for v in layer.trainable_variables]

        def reverse(weights, x, layer=layer):
            return layer.stateless_call(weights, [], x, reverse=True)[0]

        logits = reverse(weights, hidden)
        grads = jax.grad(lambda w, x: jnp.sum(jnp.sin(reverse(w, x))))(weights, hidden)
        case = f"reversible_{tied}"
        out[f"{case}/hidden"], out[f"{case}/logits"] = hidden, np.asarray(logits)
        for v, w, g in zip(layer.trainable_variables, weights, grads):
            out[f"{case}/w/{v.name}"], out[f"{case}/g/{v.name}"] = w, np.asarray(g)
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_numbers(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "core.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_match_keras(case, keras_numbers):
    keras_reference.assert_case_matches_keras(CASES, case, _inputs, keras_numbers)


def test_embedding_takes_float_ids_as_keras_does(keras_numbers):
    layer = layers.Embedding(10, 4)
    v = {"params": {"embeddings": keras_numbers["embedding/table"]}, "state": {}}
    y, _ = layer.apply(v, IDS)
    np.testing.assert_array_equal(y, keras_numbers["embedding/y"])
    np.testing.assert_array_equal(y, layer.apply(v, IDS.astype(np.int32))[0])
    with pytest.raises(Exception, match="integer-valued float"):
        layer.apply(v, IDS > 1)


@pytest.mark.parametrize("tied", [True, False])
def test_reversible_embedding_matches_keras_both_ways(keras_numbers, tied):
    case = f"reversible_{tied}"
    layer = layers.ReversibleEmbedding(10, 4, tie_weights=tied, logit_soft_cap=2.0)
    prefix = f"{case}/w/"
    params = {
        k[len(prefix) :]: v for k, v in keras_numbers.items() if k.startswith(prefix)
    }
    ours = layer.init(jax.random.key(0), IDS)["params"]
    assert jax.tree.map(np.shape, ours) == jax.tree.map(np.shape, params)
    hidden, _ = layer.apply({"params": params, "state": {}}, IDS)
    np.testing.assert_allclose(hidden, keras_numbers[f"{case}/hidden"], atol=1e-6)

    def reverse(p, x):
        return layer.apply({"params": p, "state": {}}, x, reverse=True)[0]

    logits = reverse(params, hidden)
    np.testing.assert_allclose(logits, keras_numbers[f"{case}/logits"], atol=1e-5)
    grads = jax.grad(lambda p, x: jnp.sum(jnp.sin(reverse(p, x))))(params, hidden)
    for name, g in grads.items():
        np.testing.assert_allclose(g, keras_numbers[f"{case}/g/{name}"], atol=1e-5)
    assert float(jnp.abs(logits).max()) < 2.0  # the soft cap
