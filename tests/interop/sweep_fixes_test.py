"""Cases a sweep over `jax.numpy` and `lax` found wrong or crashing on a
target, each against JAX's own result, and the errors that must say what to
do: typed PRNG keys, a primitive without a rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf
import torch

import interop

MATRIX = np.arange(12, dtype=np.float32).reshape(3, 4)

CASES = {
    "set_one_element": (lambda x: x.at[1, 2].set(7.0), (MATRIX,)),
    "add_at_every_dimension": (lambda x: x.at[2, 0].add(1.5), (MATRIX,)),
    "quantile": (lambda x: jnp.quantile(x, 0.3), (MATRIX,)),
    "median_of_rows": (lambda x: jnp.median(x, axis=1), (MATRIX,)),
    "reduce_xor_int32": (
        lambda v: jax.lax.reduce_xor(v, (0,)),
        (np.array([[3, 1], [5, 7], [6, 4]], np.int32),),
    ),
    "reduce_xor_bool": (
        lambda v: jax.lax.reduce_xor(v, (1,)),
        (np.array([[True, True, False], [True, False, False]]),),
    ),
    "argmax_nan": (
        lambda v: jnp.argmax(v, axis=1),
        (np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 2.0, 9.0, 1.0]], np.float32),),
    ),
    "argmin_nan": (
        lambda v: jnp.argmin(v, axis=0),
        (np.array([[1.0, 2.0], [np.nan, -5.0], [np.nan, 0.0]], np.float32),),
    ),
    "argmin_bool": (
        lambda v: jnp.argmin(v, axis=1),
        (np.array([[True, False, True], [True, True, True]]),),
    ),
    "argmax_bool": (
        lambda v: jnp.argmax(v, axis=0),
        (np.array([[False, True], [True, False], [True, True]]),),
    ),
}

CONVERT = {"torch": torch.tensor, "tensorflow": tf.constant}


@pytest.mark.parametrize("backend", sorted(CONVERT))
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_target_gives_jax_s_values_and_dtype(case, backend):
    fn, args = CASES[case]
    want = np.asarray(fn(*map(jnp.asarray, args)))
    lowered = interop.lower(fn, *args, backend=backend)
    got = np.asarray(lowered(*(CONVERT[backend](np.asarray(a)) for a in args)))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", sorted(CONVERT))
def test_a_typed_prng_key_says_how_to_pass_raw_key_data(backend):
    def noisy(key, x):
        return x + jax.random.uniform(key, x.shape)

    with pytest.raises(interop.LoweringError) as caught:
        interop.lower(noisy, jax.random.key(0), MATRIX, backend=backend)
    message = str(caught.value)
    assert "typed PRNG key" in message and "jax.random.key_data" in message
    raw = jax.random.key_data(jax.random.key(0))
    lowered = interop.lower(
        lambda data, x: noisy(jax.random.wrap_key_data(data), x),
        raw, MATRIX, backend=backend,
    )  # fmt: skip
    got = lowered(CONVERT[backend](np.asarray(raw)), CONVERT[backend](MATRIX))
    np.testing.assert_allclose(
        np.asarray(got), noisy(jax.random.key(0), MATRIX), rtol=1e-6
    )


def test_variables_holding_a_typed_key_are_refused_with_the_same_advice():
    from interop.tensorflow import to_tf
    from interop.torch import to_torch

    variables = {"params": {"w": MATRIX}, "state": {"rng": jax.random.key(3)}}
    for convert in (to_torch, to_tf):
        with pytest.raises(interop.LoweringError, match="jax.random.key_data"):
            convert(lambda v, x: x, variables)


def test_a_missing_rule_is_named_with_the_nearest_ones_in_a_few_lines():
    with pytest.raises(interop.LoweringError) as caught:
        interop.lower(jnp.fft.fft, MATRIX, backend="torch")
    message = str(caught.value)
    assert "'fft'" in message and "lower(fft)" in message
    assert len(message) < 400 and message.count("\n") <= 3
