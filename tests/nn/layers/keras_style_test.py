"""Layers written Keras's way (`__init__`, `build`, `add_weight`, `call`) and
layers and models that build themselves on first use, checked against the
installed Keras 3 on the same weights (Keras is a reference here only)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import nn
import stateless as sl
from interop.torch import to_torch
from nn import layers
from stateless import ops
from stateless.errors import ScopeError, ShapeError

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

_rng = np.random.default_rng(0)
X = _rng.standard_normal((6, 5)).astype(np.float32)


@nn.register("keras_style_test>Linear")
class Linear(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal"
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class KerasLinear(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units))
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b


def _to_keras(keras_layer, ours_in_order):
    keras_layer.set_weights([np.asarray(v) for v in ours_in_order])


def test_linear_layer_matches_keras_on_the_same_weights():
    layer = Linear(3)
    variables = layer.init(sl.random.key(0), X)
    params = variables["params"]
    assert jax.tree.map(jnp.shape, params) == {"w": (5, 3), "b": (3,)}
    assert variables["state"] == {}
    reference = KerasLinear(3)
    reference(X)
    _to_keras(reference, [params["w"], params["b"]])
    ours, _ = layer.apply(variables, X)
    np.testing.assert_allclose(ours, np.asarray(reference(X)), atol=1e-5)


def test_the_pure_pair_works_under_jit_grad_vmap_and_scan():
    layer = Linear(2)
    variables = layer.init(sl.random.key(1), X)

    def total(v, x):
        return layer.apply(v, x)[0].sum()

    grads = jax.jit(jax.grad(total))(variables, X)
    chex.assert_trees_all_close(grads["params"]["w"], X.sum(0)[:, None] * jnp.ones(2))
    chex.assert_trees_all_close(grads["params"]["b"], jnp.full(2, 6.0))
    per_row = jax.vmap(lambda x: layer.apply(variables, x[None])[0][0])(X)
    chex.assert_trees_all_close(per_row, layer.apply(variables, X)[0], rtol=1e-6)

    def step(carry, x):
        return carry + layer.apply(variables, x[None])[0].sum(), None

    scanned, _ = jax.lax.scan(step, 0.0, X)
    np.testing.assert_allclose(scanned, total(variables, X), rtol=1e-5)


class PerFeatureScale(layers.Layer):
    """One weight per input feature: the count follows the input."""

    def build(self, input_shape):
        self.scales = [
            self.add_weight(shape=(1,), initializer="ones", name=f"scale_{i}")
            for i in range(input_shape[-1])
        ]

    def call(self, inputs):
        return inputs * ops.concatenate([s.value for s in self.scales])


class KerasPerFeatureScale(keras.layers.Layer):
    def build(self, input_shape):
        self.scales = [
            self.add_weight(shape=(1,), initializer="ones", name=f"scale_{i}")
            for i in range(input_shape[-1])
        ]

    def call(self, inputs):
        return inputs * keras.ops.concatenate(self.scales)


def test_a_layer_whose_weight_count_depends_on_the_input():
    layer = PerFeatureScale()
    variables = layer.init(sl.random.key(0), X)
    assert sorted(variables["params"]) == [f"scale_{i}" for i in range(5)]
    scales = jnp.arange(1.0, 6.0).reshape(5, 1)
    variables = {
        "params": {f"scale_{i}": scales[i] for i in range(5)},
        "state": {},
    }
    reference = KerasPerFeatureScale()
    reference(X)
    _to_keras(reference, list(scales))
    ours, _ = layer.apply(variables, X)
    np.testing.assert_allclose(ours, np.asarray(reference(X)), atol=1e-6)


@nn.register("keras_style_test>Block")
class Block(layers.Layer):
    """Two custom layers inside a custom layer."""

    def __init__(self, hidden=32, units=10, **kwargs):
        super().__init__(**kwargs)
        self.hidden, self.units = hidden, units
        self.first = Linear(hidden)
        self.second = Linear(units)

    def call(self, inputs):
        return self.second(ops.relu(self.first(inputs)))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden, "units": self.units}


@nn.register("keras_style_test>Classifier")
class Classifier(nn.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = Block(32, 10)

    def call(self, x):
        return self.block(x)


class KerasBlock(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first, self.second = KerasLinear(32), KerasLinear(10)

    def call(self, inputs):
        return self.second(keras.ops.relu(self.first(inputs)))


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    return (x[order] / 16.0).astype(np.float32), y[order].astype(np.int32)


def test_custom_layers_in_a_subclassed_model_train_save_reload_and_lower(
    digits, tmp_path
):
    x, y = digits
    sl.set_random_seed(0)
    model = Classifier()
    variables = model.init(sl.random.key(0), x[:2])
    inner = variables["params"]["block"]
    assert jax.tree.map(jnp.shape, inner) == {
        "linear": {"w": (64, 32), "b": (32,)},
        "linear_1": {"w": (32, 10), "b": (10,)},
    }
    reference = KerasBlock()
    reference(x[:2])
    _to_keras(reference.first, [inner["linear"]["w"], inner["linear"]["b"]])
    _to_keras(reference.second, [inner["linear_1"]["w"], inner["linear_1"]["b"]])
    np.testing.assert_allclose(
        model.apply(variables, x[:50])[0], np.asarray(reference(x[:50])), atol=1e-5
    )

    model.compile(
        optimizer=nn.optimizers.Adam(3e-3),
        loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x[:1400], y[:1400], batch_size=64, epochs=12, verbose=0, seed=0)
    loss, accuracy = model.evaluate(x[1400:], y[1400:], verbose=0)
    assert accuracy > 0.93, accuracy

    model.save(tmp_path / "m.stateless")
    loaded = nn.load_model(tmp_path / "m.stateless")
    expected = np.asarray(model.predict(x[1400:], verbose=0))
    np.testing.assert_array_equal(
        np.asarray(loaded.predict(x[1400:], verbose=0)), expected
    )

    module = to_torch(model, model.variables)
    with torch.no_grad():
        lowered = module(torch.from_numpy(x[1400:])).numpy()
    np.testing.assert_allclose(lowered, expected, atol=1e-5)


class Counter(layers.Layer):
    """Keeps the running sum of what it saw in a non-trainable weight."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.total = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs))
        return inputs


