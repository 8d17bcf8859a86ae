"""Keras 3's own files read here: `.keras` archives written by Keras itself
(a Sequential CNN, a functional model with a skip, an LSTM model, a
subclassed model registered by the user, and one model per layer of the
parity catalogues) predict as Keras's do; `.weights.h5` files load into a
model built here; `.keras` is never written under our format.

Keras's side runs once, in a subprocess on its JAX backend (see
tests/keras_reference.py); the hostile files are made here."""

import importlib
import io
import json
import os
import sys
import tracemalloc
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import nn
from nn import layers
from nn.archive import ArchiveError
from tests import keras_reference

CATALOGUES = [
    f"keras_{name}_parity_test"
    for name in ("activation", "core", "normalization", "reshaping", "windows")
]
# name: (layer class, keyword arguments, input shape), beyond the catalogues
LAYERS = {
    "dense": ("Dense", {"units": 3, "activation": "relu"}, (2, 5)),
    "dense_no_bias": ("Dense", {"units": 3, "use_bias": False}, (2, 5)),
    "batch_norm": ("BatchNormalization", {}, (2, 5)),
    "batch_norm_no_center": ("BatchNormalization", {"center": False}, (2, 5)),
    "layer_norm": ("LayerNormalization", {}, (2, 5)),
    "conv2d": ("Conv2D", {"filters": 3, "kernel_size": 3}, (2, 6, 6, 2)),
    "separable_conv2d": ("SeparableConv2D", {"filters": 3, "kernel_size": 3},
                         (2, 6, 6, 2)),
    "depthwise_conv2d": ("DepthwiseConv2D", {"kernel_size": 3}, (2, 6, 6, 2)),
    "lstm": ("LSTM", {"units": 3, "return_sequences": True}, (2, 4, 5)),
    "gru": ("GRU", {"units": 3}, (2, 4, 5)),
    "gru_before": ("GRU", {"units": 3, "reset_after": False}, (2, 4, 5)),
    "simple_rnn": ("SimpleRNN", {"units": 3}, (2, 4, 5)),
    "conv_lstm": ("ConvLSTM1D", {"filters": 2, "kernel_size": 2}, (2, 3, 5, 2)),
    "attention": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, (2, 4, 6)),
    "embedding": ("Embedding", {"input_dim": 10, "output_dim": 3}, (2, 4)),
}  # fmt: skip
MODELS = {"cnn": (2, 8, 8, 1), "skip": (2, 5), "lstm": (2, 6), "tiny": (2, 3),
          "nested": (2, 4)}  # fmt: skip
INTEGER_INPUTS = ("embedding", "model_lstm")


def _catalogue_cases():
    """The one-input cases of the Keras parity catalogues (tests/nn/layers)."""
    sys.path.insert(0, str(Path(__file__).parent / "layers"))
    cases = {}
    for module in CATALOGUES:
        for case, (name, kwargs, shape, *_) in vars(importlib.import_module(module))[
            "CASES"
        ].items():
            if len(shape) > 0 and isinstance(shape[0], int):
                cases[case] = (name, kwargs, shape)
    return cases


def _input(case, shape):
    x = np.random.default_rng(len(case)).normal(size=shape).astype(np.float32)
    return np.abs(x * 3).astype(np.int32) if case in INTEGER_INPUTS else x


def _scramble(model):
    """Weights unlike any initializer's, so a wrong pairing shows."""
    rng = np.random.default_rng(1)
    for w in model.weights:
        shift = 1.0 if "variance" in w.path else 0.0
        w.assign(0.5 * rng.normal(size=w.shape).astype("float32") + shift)


