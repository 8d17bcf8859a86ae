"""Eager ops take and return the chosen backend's tensors, with JAX's values."""

import importlib

import numpy as np
import pytest

import stateless as sl
from stateless import ops


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_eager_ops_return_backend_tensors_with_the_same_values(backend):
    module = importlib.import_module(backend)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    w = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    tensor = module.tensor if backend == "torch" else module.constant
    sl.set_backend(backend)
    got = ops.relu(ops.matmul(tensor(x), tensor(w)))
    assert type(got).__module__.split(".")[0] == backend
    np.testing.assert_allclose(np.asarray(got), np.maximum(x @ w, 0), rtol=1e-6)
    values, indices = ops.top_k(tensor(x), 2)  # several outputs
    assert type(indices).__module__.split(".")[0] == backend
    np.testing.assert_array_equal(np.asarray(indices), [[2, 1], [2, 1]])
    assert ops.shape(tensor(x)) == (2, 3)  # Python values stay Python values


def test_on_the_jax_backend_backend_tensors_are_not_converted():
    import torch

    sl.set_backend("jax")
    got = ops.add(np.ones(2, np.float32), 1.0)
    assert not isinstance(got, torch.Tensor)
