"""Dataset: batching, per-epoch seeded shuffling, generators, take and split."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from train.data import Dataset

DIGITS = load_digits()
X, Y = DIGITS.data.astype(np.float32), DIGITS.target  # (1797, 64), (1797,)


def _concat(batches, part):
    return np.concatenate([batch[part] for batch in batches])


def test_unshuffled_batches_are_the_arrays_in_order():
    ds = Dataset.from_arrays(X, Y, batch_size=100)
    batches = list(ds)
    assert len(ds) == ds.cardinality == 18 and ds.num_examples == 1797
    assert [b[0].shape for b in batches] == [(100, 64)] * 17 + [(97, 64)]
    assert all(len(b) == 2 and b[0].dtype == np.float32 for b in batches)
    np.testing.assert_array_equal(_concat(batches, 0), X)
    np.testing.assert_array_equal(_concat(batches, 1), Y)


def test_drop_remainder_drops_the_short_last_batch():
    ds = Dataset.from_arrays(X, Y, batch_size=100, drop_remainder=True)
    assert len(ds) == 17 and ds.num_examples == 1700
    np.testing.assert_array_equal(_concat(list(ds), 0), X[:1700])


def test_x_only_and_sample_weight_give_one_and_three_part_batches():
    weights = np.linspace(0, 1, len(Y))
    ((x,),) = Dataset.from_arrays(X[:5], batch_size=8)
    np.testing.assert_array_equal(x, X[:5])
    x, y, w = next(iter(Dataset.from_arrays(X, Y, weights, batch_size=8)))
    np.testing.assert_array_equal(w, weights[:8])
    with pytest.raises(ValueError, match="sample_weight needs y"):
        Dataset.from_arrays(X, sample_weight=weights)


def test_nested_dicts_and_tuples_keep_their_structure_and_rows_stay_aligned():
    x = {"pixels": X, "pair": (Y * 2, DIGITS.images)}
    ds = Dataset.from_arrays(x, Y, batch_size=64, shuffle=True, seed=3)
    for bx, by in ds:
        assert set(bx) == {"pixels", "pair"} and isinstance(bx["pair"], tuple)
        np.testing.assert_array_equal(bx["pair"][0], by * 2)
        np.testing.assert_array_equal(bx["pair"][1].reshape(-1, 64), bx["pixels"])


def test_mismatched_first_axes_name_each_array():
    with pytest.raises(ValueError, match=r"x\['a'\] has 1797, y has 100"):
        Dataset.from_arrays({"a": X}, Y[:100])
    with pytest.raises(ValueError, match=r"x\[1\] is a scalar"):
        Dataset.from_arrays((X, 3.0))


def _epoch(ds, epoch):
    return [b[1] for b in ds.batches(epoch)]


def test_shuffling_is_reproducible_from_the_seed_and_new_each_epoch():
    a = Dataset.from_arrays(X, Y, batch_size=128, shuffle=True, seed=7)
    b = Dataset.from_arrays(X, Y, batch_size=128, shuffle=True, seed=7)
    a0, a1 = [_concat(list(a), 1) for _ in range(2)]  # iter() advances the epoch
    b0, b1 = [_concat(list(b), 1) for _ in range(2)]
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a0, a1)
    np.testing.assert_array_equal(np.sort(a0), np.sort(Y))  # a permutation
    np.testing.assert_array_equal(np.concatenate(_epoch(a, 1)), a1)
    other = Dataset.from_arrays(X, Y, batch_size=128, shuffle=True, seed=8)
    assert not np.array_equal(_concat(list(other), 1), a0)
    rows = Dataset.from_arrays(X, np.arange(len(X)), batch_size=500, shuffle=True)
    for x, index in rows:  # rows stay aligned: each x is the row its y names
        np.testing.assert_array_equal(x, X[index])


def test_unseeded_shuffling_still_differs_per_epoch():
    ds = Dataset.from_arrays(X, Y, batch_size=2000, shuffle=True)
    first, second = next(iter(ds))[1], next(iter(ds))[1]
    assert not np.array_equal(first, second)


def test_invalid_batch_size_and_seed():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        Dataset.from_arrays(X, batch_size=0)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        Dataset.from_arrays(X, shuffle=True, seed=-1)


def test_from_generator_calls_fn_for_each_epoch_and_has_no_length():
    calls = []

    def batches():
        calls.append(1)
        for start in range(0, 30, 10):
            yield [X[start : start + 10], Y[start : start + 10]]  # a list: (x, y)

    ds = Dataset.from_generator(batches)
    for _ in range(2):
        got = list(ds)
        np.testing.assert_array_equal(_concat(got, 1), Y[:30])
    assert len(calls) == 2 and ds.cardinality is None
    with pytest.raises(TypeError, match="unknown.*cardinality"):
        len(ds)
    assert len(list(Dataset.from_generator(batches, cardinality=3))) == 3


def test_from_generator_rejects_a_generator_object_and_long_tuples():
    with pytest.raises(TypeError, match="fresh iterator each epoch"):
        Dataset.from_generator(x for x in [])
    ds = Dataset.from_generator(lambda: [(X, Y, Y, Y)])
    with pytest.raises(ValueError, match="received a tuple of 4 items"):
        list(ds)


def test_take_keeps_the_first_batches_of_each_epoch():
    ds = Dataset.from_arrays(X, Y, batch_size=100, shuffle=True, seed=1)
    taken = ds.take(3)
    assert (taken.cardinality, taken.num_examples, taken.batch_size) == (3, 300, 100)
    for epoch in range(2):
        full, short = _epoch(ds, epoch), _epoch(taken, epoch)
        assert len(short) == 3
        np.testing.assert_array_equal(np.concatenate(short), np.concatenate(full[:3]))
    assert ds.take(50).cardinality == 18 and ds.take(50).num_examples == 1797
    assert Dataset.from_generator(lambda: []).take(2).cardinality is None


def test_split_takes_the_last_fraction_unshuffled_like_keras():
    ds = Dataset.from_arrays(X, Y, batch_size=64, shuffle=True, seed=0)
    train, val = ds.split(0.25)
    at = int(np.floor(1797 * 0.75))
    assert (train.num_examples, val.num_examples) == (at, 1797 - at)
    np.testing.assert_array_equal(_concat(list(val), 0), X[at:])
    np.testing.assert_array_equal(_concat(list(val), 1), Y[at:])
    train_y = _concat(list(train), 1)
    assert not np.array_equal(train_y, Y[:at])  # still shuffled
    np.testing.assert_array_equal(np.sort(train_y), np.sort(Y[:at]))


def test_split_errors():
    with pytest.raises(ValueError, match="too few to split"):
        Dataset.from_arrays(X[:3]).split(0.9)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\)"):
        Dataset.from_arrays(X).split(1.0)
    with pytest.raises(ValueError, match="only a Dataset built by from_arrays"):
        Dataset.from_generator(lambda: []).split(0.2)