def _keras_models(keras):
    L = keras.layers

    @keras.saving.register_keras_serializable(package="parity")
    class Tiny(keras.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = L.Dense(units, activation="relu")
            self.norm = L.LayerNormalization()
            self.out = L.Dense(1)

        def call(self, x):
            return self.out(self.norm(self.hidden(x)))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    cnn = keras.Sequential([
        keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
        L.BatchNormalization(), L.MaxPooling2D(), L.Flatten(), L.Dropout(0.2),
        L.Dense(3),
    ])  # fmt: skip
    cnn.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    x = keras.Input((5,))
    shared = L.Dense(5, activation="tanh")
    h = L.Add()([x, shared(x)])
    skip = keras.Model(x, L.Dense(2)(shared(h)))
    ids = keras.Input((6,), dtype="int32")
    h = L.Embedding(10, 4, mask_zero=True)(ids)
    h = L.Bidirectional(L.LSTM(3, return_sequences=True))(h)
    h = L.TimeDistributed(L.Dense(3, use_bias=False, activation="tanh"))(h)
    lstm = keras.Model(ids, L.Dense(1)(L.LSTM(2)(h)))
    tiny = Tiny(4)
    tiny(np.ones((2, 3), np.float32))
    base = keras.Sequential([keras.Input((4,)), L.Dense(6, activation="relu"),
                             L.BatchNormalization(), L.Dense(3)])  # fmt: skip
    x = keras.Input((4,))
    nested = keras.Model(x, L.Dense(2)(L.Concatenate()([base(x), L.Dense(3)(x)])))
    return {"cnn": cnn, "skip": skip, "lstm": lstm, "tiny": tiny, "nested": nested}


def _keras_layers(keras, folder, cases):
    """One functional model per case `name: (class, keywords, input shape)`
    saved to `layer_<name>.keras`; its input and output."""
    out = {}
    for case, (name, kwargs, shape) in cases.items():
        x = _input(case, shape)
        inputs = keras.Input(shape[1:], dtype=x.dtype)
        layer = getattr(keras.layers, name)(**kwargs)
        y = layer(inputs, inputs) if name == "MultiHeadAttention" else layer(inputs)
        model = keras.Model(inputs, y)
        _scramble(model)
        out[f"{case}/x"], out[f"{case}/y"] = x, np.asarray(model(x))
        model.save(folder / f"layer_{case}.keras")
    return out


def _keras_side(path):
    """The four models, one file per case of LAYERS, a Lambda; with a path
    named `catalogue.npz`, one file per case of the catalogues instead."""
    import keras

    folder = Path(path).parent
    if Path(path).stem == "catalogue":
        np.savez(path, **_keras_layers(keras, folder, _catalogue_cases()))
        return
    out = _keras_layers(keras, folder, LAYERS)
    for name, model in _keras_models(keras).items():
        _scramble(model)
        x = _input(f"model_{name}", MODELS[name])
        out[f"model_{name}/x"], out[f"model_{name}/y"] = x, np.asarray(model(x))
        model.save(folder / f"{name}.keras")
        if name == "cnn":
            model.save_weights(folder / "cnn.weights.h5")
    lambda_model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Lambda(lambda t: 2 * t)]
    )
    lambda_model.save(folder / "lambda.keras")
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "numbers.npz"
    return path.parent, keras_reference.keras_numbers(__file__, path)


