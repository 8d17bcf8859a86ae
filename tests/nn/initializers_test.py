"""Initializers: names, statistics by fan, orthogonality, config round trip."""

import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from nn import initializers


@pytest.mark.parametrize(
    "name, shape, std",
    [
        ("he_normal", (200, 300), np.sqrt(2 / 200)),
        ("lecun_normal", (3, 3, 40, 64), np.sqrt(1 / 360)),
        ("glorot_uniform", (300, 200), np.sqrt(2 / 500)),
        ("he_uniform", (400, 100), np.sqrt(2 / 400)),
    ],
)
def test_variance_scaling_standard_deviations_follow_the_fan(name, shape, std):
    w = initializers.get(name)(sl.random.key(0), shape)
    assert w.shape == shape and w.dtype == jnp.float32
    assert float(w.std()) == pytest.approx(std, rel=0.05)
    assert abs(float(w.mean())) < 0.1 * std


def test_constant_zeros_ones_and_orthogonal():
    k = sl.random.key(0)
    assert initializers.get("zeros")(k, (2,)).tolist() == [0.0, 0.0]
    assert initializers.get("ones")(k, (2,)).tolist() == [1.0, 1.0]
    w = initializers.get("orthogonal")(k, (6, 4))
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-5)


def test_unknown_names_list_the_valid_ones_and_configs_round_trip():
    with pytest.raises(ValueError, match="unknown initializer 'xavier'. Valid names"):
        initializers.get("xavier")
    init = initializers.RandomNormal(1.0, 0.5)
    assert type(init).from_config(init.get_config()) == init
    assert float(init(sl.random.key(0), (5000,)).mean()) == pytest.approx(1.0, abs=0.05)
