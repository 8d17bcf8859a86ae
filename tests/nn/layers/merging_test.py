"""The merging layers against NumPy, and their errors."""

import jax.numpy as jnp
import numpy as np
import pytest

from nn import layers
from stateless.errors import ShapeError

V0 = {"params": {}, "state": {}}


def test_add_sums_every_input():
    xs = [jnp.full((2, 3), float(i)) for i in range(1, 4)]
    y, _ = layers.Add().apply(V0, xs)
    np.testing.assert_array_equal(y, np.full((2, 3), 6.0))


def test_concatenate_joins_on_the_axis():
    a, b = jnp.ones((2, 3, 4)), jnp.zeros((2, 5, 4))
    y, _ = layers.Concatenate(axis=1).apply(V0, [a, b])
    np.testing.assert_array_equal(
        y, np.concatenate([np.ones((2, 3, 4)), np.zeros((2, 5, 4))], 1)
    )


def test_merging_errors_name_the_layer_and_shapes():
    with pytest.raises(
        ShapeError, match=r"Concatenate 'concatenate'.*\[\(2, 3\), \(4, 3\)\]"
    ):
        layers.Concatenate().apply(V0, [jnp.ones((2, 3)), jnp.ones((4, 3))])
    with pytest.raises(
        ValueError, match="Add 'add': expected a list of at least 2 inputs"
    ):
        layers.Add().apply(V0, jnp.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"Add 'add': inputs of shapes.*\(2, 4\)"):
        layers.Add().apply(V0, [jnp.ones((2, 3)), jnp.ones((2, 4))])
    with pytest.raises(ValueError, match="exactly 2 inputs, received 3 inputs"):
        layers.Subtract().apply(V0, [jnp.ones((2, 3))] * 3)
    with pytest.raises(ShapeError, match=r"Dot 'dot'.*axes \(1, 1\)"):
        layers.Dot(1).apply(V0, [jnp.ones((2, 3)), jnp.ones((2, 4))])
    with pytest.raises(ShapeError, match="other than the batch axis 0"):
        layers.Dot(0).apply(V0, [jnp.ones((2, 3)), jnp.ones((2, 3))])
    with pytest.raises(ValueError, match="axes must be an int or a pair"):
        layers.Dot((1, 2, 3))


def test_elementwise_merges_match_numpy():
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(2, 3)).astype(np.float32) for _ in range(3))
    for layer, want in [
        (layers.Subtract(), a - b),
        (layers.Multiply(), a * b * c),
        (layers.Average(), (a + b + c) / 3),
        (layers.Maximum(), np.maximum(np.maximum(a, b), c)),
        (layers.Minimum(), np.minimum(np.minimum(a, b), c)),
    ]:
        inputs = [a, b] if isinstance(layer, layers.Subtract) else [a, b, c]
        np.testing.assert_allclose(layer.apply(V0, inputs)[0], want, rtol=1e-6)


def test_lower_rank_inputs_gain_axes_after_the_batch_axis():
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    b = np.ones((2, 4, 3), np.float32)
    y, _ = layers.Add().apply(V0, [a, b])
    np.testing.assert_array_equal(y, a[:, None, :] + b)


def test_dot_contracts_one_axis_of_each_example():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    y = rng.normal(size=(2, 4, 5)).astype(np.float32)
    out, _ = layers.Dot(axes=(1, 2)).apply(V0, [x, y])
    np.testing.assert_allclose(out, np.einsum("bia,bci->bac", x, y), rtol=1e-5)
    v, w = x[:, :, 0], y[:, 0, :]
    cosine, _ = layers.Dot(axes=1, normalize=True).apply(V0, [v, w])
    want = np.sum(v * w, 1) / np.linalg.norm(v, axis=1) / np.linalg.norm(w, axis=1)
    np.testing.assert_allclose(cosine, want[:, None], rtol=1e-5)


def test_functional_forms_build_the_layers():
    x, y = layers.Input((3,)), layers.Input((3,))
    assert layers.add([x, y]).shape == (None, 3)
    assert layers.concatenate([x, y], axis=1).shape == (None, 6)
    assert layers.dot([x, y], axes=1).shape == (None, 1)
    a, b = jnp.full((1, 2), 4.0), jnp.full((1, 2), 2.0)
    for merge, want in [
        (layers.subtract, 2.0), (layers.multiply, 8.0), (layers.average, 3.0),
        (layers.maximum, 4.0), (layers.minimum, 2.0), (layers.add, 6.0),
    ]:  # fmt: skip
        np.testing.assert_array_equal(merge([a, b]), np.full((1, 2), want))
