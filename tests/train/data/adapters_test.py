"""adapt: arrays, Datasets, iterators, tf.data and torch DataLoaders alike."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from train.data import Dataset, adapt

DIGITS = load_digits()
X, Y = DIGITS.data.astype(np.float32), DIGITS.target.astype(np.int64)
ROOT = pathlib.Path(__file__).resolve().parents[3]


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _leaves(tree[key])]
    if isinstance(tree, tuple):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _assert_same_batches(got, expected):
    got, expected = list(got), list(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert type(g) is tuple and len(g) == len(e)
        assert [type(part) for part in g] == [type(part) for part in e]
        for g_leaf, e_leaf in zip(_leaves(g), _leaves(e), strict=True):
            assert isinstance(g_leaf, np.ndarray) and g_leaf.dtype == e_leaf.dtype
            np.testing.assert_array_equal(g_leaf, e_leaf)


def test_arrays_become_from_arrays_with_the_same_options():
    got = adapt(X, Y, batch_size=100, shuffle=True, seed=5)
    expected = Dataset.from_arrays(X, Y, batch_size=100, shuffle=True, seed=5)
    assert (got.cardinality, got.num_examples) == (18, 1797)
    _assert_same_batches(got, expected)
    _assert_same_batches(adapt((X, X), Y), Dataset.from_arrays((X, X), Y))


def test_a_dataset_is_returned_as_is_and_takes_no_targets():
    ds = Dataset.from_arrays(X, Y)
    assert adapt(ds) is ds
    with pytest.raises(ValueError, match="y and sample_weight go with array data"):
        adapt(ds, Y)


def test_an_iterator_is_read_once():
    batches = ((X[i : i + 100], Y[i : i + 100]) for i in range(0, 1797, 100))
    ds = adapt(batches)
    assert ds.cardinality is None
    _assert_same_batches(ds, Dataset.from_arrays(X, Y, batch_size=100))
    assert list(ds) == []  # a one-shot iterator is spent after one epoch


def test_anything_else_is_a_type_error_naming_argument_and_type():
    with pytest.raises(TypeError, match=r"adapt: data must be .*builtins\.int"):
        adapt(42)
    with pytest.raises(TypeError, match=r"received data of type builtins\.function"):
        adapt(lambda: iter([]))


def test_torch_dataloader_gives_the_same_batches_as_the_arrays():
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    tensors = TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    ds = adapt(DataLoader(tensors, batch_size=100, shuffle=False))
    assert ds.cardinality == 18
    for _ in range(2):  # a fresh pass over the loader each epoch
        _assert_same_batches(ds, Dataset.from_arrays(X, Y, batch_size=100))
    weights = torch.ones(len(Y), requires_grad=True)  # detached on the way out
    samples = [({"x": X[i]}, Y[i], weights[i]) for i in range(10)]
    (batch,) = list(adapt(DataLoader(samples, batch_size=10)))
    _assert_same_batches([batch], [({"x": X[:10]}, Y[:10], np.ones(10, np.float32))])


def test_tf_data_dataset_gives_the_same_batches_as_the_arrays(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    pipeline = tf.data.Dataset.from_tensor_slices(({"pixels": X}, Y)).batch(100)
    ds = adapt(pipeline)
    assert ds.cardinality == 18
    for _ in range(2):
        _assert_same_batches(ds, Dataset.from_arrays({"pixels": X}, Y, batch_size=100))
    unknown = adapt(pipeline.filter(lambda x, y: True))
    assert unknown.cardinality is None and len(list(unknown)) == 18


def test_importing_train_data_loads_no_framework_or_image_package():
    code = (
        "import sys, train.data; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'torch', 'tensorflow', 'PIL', 'keras'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
