"""Add and Concatenate against NumPy."""

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
    with pytest.raises(ShapeError, match="add: arguments of shapes"):
        layers.Add().apply(V0, [jnp.ones((2, 3)), jnp.ones((2, 4))])
