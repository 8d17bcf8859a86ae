"""TensorBoard: event files that TensorBoard reads back, value for value."""

import io
import json
import pathlib
import subprocess
import sys
import types

import matplotlib.pyplot as plt
import numpy as np
import pytest
from google.protobuf import text_format
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.graph import keras_util
from tensorboard.plugins.projector import projector_config_pb2

import nn
from nn import layers
from tests.train.callbacks.fakes import FakeClock, FakeModel, fit
from train import optimizers
from train.callbacks import TensorBoard, tensorboard

ROOT = pathlib.Path(__file__).resolve().parents[3]
LOGS = [
    {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.5, "val_accuracy": 0.25},
    {"loss": 0.75, "accuracy": 0.625, "val_loss": 1.25, "val_accuracy": 0.375},
    {"loss": 0.1, "accuracy": 0.9, "val_loss": 0.2, "val_accuracy": 0.8},
]


@pytest.fixture(autouse=True)
def _read_without_tensorflow(monkeypatch):
    """Makes TensorBoard's reader use its own TFRecord code, not TensorFlow's.

    `tensorboard.compat.tf` resolves once per process, to TensorFlow when it
    is installed (4 s to import) unless the module `tensorboard.compat.notf`
    exists: then to TensorBoard's stub, as on a machine without TensorFlow.
    Once resolved, the marker no longer matters.
    """
    marker = types.ModuleType("tensorboard.compat.notf")
    monkeypatch.setitem(sys.modules, "tensorboard.compat.notf", marker)