class Tiny(nn.Model):
    """The subclassed model of Keras's side, written here."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="relu")
        self.norm = layers.LayerNormalization()
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(self.norm(self.hidden(x)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _predicts_as_keras(model, name, numbers):
    x, want = numbers[f"model_{name}/x"], numbers[f"model_{name}/y"]
    np.testing.assert_allclose(np.asarray(model(x)), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["cnn", "skip", "lstm", "nested"])
def test_models_saved_by_keras_predict_as_keras(name, keras_files):
    folder, numbers = keras_files
    _predicts_as_keras(nn.load_model(folder / f"{name}.keras"), name, numbers)


def test_a_subclassed_model_loads_once_its_class_is_registered(keras_files):
    folder, numbers = keras_files
    with pytest.raises(
        ArchiveError, match="'parity>Tiny' has no registered counterpart"
    ):
        nn.load_model(folder / "tiny.keras")
    with nn.saving.custom_object_scope({"parity>Tiny": Tiny}):
        model = nn.load_model(folder / "tiny.keras")
    assert isinstance(model, Tiny) and model.units == 4
    _predicts_as_keras(model, "tiny", numbers)


def _load_each_case(folder, numbers, cases):
    for case in cases:
        model = nn.load_model(folder / f"layer_{case}.keras")
        y = np.asarray(model(numbers[f"{case}/x"]))
        np.testing.assert_allclose(
            y, numbers[f"{case}/y"], rtol=1e-5, atol=1e-5, err_msg=case
        )


def test_each_kind_of_weighted_layer_reads_keras_weights(keras_files):
    _load_each_case(*keras_files, LAYERS)


@pytest.mark.slow
def test_every_layer_of_the_parity_catalogues_reads_keras_weights(tmp_path):
    cases = _catalogue_cases()
    assert len(cases) > 70
    numbers = keras_reference.keras_numbers(__file__, tmp_path / "catalogue.npz")
    _load_each_case(tmp_path, numbers, cases)


def test_the_compiled_model_comes_back_compiled_as_keras_saved_it(keras_files):
    folder, numbers = keras_files
    model = nn.load_model(folder / "cnn.keras")
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    x, y = numbers["model_cnn/x"], numbers["model_cnn/y"]
    loss, mae = model.evaluate(x, y + 1.0, verbose=0)
    assert loss == pytest.approx(1.0, rel=1e-5) and mae == pytest.approx(1.0, rel=1e-5)
    assert nn.load_model(folder / "cnn.keras", compile=False).trainer is None


def _cnn():
    return nn.Sequential([
        layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
        layers.BatchNormalization(), layers.MaxPooling2D(), layers.Flatten(),
        layers.Dropout(0.2), layers.Dense(3),
    ])  # fmt: skip


def test_load_weights_reads_keras_weights_files(keras_files):
    folder, numbers = keras_files
    for source in ("cnn.weights.h5", "cnn.keras"):
        model = _cnn()
        model.build((None, 8, 8, 1), seed=0)
        assert model.load_weights(folder / source) == []
        _predicts_as_keras(model, "cnn", numbers)


def test_load_weights_skips_a_layer_that_does_not_fit_only_when_asked(keras_files):
    folder, numbers = keras_files
    model = nn.Sequential([
        layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
        layers.BatchNormalization(), layers.MaxPooling2D(), layers.Flatten(),
        layers.Dense(5),
    ])  # fmt: skip
    model.build((None, 8, 8, 1), seed=0)
    before = np.asarray(model.variables["params"]["dense"]["kernel"])
    with pytest.raises(
        ArchiveError,
        match=r"shape \(36, 3\), but variable 'dense/kernel' expects \(36, 5\)",
    ):
        model.load_weights(folder / "cnn.weights.h5")
    skipped = model.load_weights(folder / "cnn.weights.h5", skip_mismatch=True)
    assert len(skipped) == 1 and "dense/kernel" in skipped[0]
    np.testing.assert_array_equal(model.variables["params"]["dense"]["kernel"], before)
    kernel = model.variables["params"]["conv2d"]["kernel"]
    assert not np.allclose(
        kernel, _cnn().build((None, 8, 8, 1), seed=0)["params"]["conv2d"]["kernel"]
    )


def test_keras_formats_are_never_written_under_our_format(tmp_path):
    model = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.build((None, 3), seed=0)
    with pytest.raises(ValueError, match="reads .* but does not write.*'.stateless'"):
        model.save(tmp_path / "model.keras")
    with pytest.raises(ValueError, match="reads .* but does not write.*'.weights.npz'"):
        model.save_weights(tmp_path / "model.weights.h5")
    assert not os.listdir(tmp_path)


# -- hostile files -----------------------------------------------------------------


def _rewrite(source, target, replace=None, extra=()):
    """A copy of the archive `source` with some members replaced or added."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, replace.get(name, old.read(name)))
        for name, data in extra:
            new.writestr(name, data)
    return target


