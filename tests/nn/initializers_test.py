"""Initializers: Keras's names and class names draw Keras's statistics,
fans, orthogonality, seeds that fix the values, and config round trips."""

import inspect

import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from nn import initializers, layers, registry
from tests.keras_reference import keras_numbers


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


KERAS_NAMES = [
    "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal",
    "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal",
    "Identity",
]  # fmt: skip


def _keras_side(path):
    import keras

    numbers = {}
    for name in KERAS_NAMES:
        cls = getattr(keras.initializers, name)
        seeded = "seed" in inspect.signature(cls).parameters
        w = np.asarray((cls(seed=0) if seeded else cls())((200, 300)))
        numbers[name] = np.array([w.mean(), w.std(), abs(w).max()])
    np.savez(path, **numbers)


def _snake(name):
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@pytest.fixture(scope="module")
def keras_stats(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "initializers.npz"
    return keras_numbers(__file__, path)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_keras_names_draw_keras_statistics(keras_stats, name):
    for spelling in (name, _snake(name)):
        w = np.asarray(initializers.get(spelling)(sl.random.key(1), (200, 300)))
        mean, std, top = (float(v) for v in keras_stats[name])
        assert w.mean() == pytest.approx(mean, abs=0.02 * std + 1e-7), spelling
        assert w.std() == pytest.approx(std, rel=0.03, abs=1e-7), spelling
        # the largest entry is a noisy statistic of a draw
        assert abs(w).max() == pytest.approx(top, rel=0.2, abs=1e-7), spelling
        assert type(initializers.get(spelling)).__name__ == name


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_class_round_trips_its_config(name):
    cls = getattr(initializers, name)
    init = cls(seed=4) if "seed" in cls.__dataclass_fields__ else cls()
    again = initializers.get(registry.deserialize(registry.serialize(init)))
    assert again == init
    k = sl.random.key(2)
    np.testing.assert_array_equal(init(k, (3, 3)), again(k, (3, 3)))


def test_a_seed_fixes_the_values_whatever_the_key_and_keras_call_order_works():
    seeded = initializers.HeNormal(seed=5)
    first = seeded(sl.random.key(0), (4, 6))
    np.testing.assert_array_equal(first, seeded(sl.random.key(1), (4, 6)))
    np.testing.assert_array_equal(first, seeded((4, 6)))  # Keras's order
    assert not np.array_equal(first, initializers.HeNormal(seed=6)((4, 6)))
    assert seeded((4, 6), "bfloat16").dtype == jnp.bfloat16
    layer = layers.Dense(6, kernel_initializer=seeded)
    kernel = layer.init(sl.random.key(9), jnp.ones((2, 4)))["params"]["kernel"]
    np.testing.assert_array_equal(kernel, first)


def test_truncated_normal_is_keras_truncated_normal_not_a_variance_scaling():
    w = initializers.get("truncated_normal")(sl.random.key(0), (400, 500))
    assert float(abs(w).max()) <= 0.1 + 1e-6  # two stddevs of 0.05
    assert float(w.std()) == pytest.approx(0.05 * 0.8796, rel=0.03)
    with pytest.raises(ValueError, match="distribution must be one of"):
        initializers.VarianceScaling(distribution="cauchy")((2, 2))
