"""`interop.tensorflow`: a model as a `tf.Module`, trained by TF, read back,
and exported as a SavedModel that loads and predicts without JAX."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf

import nn
import stateless as sl
from interop.tensorflow import (  # noqa: E402 (after the skip)
    FunctionModel,
    export_saved_model,
    from_tf,
    to_tf,
)
from nn import layers

_rng = np.random.default_rng(0)


def _cnn():
    model = nn.Sequential(
        [
            layers.Conv2D(4, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(3),
        ]
    )
    x = _rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
    return model, model.init(sl.random.key(0), x), x


def _assert_trees_close(got, want, tol=1e-5):
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=tol, atol=tol)


def test_module_predicts_like_jax():
    model, variables, x = _cnn()
    module = to_tf(model, variables)
    np.testing.assert_allclose(
        module(x).numpy(), model.apply(variables, x)[0], rtol=1e-5, atol=1e-5
    )
    assert len(module.trainable_variables) == len(jax.tree.leaves(variables["params"]))


def test_training_call_updates_the_state_like_jax():
    model, variables, x = _cnn()
    module = to_tf(model, variables)
    got = module(x, training=True)
    rng = sl.random.fold_in(sl.random.key(0), 0)
    want, new_state = model.apply(variables, x, training=True, rng=rng)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    _assert_trees_close(from_tf(module)["state"], new_state)
    assert int(module.calls) == 1
    again = module(x, training=True, rng=tf.constant(np.asarray(rng)))
    want_again, _ = model.apply(
        {"params": variables["params"], "state": new_state}, x, training=True, rng=rng
    )
    np.testing.assert_allclose(again.numpy(), want_again, rtol=1e-5, atol=1e-5)


def test_trains_with_gradient_tape_and_plain_sgd():
    model = nn.Sequential([layers.Dense(16, activation="tanh"), layers.Dense(1)])
    x = _rng.normal(size=(32, 3)).astype(np.float32)
    y = np.sin(x.sum(1, keepdims=True))
    module = to_tf(model, model.init(sl.random.key(0), x))

    @tf.function(autograph=False)
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((module(x, training=True) - y) ** 2)
        grads = tape.gradient(loss, module.trainable_variables)
        for var, grad in zip(module.trainable_variables, grads):
            var.assign_sub(0.1 * grad)
        return loss

    losses = [float(step()) for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0]
    trained = from_tf(module)
    np.testing.assert_allclose(
        model.apply(trained, x)[0], module(x).numpy(), rtol=1e-5, atol=1e-5
    )


def test_from_tf_gives_back_the_variables():
    model, variables, _ = _cnn()
    _assert_trees_close(from_tf(to_tf(model, variables)), variables, tol=0)


def test_a_plain_function_runs_through_the_adapter():
    params = {"w": _rng.normal(size=(3, 2)).astype(np.float32), "b": np.ones(2)}

    def fn(p, x):
        return jnp.tanh(x @ p["w"] + p["b"])

    x = _rng.normal(size=(5, 3)).astype(np.float32)
    module = to_tf(FunctionModel(fn), {"params": params})
    np.testing.assert_allclose(module(x).numpy(), fn(params, x), rtol=1e-5, atol=1e-6)
    as_is = to_tf(fn, params)  # a plain function with its params, as to_torch
    np.testing.assert_allclose(as_is(x).numpy(), fn(params, x), rtol=1e-5, atol=1e-6)


def test_a_plain_function_exports_as_a_saved_model(tmp_path):
    params = {"w": _rng.normal(size=(3, 2)).astype(np.float32)}

    def fn(p, x):
        return jnp.tanh(x @ p["w"])

    x = _rng.normal(size=(4, 3)).astype(np.float32)
    path = export_saved_model(fn, params, tmp_path / "fn", [x])
    loaded = tf.saved_model.load(path)
    np.testing.assert_allclose(
        loaded.serve(tf.constant(x))["output_0"].numpy(), fn(params, x), rtol=1e-5
    )


def test_something_neither_a_model_nor_a_function_is_refused():
    with pytest.raises(TypeError, match=r"fn\(params, \*inputs\)"):
        to_tf(42, {})


def _op_types(path):
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    graph = saved.meta_graphs[0].graph_def
    nodes = list(graph.node)
    for function in graph.library.function:
        nodes.extend(function.node_def)
    return {node.op for node in nodes}


_LOAD_WITHOUT_JAX = """
import sys
sys.modules["jax"] = None  # any `import jax` now raises ImportError
import numpy as np
import tensorflow as tf

path, inputs, outputs = sys.argv[1:]
loaded = tf.saved_model.load(path)
x = tf.constant(np.load(inputs))
served = loaded.signatures["serving_default"](input_0=x)["output_0"]
np.save(outputs, np.stack([served.numpy(), loaded.serve(x)["output_0"].numpy()]))
"""


def test_saved_model_of_plain_ops_predicts_without_jax(tmp_path):
    model, variables, x = _cnn()
    spec = jax.ShapeDtypeStruct(x.shape, x.dtype)
    path = export_saved_model(model, variables, tmp_path / "cnn", [spec])
    ops = _op_types(path)
    assert {"Conv2D", "MatMul"} <= ops
    assert not [op for op in ops if op.startswith("Xla")]
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_LOAD_WITHOUT_JAX), path,
         tmp_path / "x.npy", tmp_path / "y.npy"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    want = model.apply(variables, x)[0]
    for got in np.load(tmp_path / "y.npy"):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_export_replaces_an_existing_model_whole(tmp_path):
    model = layers.Dense(2)
    x = np.ones((1, 3), np.float32)
    first = model.init(sl.random.key(0), x)
    second = model.init(sl.random.key(1), x)
    path = tmp_path / "dense"
    export_saved_model(model, first, path, [x])
    export_saved_model(model, second, path, [x])
    assert sorted(os.listdir(tmp_path)) == ["dense"]
    loaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(
        loaded.serve(x)["output_0"].numpy(),
        model.apply(second, x)[0],
        rtol=1e-6,
    )
    _assert_trees_close(from_tf(loaded), second, tol=0)


@pytest.mark.slow
def test_saved_models_convert_to_tflite_builtins_only(tmp_path):
    x_seq = _rng.normal(size=(1, 5, 3)).astype(np.float32)
    recurrent = nn.Sequential([layers.LSTM(4), layers.Dense(2)])
    for name, (model, variables, x) in {
        "cnn": _cnn(),
        "lstm": (recurrent, recurrent.init(sl.random.key(0), x_seq), x_seq),
    }.items():
        path = export_saved_model(model, variables, tmp_path / name, [x])
        converter = tf.lite.TFLiteConverter.from_saved_model(path)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        interpreter = tf.lite.Interpreter(model_content=converter.convert())
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        want = model.apply(variables, x)[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)
