"""Random numbers: explicit keys, generators, the global generator's trap under jit."""

import random as py_random
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from stateless import random
from stateless.errors import DTypeError, RandomStateError

SAMPLERS = {
    "uniform": lambda seed: random.uniform((64,), seed=seed),
    "normal": lambda seed: random.normal((64,), seed=seed),
    "truncated_normal": lambda seed: random.truncated_normal((64,), seed=seed),
    "randint": lambda seed: random.randint((64,), 0, 100, seed=seed),
    "bernoulli": lambda seed: random.bernoulli((64,), 0.5, seed=seed),
    "dropout": lambda seed: random.dropout(jnp.ones(64), 0.5, seed=seed),
    "shuffle": lambda seed: random.shuffle(jnp.arange(64), seed=seed),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_same_key_same_numbers_other_key_other_numbers(name):
    draw = SAMPLERS[name]
    a, b, c = draw(random.key(1)), draw(random.key(1)), draw(random.key(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(draw(1), a)  # an int seed is key(int)
    typed = jax.random.wrap_key_data(random.key(1))  # a typed key, same bits
    np.testing.assert_array_equal(draw(typed), a)
    np.testing.assert_array_equal(jax.jit(draw)(random.key(1)), a)


@pytest.mark.parametrize("name", SAMPLERS)
def test_global_generator_under_jit_raises_instead_of_baking_a_sample(name):
    with pytest.raises(
        RandomStateError, match=f"random.{name} .*traced by jax.jit.*explicit key"
    ):
        jax.jit(lambda: SAMPLERS[name](None))()


def test_seed_generator_under_jit_raises_too():
    gen = random.SeedGenerator(0)
    with pytest.raises(RandomStateError, match="random.normal"):
        jax.jit(lambda: random.normal((2,), seed=gen))()


def test_seed_generator_advances_and_reproduces():
    g1, g2 = random.SeedGenerator(3), random.SeedGenerator(3)
    first = [random.uniform((4,), seed=g1) for _ in range(3)]
    second = [random.uniform((4,), seed=g2) for _ in range(3)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])


def test_scope_rng_feeds_unseeded_draws_inside_jit():
    def draw_two(rng):
        with sl.StatelessScope(rng=rng):
            return random.normal((8,)), random.dropout(jnp.ones(8), 0.5)

    (a1, m1), (a2, m2) = (
        jax.jit(draw_two)(random.key(0)),
        jax.jit(draw_two)(random.key(0)),
    )
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(m1, m2)
    b, _ = jax.jit(draw_two)(random.key(1))
    assert not np.array_equal(a1, b)


def test_set_random_seed_reseeds_python_numpy_global_and_loaded_torch():
    import torch

    def draws():
        return (
            py_random.random(),
            np.random.rand(),
            float(random.uniform(())[()]),
            float(torch.rand(())),
        )

    sl.set_random_seed(11)
    first = draws()
    sl.set_random_seed(11)
    assert draws() == first
    assert random.uniform(()) != random.uniform(())  # the global generator advances


def test_set_random_seed_seeds_tensorflow_when_loaded():
    import tensorflow as tf

    sl.set_random_seed(5)
    a = tf.random.uniform((3,)).numpy()
    sl.set_random_seed(5)
    np.testing.assert_array_equal(tf.random.uniform((3,)).numpy(), a)


def test_set_random_seed_does_not_import_torch_or_tensorflow():
    code = (
        "import sys, stateless as sl; sl.set_random_seed(1); "
        "print([m for m in ('torch', 'tensorflow') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_distributions_have_their_stated_properties():
    k = random.key(0)
    u = random.uniform((20000,), 2.0, 5.0, seed=k)
    assert 2.0 <= float(u.min()) and float(u.max()) < 5.0
    n = random.normal((20000,), 1.0, 3.0, seed=k)
    assert abs(float(n.mean()) - 1.0) < 0.1 and abs(float(n.std()) - 3.0) < 0.1
    t = random.truncated_normal((20000,), 0.0, 2.0, seed=k)
    assert float(jnp.abs(t).max()) <= 4.0
    r = random.randint((20000,), -3, 3, "int8", seed=k)
    assert r.dtype == jnp.int8 and set(np.unique(r)) == set(range(-3, 3))
    assert abs(float(random.bernoulli((20000,), 0.3, seed=k).mean()) - 0.3) < 0.02


def test_dropout_keeps_the_expected_fraction_scaled_and_follows_noise_shape():
    y = random.dropout(jnp.ones((200, 100)), 0.25, seed=random.key(0))
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(float((y == 0).mean()) - 0.25) < 0.02
    channels = random.dropout(jnp.ones((4, 10, 6)), 0.5, noise_shape=(4, 1, 6), seed=1)
    assert bool((channels == channels[:, :1, :]).all())  # whole channels dropped
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        random.dropout(jnp.ones(3), 1.0, seed=1)


def test_shuffle_permutes_rows_along_an_axis():
    x = jnp.arange(12).reshape(3, 4)
    y = random.shuffle(x, axis=1, seed=random.key(4))
    assert sorted(y[0].tolist()) == [0, 1, 2, 3]
    perm = y - x[:, :1]  # row r holds 4r + perm
    np.testing.assert_array_equal(perm, np.broadcast_to(perm[0], (3, 4)))


def test_bad_dtypes_and_seeds_are_refused_by_name():
    with pytest.raises(DTypeError, match="random.uniform: dtype must be a float"):
        random.uniform((2,), dtype="int32", seed=0)
    with pytest.raises(DTypeError, match="random.randint: dtype must be an integer"):
        random.randint((2,), 0, 3, dtype="float32", seed=0)
    with pytest.raises(TypeError, match="random.normal: seed must be a key"):
        random.normal((2,), seed=jnp.zeros(3))