def _weights(build):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        build(file)
    return buffer.getvalue()


def test_a_lambda_holding_code_is_refused(keras_files):
    folder, _ = keras_files
    with pytest.raises(ArchiveError, match="holds Python code .*never run"):
        nn.load_model(folder / "lambda.keras")


def test_a_path_outside_the_archive_is_refused(keras_files, tmp_path):
    folder, _ = keras_files
    evil = _rewrite(folder / "skip.keras", tmp_path / "evil.keras",
                    extra=[("../outside.txt", b"x")])  # fmt: skip
    with pytest.raises(ArchiveError, match="refusing member path '../outside.txt'"):
        nn.load_model(evil)


def test_a_huge_declared_array_is_refused_unread(keras_files, tmp_path):
    folder, _ = keras_files

    def huge(file):  # 4 TB declared, a few kB on disk
        file.create_dataset("layers/dense/vars/0", shape=(10**6, 10**6), dtype="f4",
                            chunks=(1, 1024), compression="gzip")  # fmt: skip
        file.create_dataset("layers/dense/vars/1", data=np.zeros(5, "f4"))

    evil = _rewrite(folder / "skip.keras", tmp_path / "huge.keras",
                    {"model.weights.h5": _weights(huge)})  # fmt: skip
    tracemalloc.start()
    with pytest.raises(ArchiveError, match=r"shape \(1000000, 1000000\)"):
        nn.load_model(evil)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20


def test_a_weights_member_larger_than_the_model_needs_is_refused(keras_files, tmp_path):
    folder, _ = keras_files

    def padded(file):
        file.create_dataset("padding", data=np.zeros(2**20, "f4"))  # 4 MiB

    evil = _rewrite(folder / "skip.keras", tmp_path / "padded.keras",
                    {"model.weights.h5": _weights(padded)})  # fmt: skip
    with pytest.raises(ArchiveError, match="model.weights.h5 declares .* over the"):
        nn.load_model(evil)


@pytest.mark.parametrize("link", ["external", "soft"])
def test_links_inside_the_weights_file_are_not_followed(keras_files, tmp_path, link):
    folder, _ = keras_files
    target = tmp_path / "elsewhere.h5"
    with h5py.File(target, "w") as file:
        file.create_dataset("w", data=np.ones((5, 5), "f4"))

    def linked(file):
        file.create_dataset("stash", data=np.ones((5, 5), "f4"))
        file["layers/dense/vars/0"] = (
            h5py.ExternalLink(str(target), "w") if link == "external"
            else h5py.SoftLink("/stash")
        )  # fmt: skip
        file.create_dataset("layers/dense/vars/1", data=np.zeros(5, "f4"))

    evil = _rewrite(folder / "skip.keras", tmp_path / "linked.keras",
                    {"model.weights.h5": _weights(linked)})  # fmt: skip
    with pytest.raises(ArchiveError, match="Link; only arrays stored in the file"):
        nn.load_model(evil)


def test_each_layer_that_cannot_be_read_is_named(keras_files, tmp_path):
    folder, _ = keras_files
    with zipfile.ZipFile(folder / "skip.keras") as file:
        config = json.loads(file.read("config.json"))
    config["config"]["layers"][1]["config"]["lora_rank"] = 4
    config["config"]["layers"][2]["class_name"] = "Quantum"
    evil = _rewrite(folder / "skip.keras", tmp_path / "lora.keras",
                    {"config.json": json.dumps(config)})  # fmt: skip
    with pytest.raises(ArchiveError, match="2 layers cannot be read") as caught:
        nn.load_model(evil)
    assert "Dense option lora_rank=4 has no counterpart" in str(caught.value)
    assert "'Quantum' has no registered counterpart" in str(caught.value)
