"""timeseries_dataset_from_array against a direct loop over the windows."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from train.data import timeseries_dataset_from_array

DIABETES = load_diabetes()
DATA, TARGETS = DIABETES.data, DIABETES.target  # (442, 10), (442,): a "series"


def _reference(data, targets, length, stride, rate, start, end):
    """Keras's documented windows, one by one."""
    start = 0 if start is None else start
    end = len(data) if end is None else end
    windows, window_targets = [], []
    first = start
    while first + (length - 1) * rate < end and (
        targets is None or first < len(targets)
    ):
        windows.append([data[first + k * rate] for k in range(length)])
        if targets is not None:
            window_targets.append(targets[first])
        first += stride
    return np.array(windows), np.array(window_targets)


def _collect(ds):
    parts = list(zip(*ds))
    return [np.concatenate(part) for part in parts]


@pytest.mark.parametrize(
    ("length", "stride", "rate", "start", "end", "batch_size"),
    [
        (10, 1, 1, None, None, 128),
        (5, 3, 2, None, None, 32),
        (7, 2, 3, 20, 300, 16),
        (1, 5, 1, 100, None, 7),
        (12, 4, 7, 3, 441, 1000),
    ],
)
def test_windows_and_targets_match_a_direct_loop(
    length, stride, rate, start, end, batch_size
):
    ds = timeseries_dataset_from_array(
        DATA, TARGETS, length, sequence_stride=stride, sampling_rate=rate,
        batch_size=batch_size, start_index=start, end_index=end,
    )  # fmt: skip
    windows, targets = _collect(ds)
    expected_windows, expected_targets = _reference(
        DATA, TARGETS, length, stride, rate, start, end
    )
    assert windows.shape == (len(expected_windows), length, 10)
    np.testing.assert_array_equal(windows, expected_windows)
    np.testing.assert_array_equal(targets, expected_targets)
    assert ds.num_examples == len(expected_windows)
    assert all(len(batch[0]) <= batch_size for batch in ds)


def test_short_targets_limit_the_windows_and_none_gives_inputs_only():
    ds = timeseries_dataset_from_array(DATA, TARGETS[:50], 10, batch_size=16)
    windows, targets = _collect(ds)
    np.testing.assert_array_equal(targets, TARGETS[:50])
    assert len(windows) == 50
    (only,) = _collect(timeseries_dataset_from_array(DATA, None, 10, 3))
    expected, _ = _reference(DATA, None, 10, 3, 1, None, None)
    np.testing.assert_array_equal(only, expected)
    assert len(next(iter(timeseries_dataset_from_array(DATA, None, 10)))) == 1


def test_keras_forecasting_example_pairs_each_window_with_the_next_value():
    series = np.arange(100)
    ds = timeseries_dataset_from_array(
        series[:-10], series[10:], sequence_length=10, batch_size=20
    )
    windows, targets = _collect(ds)
    np.testing.assert_array_equal(targets, windows[:, -1] + 1)
    np.testing.assert_array_equal(windows[:, 0], np.arange(81))


def test_shuffled_windows_are_the_same_windows_reproducibly_and_stay_paired():
    kwargs = dict(sequence_length=6, sampling_rate=2, batch_size=40, shuffle=True)
    a = timeseries_dataset_from_array(DATA, TARGETS, seed=3, **kwargs)
    b = timeseries_dataset_from_array(DATA, TARGETS, seed=3, **kwargs)
    a0, a1, b0 = _collect(a), _collect(a), _collect(b)
    np.testing.assert_array_equal(a0[1], b0[1])
    assert not np.array_equal(a0[1], a1[1])
    expected_windows, expected_targets = _reference(DATA, TARGETS, 6, 1, 2, None, None)
    # each window's first row identifies its start; its target must match
    starts = [np.flatnonzero((DATA == w[0]).all(1))[0] for w in a0[0]]
    np.testing.assert_array_equal(a0[0], expected_windows[starts])
    np.testing.assert_array_equal(a0[1], expected_targets[starts])
    assert sorted(starts) == list(range(len(expected_windows)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(sequence_length=0), "sequence_length must be a positive int"),
        (dict(sequence_length=5, sampling_rate=0), "sampling_rate must be"),
        (dict(sequence_length=5, sequence_stride=-1), "sequence_stride must be"),
        (dict(sequence_length=5, start_index=442), r"start_index must be in \[0, 442"),
        (dict(sequence_length=5, start_index=10, end_index=10), "end_index must be"),
        (dict(sequence_length=5, end_index=443), "end_index must be"),
    ],
)
def test_out_of_range_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(DATA, TARGETS, **kwargs)