def test_assigning_a_non_trainable_weight_comes_back_as_new_state():
    layer = Counter()
    variables = layer.init(sl.random.key(0), X)
    assert variables == {"params": {}, "state": {"total": 0.0}}
    _, state = jax.jit(layer.apply)(variables, X)
    np.testing.assert_allclose(state["total"], X.sum(), rtol=1e-6)
    assert float(variables["state"]["total"]) == 0.0  # nothing was mutated

    eager = Counter()
    eager(X, training=True)
    eager(X, training=True)
    np.testing.assert_allclose(eager.total.numpy(), 2 * X.sum(), rtol=1e-5)


def test_assigning_a_trainable_weight_inside_call_is_refused():
    class Bad(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],))

        def call(self, inputs):
            self.w.assign(self.w + 1.0)
            return inputs

    with pytest.raises(ScopeError, match="'w' of Bad is trainable"):
        Bad().init(sl.random.key(0), X)


def test_a_keras_style_layer_round_trips_through_its_config():
    layer = Linear(7, name="proj", dtype="float32", trainable=True)
    spec = nn.serialize(layer)
    assert spec["config"] == {
        "name": "proj",
        "dtype": "float32",
        "trainable": True,
        "units": 7,
    }
    again = nn.deserialize(spec)
    assert (again.units, again.name) == (7, "proj")


def test_a_class_with_neither_call_nor_apply_says_which_to_write():
    class Empty(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

    with pytest.raises(TypeError, match="defines neither call nor apply. Write call"):
        Empty()


def test_an_unknown_keyword_to_layer_init_is_named():
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['unit'\]"):
        Linear(units=3, unit=4)


def test_a_subclassed_model_builds_on_its_first_call():
    sl.set_random_seed(1)
    model = Classifier()
    assert model.variables is None
    y = model(X[:, :4].repeat(16, axis=1))
    assert y.shape == (6, 10)
    assert model.variables["params"]["block"]["linear"]["w"].shape == (64, 32)


def test_a_functional_model_of_keras_style_layers_builds_on_call():
    inputs = layers.Input((5,))
    outputs = layers.Dense(2)(Linear(4)(inputs))
    model = nn.Model(inputs, outputs)
    assert outputs.shape == (None, 2)
    assert model(X).shape == (6, 2)
    assert sorted(model.variables["params"]) == ["dense", "linear"]


def test_an_input_with_a_free_time_axis_takes_any_sequence_length():
    tokens = layers.Input(shape=(None,), dtype="int32")
    embedded = layers.Embedding(20, 8)(tokens)
    assert embedded.shape == (None, None, 8)
    summary = layers.LSTM(6)(embedded)
    assert summary.shape == (None, 6)
    model = nn.Model(tokens, layers.Dense(1)(summary))
    variables = model.init(sl.random.key(0))
    for length in (5, 9):
        ids = jnp.arange(3 * length, dtype=jnp.int32).reshape(3, length) % 20
        assert model.apply(variables, ids)[0].shape == (3, 1)


def test_input_batch_shape_fixes_the_batch_size():
    x = layers.Input(batch_shape=(6, 5))
    assert x.shape == (6, 5)
    model = nn.Model(x, layers.Dense(2)(x))
    assert model(X).shape == (6, 2)
    with pytest.raises(ShapeError, match="expected"):
        model(X[:4])
    with pytest.raises(TypeError, match="the second argument is batch_size"):
        layers.Input((5,), "int32")


def test_a_users_train_py_beside_the_script_is_named_on_import(tmp_path):
    (tmp_path / "train.py").write_text("import nn\n")
    root = Path(nn.__file__).resolve().parents[1]
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        import nn
    """)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode != 0
    assert f"the file {tmp_path / 'train.py'} hides the framework's package" in (
        done.stderr
    )
    assert "rename your train.py" in done.stderr