def _read(directory):
    """{tag: [(step, value), ...]} of the scalars TensorBoard finds there."""
    events = EventAccumulator(str(directory))
    events.Reload()
    return {
        tag: [(event.step, event.value) for event in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
    }


def _f32(*pairs):
    """The (step, value) pairs as stored: values are float32 in event files."""
    return [(step, float(np.float32(value))) for step, value in pairs]


def test_epoch_scalars_per_run_with_val_keys_in_validation(tmp_path):
    fit([TensorBoard(tmp_path)], epochs=3, batches=2, epoch_logs=LOGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train", "validation"]
    assert _read(tmp_path / "train") == {
        "epoch_loss": _f32((0, 1.0), (1, 0.75), (2, 0.1)),
        "epoch_accuracy": _f32((0, 0.5), (1, 0.625), (2, 0.9)),
        "epoch_learning_rate": _f32((0, 0.1), (1, 0.1), (2, 0.1)),  # the model's
    }
    assert _read(tmp_path / "validation") == {
        "epoch_loss": _f32((0, 1.5), (1, 1.25), (2, 0.2)),
        "epoch_accuracy": _f32((0, 0.25), (1, 0.375), (2, 0.8)),
    }


def test_every_n_batches_writes_batch_scalars_at_the_run_s_batch_count(tmp_path):
    def batch_logs(epoch, batch):
        return {"loss": 10.0 * epoch + batch}

    fit(
        [TensorBoard(tmp_path, update_freq=2)],
        epochs=3,
        batches=3,
        batch_logs=batch_logs,
        epoch_logs=LOGS,
    )
    scalars = _read(tmp_path / "train")
    # Batches 2, 4, 6, 8 of the run: (epoch, batch) = (0, 1), (1, 0), (1, 2), (2, 1).
    assert scalars["batch_loss"] == _f32((2, 1.0), (4, 10.0), (6, 12.0), (8, 21.0))
    assert scalars["epoch_loss"] == _f32((0, 1.0), (1, 0.75), (2, 0.1))


def test_update_freq_batch_writes_every_batch(tmp_path):
    fit(
        [TensorBoard(tmp_path, update_freq="batch")],
        epochs=2,
        batches=2,
        batch_logs=lambda e, b: {"loss": 2.0 * e + b},
        epoch_logs=LOGS,
    )
    assert _read(tmp_path / "train")["batch_loss"] == _f32(
        (1, 0.0), (2, 1.0), (3, 2.0), (4, 3.0)
    )


def test_steps_per_second(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(tensorboard, "time", clock)
    callback = TensorBoard(tmp_path, update_freq=2, write_steps_per_second=True)
    fit(
        [callback],
        epochs=2,
        batches=4,
        epoch_logs=[{"loss": 1.0}] * 2,
        each_batch=lambda e, b: clock.advance(0.25 if e else 0.5),
    )
    scalars = _read(tmp_path / "train")
    assert scalars["epoch_steps_per_second"] == [(0, 2.0), (1, 4.0)]
    assert scalars["batch_steps_per_second"] == [(2, 2.0), (4, 2.0), (6, 4.0), (8, 4.0)]


def test_without_validation_logs_there_is_no_validation_run(tmp_path):
    fit([TensorBoard(tmp_path)], epochs=1, epoch_logs=[{"loss": 0.5}])
    assert [p.name for p in tmp_path.iterdir()] == ["train"]
    assert _read(tmp_path / "train") == {
        "epoch_loss": [(0, 0.5)],
        "epoch_learning_rate": _f32((0, 0.1)),
    }


def test_each_epoch_is_on_disk_before_training_ends(tmp_path):
    callback = TensorBoard(tmp_path)
    callback.set_model(None)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, {"loss": 0.5})
    assert _read(tmp_path / "train") == {"epoch_loss": [(0, 0.5)]}
    callback.on_train_end()


def test_a_second_run_writes_a_new_file(tmp_path):
    callback = TensorBoard(tmp_path)
    fit([callback], epochs=1, epoch_logs=[{"loss": 0.5}])
    fit([callback], epochs=1, epoch_logs=[{"loss": 0.25}])
    assert len(list((tmp_path / "train").iterdir())) == 2


@pytest.mark.parametrize("update_freq", ["step", 0, 2.5])
def test_rejects_a_bad_update_freq(update_freq):
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq=update_freq)


def test_writing_imports_no_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from train.callbacks import CallbackList, TensorBoard\n"
        f"calls = CallbackList([TensorBoard({str(tmp_path)!r})], epochs=1)\n"
        "for hook, *args in [('on_train_begin', None), ('on_epoch_begin', 0, None),"
        " ('on_epoch_end', 0, {'loss': 1.0}), ('on_train_end', None)]:\n"
        "    calls.call(hook, *args)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
    assert (tmp_path / "train").is_dir()


class _Weighted(FakeModel):
    """A fake model with weights of each rank Keras draws, and a schedule."""

    def __init__(self):
        super().__init__()
        self.optimizer.learning_rate = optimizers.schedules.ExponentialDecay(
            0.5, 2, 0.5
        )

    @staticmethod
    def make_variables(step):
        rng = np.random.default_rng(step)
        return {
            "params": {
                "dense": {"kernel": rng.normal(size=(5, 2)), "bias": np.arange(2.0)},
                "conv": {"kernel": rng.normal(size=(3, 2, 4))},
            },
            "state": {"norm": {"moving_mean": np.full(2, float(step))}},
        }


def test_histograms_and_images_of_every_weight_every_n_epochs(tmp_path):
    model = _Weighted()
    callback = TensorBoard(tmp_path, histogram_freq=2, write_images=True)
    weights_at = {}
    fit([callback], model, epochs=3, batches=2,
        each_batch=lambda e, b: weights_at.__setitem__(e, model.variables))  # fmt: skip
    events = EventAccumulator(
        str(tmp_path / "train"), size_guidance={"images": 0, "histograms": 0}
    )
    events.Reload()
    tags = events.Tags()
    assert sorted(tags["histograms"]) == [
        "conv/kernel/histogram", "dense/bias/histogram", "dense/kernel/histogram",
        "norm/moving_mean/histogram",
    ]  # fmt: skip
    for epoch, histogram in zip((0, 2), events.Histograms("dense/kernel/histogram")):
        kernel = weights_at[epoch]["params"]["dense"]["kernel"]
        assert histogram.step == epoch
        value = histogram.histogram_value
        assert (value.num, value.min, value.max) == (10, kernel.min(), kernel.max())
        assert sum(value.bucket) == 10
        np.testing.assert_allclose(value.sum, kernel.sum())
    kernel = weights_at[2]["params"]["dense"]["kernel"]
    (image,) = [e for e in events.Images("dense/kernel/image") if e.step == 2]
    drawn = plt.imread(io.BytesIO(image.encoded_image_string), format="png")
    scaled = (kernel.T - kernel.min()) / (kernel.max() - kernel.min())
    np.testing.assert_allclose(drawn, scaled, atol=1 / 255)  # wider than tall
    assert {t for t in tags["images"] if t.startswith("conv")} == {
        "conv/kernel/image/0", "conv/kernel/image/1", "conv/kernel/image/2",
    }  # one per output channel, up to 3  # fmt: skip
    # the schedule's rate at the step count each epoch ended on: 2, 4, 6
    assert _read(tmp_path / "train")["epoch_learning_rate"] == _f32(
        (0, 0.25), (1, 0.125), (2, 0.0625)
    )


def test_evaluation_scalars_at_the_optimizer_s_step(tmp_path):
    model = FakeModel()
    model.step = 42
    callback = TensorBoard(tmp_path)
    callback.set_model(model)
    callback.on_test_end({"loss": 0.5, "accuracy": 0.75})
    callback.on_train_end()
    assert _read(tmp_path / "validation") == {
        "evaluation_loss_vs_iterations": [(42, 0.5)],
        "evaluation_accuracy_vs_iterations": [(42, 0.75)],
    }


def _text_model():
    model = nn.Sequential(
        [layers.Input((4,), dtype="int32"), layers.Embedding(12, 3, name="words"),
         layers.GlobalAveragePooling1D(), layers.Dense(2)]
    )  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_a_real_fit_writes_graph_profile_and_embeddings(tmp_path):
    model = _text_model()
    x = np.random.default_rng(0).integers(0, 12, size=(64, 4)).astype(np.int32)
    labels = tmp_path / "words.tsv"
    callback = TensorBoard(tmp_path, profile_batch=(2, 3), embeddings_freq=1,
                           embeddings_metadata={"words": str(labels)})  # fmt: skip
    model.fit(x, x[:, 0] % 2, batch_size=16, epochs=2, verbose=0,
              callbacks=[callback])  # fmt: skip

    events = EventAccumulator(str(tmp_path / "train"))
    events.Reload()
    (keras_config,) = events.Tensors("keras")
    config = json.loads(keras_config.tensor_proto.string_val[0])
    graph = keras_util.keras_model_to_graph_def(config)  # what the Graphs tab draws
    assert [node.name for node in graph.node] == ["words", "global_average_pooling1d",
                                                  "dense"]  # fmt: skip
    traces = list((tmp_path / "train" / "plugins" / "profile").glob("*/*.xplane.pb"))
    assert len(traces) == 1

    projector = projector_config_pb2.ProjectorConfig()
    text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), projector)
    (embedding,) = projector.embeddings
    assert (embedding.tensor_name, embedding.metadata_path) == ("words", str(labels))
    assert list(embedding.tensor_shape) == [12, 3]
    table = np.loadtxt(embedding.tensor_path, delimiter="\t")
    weights = model.variables["params"]["words"]["embeddings"]
    np.testing.assert_allclose(table, weights, rtol=1e-6)


