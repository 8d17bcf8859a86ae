"""prefetch: order kept, errors raised in the consumer, no thread left behind."""

import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_digits

from train.data import Dataset, prefetch

DIGITS = load_digits()


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "train.data.prefetch"]


@pytest.fixture(autouse=True)
def _no_thread_outlives_a_test():
    yield
    assert _prefetch_threads() == []


def test_yields_the_same_batches_in_order():
    ds = Dataset.from_arrays(DIGITS.data, DIGITS.target, batch_size=64)
    got = list(prefetch(ds, buffer_size=3))
    expected = list(ds)
    assert len(got) == len(expected) == 29
    for (gx, gy), (ex, ey) in zip(got, expected):
        np.testing.assert_array_equal(gx, ex)
        np.testing.assert_array_equal(gy, ey)


def test_the_producer_runs_ahead_of_the_consumer_but_no_further_than_the_buffer():
    produced = []
    second_made = threading.Event()

    def source():
        for i in range(100):
            produced.append(i)
            if i == 1:
                second_made.set()
            yield i

    items = prefetch(source(), buffer_size=2)
    assert next(items) == 0
    # item 1 is made while the consumer still holds item 0: work overlaps
    assert second_made.wait(timeout=5)
    time.sleep(0.2)
    # 2 queued, 1 held by the blocked producer, 1 consumed
    assert len(produced) <= 4
    items.close()


def test_a_producer_error_is_raised_in_the_consumer_after_the_good_items():
    def source():
        yield from range(3)
        raise KeyError("corrupt record 3")

    got = []
    with pytest.raises(KeyError, match="corrupt record 3"):
        for item in prefetch(source()):
            got.append(item)
    assert got == [0, 1, 2]


def test_stopping_early_stops_the_thread_and_closes_the_source():
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    items = prefetch(endless(), buffer_size=4)
    for item in items:
        if item == 10:
            break
    assert len(_prefetch_threads()) == 1  # held open until closed
    items.close()
    assert _prefetch_threads() == [] and closed == [True]


def test_dropping_the_generator_after_break_stops_the_thread_too():
    for i, _ in enumerate(prefetch(iter(range(10**9)))):
        if i == 5:
            break  # the loop's generator is freed here
    assert _prefetch_threads() == []


def test_nested_prefetchers_close_from_the_outside_in():
    outer = prefetch(prefetch(range(10**9)))
    assert [next(outer) for _ in range(3)] == [0, 1, 2]
    assert len(_prefetch_threads()) == 2
    outer.close()
    assert _prefetch_threads() == []


def test_a_dataset_starts_its_epoch_when_prefetch_is_called():
    ds = Dataset.from_arrays(DIGITS.target, batch_size=2000, shuffle=True, seed=0)
    (first,) = next(prefetch(ds))
    (second,) = next(prefetch(ds))
    np.testing.assert_array_equal(first, next(ds.batches(0))[0])
    np.testing.assert_array_equal(second, next(ds.batches(1))[0])


def test_buffer_size_must_be_positive():
    with pytest.raises(ValueError, match="buffer_size must be a positive int"):
        prefetch(range(3), buffer_size=0)
