"""`interop.torch`: an `nn` model trained as a torch Module in a plain torch
loop, its variables brought back to JAX, a plain `jax.numpy` function as a
Module, and `torch.compile`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

import nn
import stateless as sl
from interop.torch import from_torch, to_torch
from nn import layers


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    return x[train], y[train], x[test], y[test]


def _mlp():
    return nn.Sequential(
        [
            layers.Dense(64, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.1),
            layers.Dense(10),
        ]
    )


@pytest.fixture(scope="module")
def one_thread():
    """Small ops run fastest, and alike on busy machines, on one torch thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(digits, one_thread):
    """A digits MLP trained for a few epochs with torch.optim.Adam."""
    x_train, y_train, _, _ = digits
    torch.manual_seed(0)
    model = _mlp()
    variables = model.init(sl.random.key(0), x_train[:2])
    module = to_torch(model, variables)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for _ in range(6):
        order = torch.randperm(len(x))
        for start in range(0, len(x) - 63, 64):
            batch = order[start : start + 64]
            loss = F.cross_entropy(module(x[batch], training=True), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model, variables, module


def test_an_nn_model_trains_in_a_plain_torch_loop(digits, trained):
    _, _, x_test, y_test = digits
    _, _, module = trained
    with torch.no_grad():
        predicted = module(torch.from_numpy(x_test)).argmax(-1).numpy()
    assert (predicted == y_test).mean() >= 0.9


def test_parameters_and_state_are_torch_parameters_and_buffers(trained):
    _, variables, module = trained
    parameters = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    assert set(parameters) == {
        "params." + jax.tree_util.keystr(p, simple=True, separator=".")
        for p, _ in jax.tree_util.tree_flatten_with_path(variables["params"])[0]
    }
    assert "state.batch_normalization.moving_mean" in buffers
    start = np.asarray(variables["state"]["batch_normalization"]["moving_mean"])
    moved = buffers["state.batch_normalization.moving_mean"].numpy()
    assert not np.allclose(start, moved)  # training wrote the new statistics back


def test_from_torch_gives_variables_that_predict_the_same_in_jax(digits, trained):
    _, _, x_test, _ = digits
    model, variables, module = trained
    back = from_torch(module)
    assert jax.tree.structure(back) == jax.tree.structure(variables)
    want, _ = model.apply(back, x_test)
    with torch.no_grad():
        got = module(torch.from_numpy(x_test)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_plain_jax_numpy_function_becomes_a_module():
    def mlp(params, x):
        hidden = jnp.tanh(x @ params["w1"] + params["b1"])
        return hidden @ params["w2"]

    r = np.random.default_rng(0)
    params = {
        "w1": r.normal(size=(3, 4)).astype(np.float32),
        "b1": np.zeros(4, np.float32),
        "w2": r.normal(size=(4, 2)).astype(np.float32),
    }
    x = r.normal(size=(5, 3)).astype(np.float32)
    module = to_torch(mlp, params)
    out = module(torch.from_numpy(x))
    np.testing.assert_allclose(
        out.detach().numpy(), mlp(params, x), rtol=1e-5, atol=1e-6
    )
    out.sum().backward()
    want = jax.grad(lambda p: mlp(p, x).sum())(params)
    for name, parameter in module.named_parameters():
        np.testing.assert_allclose(
            parameter.grad.numpy(), want[name], rtol=1e-5, atol=1e-6
        )
    assert jax.tree.structure(from_torch(module)) == jax.tree.structure(params)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="to_torch: expected a model"):
        to_torch(42, {})
    with pytest.raises(TypeError, match="from_torch: expected a module"):
        from_torch(torch.nn.Linear(2, 2))


@pytest.mark.slow
def test_torch_compile_runs_the_lowered_module(digits, trained):
    _, _, x_test, _ = digits
    _, _, module = trained
    x = torch.from_numpy(x_test[:32])
    compiled = torch.compile(module)
    with torch.no_grad():
        np.testing.assert_allclose(
            compiled(x).numpy(), module(x).numpy(), rtol=1e-5, atol=1e-5
        )