def test_metadata_of_a_layer_without_embeddings_is_refused(tmp_path):
    model = _text_model()
    callback = TensorBoard(tmp_path, embeddings_freq=1,
                           embeddings_metadata={"dense": "labels.tsv"})  # fmt: skip
    with pytest.raises(ValueError, match=r"names \['dense'\], which hold no"):
        model.fit(np.zeros((4, 4), np.int32), np.zeros(4, np.int32), verbose=0,
                  callbacks=[callback])  # fmt: skip


@pytest.mark.parametrize(
    ("keywords", "match"),
    [
        ({"histogram_freq": -1}, "histogram_freq"),
        ({"embeddings_freq": 1.5}, "embeddings_freq"),
        ({"profile_batch": (3, 2)}, "profile_batch"),
        ({"profile_batch": "2,x"}, "profile_batch"),
        ({"profile_batch": -1}, "profile_batch"),
    ],
)
def test_bad_keywords_are_named(keywords, match):
    with pytest.raises(ValueError, match=match):
        TensorBoard(**keywords)


@pytest.mark.parametrize(
    ("profile_batch", "expected"),
    [(0, None), (3, (3, 3)), ("2,5", (2, 5)), ("4", (4, 4)), ((1, 2), (1, 2))],
)
def test_profile_batch_forms(profile_batch, expected):
    assert TensorBoard(profile_batch=profile_batch)._profiled == expected
