"""`fit / evaluate / predict` called the way Keras scripts call them: values in
Keras's order, Keras's keywords, several inputs, and the callback hooks in the
order the installed Keras calls them (Keras is a reference here, never a
dependency of the framework)."""

import inspect
import os

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import load_digits

import nn
from nn import layers
from train import callbacks

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

_rng = np.random.default_rng(0)
X1 = _rng.standard_normal((40, 3)).astype(np.float32)
X2 = _rng.standard_normal((40, 2)).astype(np.float32)
Y = (X1.sum(1, keepdims=True) - 2 * X2[:, :1]).astype(np.float32)


def _two_input_model():
    a, b = layers.Input((3,), name="a"), layers.Input((2,), name="b")
    model = nn.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
    model.compile(
        optimizer=nn.optimizers.Adam(0.05), loss="mse", metrics=["mse", "mae"]
    )
    return model


def test_digits_loss_and_accuracy_unpack_in_keras_order():
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = (x[order] / 16.0).astype(np.float32), y[order].astype(np.int32)
    model = nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                           layers.Dense(10)])  # fmt: skip
    model.compile(
        optimizer="adam",
        loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],  # "accuracy" sorts before "loss"
    )
    model.fit(x[:1400], y[:1400], epochs=15, verbose=0, seed=0)
    x_test, y_test = x[1400:], y[1400:]
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    logits = np.asarray(model.predict(x_test, verbose=0), np.float64)
    log_p = logits - logsumexp(logits, axis=1, keepdims=True)
    by_hand = -log_p[np.arange(len(y_test)), y_test].mean()
    assert loss == pytest.approx(by_hand, rel=1e-4)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == y_test), abs=1e-6)
    assert acc >= 0.93
    assert model.metrics_names == ["loss", "accuracy"]


def test_logs_follow_the_compiled_order_everywhere():
    model = _two_input_model()
    history = model.fit([X1, X2], Y, epochs=2, validation_data=([X1, X2], Y),
                        verbose=0, seed=0)  # fmt: skip
    assert list(history.history) == [
        "loss", "mse", "mae", "val_loss", "val_mse", "val_mae"
    ]  # fmt: skip
    values = model.evaluate([X1, X2], Y, verbose=0)
    as_dict = model.evaluate([X1, X2], Y, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "mse", "mae"]
    assert values == list(as_dict.values())
    assert values[0] == pytest.approx(values[1])  # the loss is the MSE


def test_several_inputs_as_a_list_a_tuple_or_a_dict():
    model = _two_input_model()
    history = model.fit([X1, X2], Y, batch_size=8, epochs=30, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    by_list = np.asarray(model.predict([X1, X2], verbose=0))
    np.testing.assert_array_equal(model.predict((X1, X2), verbose=0), by_list)
    np.testing.assert_array_equal(model.predict({"b": X2, "a": X1}, verbose=0), by_list)
    assert model.evaluate({"a": X1, "b": X2}, Y, verbose=0) == model.evaluate(
        [X1, X2], Y, verbose=0
    )
    with pytest.raises(ValueError, match=r"expected 2 inputs \['a', 'b'\]"):
        model.predict([X1], verbose=0)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        model.evaluate({"a": X1}, Y, verbose=0)


class _Counts(callbacks.Callback):
    """Counts the batches of each training epoch and of each evaluation."""

    def __init__(self):
        super().__init__()
        self.train, self.test = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.train.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.train[-1] += 1

    def on_test_begin(self, logs=None):
        self.test.append(0)

    def on_test_batch_end(self, batch, logs=None):
        self.test[-1] += 1


def test_steps_per_epoch_validation_steps_and_freq():
    model, counts = _two_input_model(), _Counts()
    history = model.fit(
        [X1, X2], Y, batch_size=4, epochs=3, steps_per_epoch=4,
        validation_data=([X1, X2], Y), validation_steps=2,
        validation_batch_size=5, validation_freq=[1, 3],
        callbacks=[counts], verbose=0,
    )  # fmt: skip
    # 10 batches a pass: the third epoch ends with the pass, as Keras's does
    assert counts.train == [4, 4, 2] and counts.test == [2, 2]
    assert len(history.history["loss"]) == 3
    assert len(history.history["val_loss"]) == 2
    counts = _Counts()
    model.fit([X1, X2], Y, epochs=4, validation_data=([X1, X2], Y),
              validation_freq=2, callbacks=[counts], verbose=0)  # fmt: skip
    assert counts.train == [2] * 4  # batch_size=None is 32 for arrays: 40 -> 2
    assert counts.test == [2, 2]  # after epochs 2 and 4, in batches of 32 too


def test_steps_stops_evaluate_and_predict_on_endless_data():
    def forever():
        while True:
            yield (X1[:8], X2[:8]), Y[:8]

    model, counts = _two_input_model(), _Counts()
    model.fit([X1, X2], Y, verbose=0)
    model.evaluate(forever(), steps=3, callbacks=[counts], verbose=0)
    assert counts.test == [3]
    inputs_only = ((x,) for x, _ in forever())
    assert np.asarray(model.predict(inputs_only, steps=2, verbose=0)).shape == (16, 1)


def _recorder(base):
    """A callback of class `base` that records each hook as `(name, *ints,
    logs keys)`, whichever way (positional or keyword) the logs arrive."""

    def record(hook):
        def on(self, *args, logs=None):
            logs = next((a for a in args if isinstance(a, dict)), logs)
            ints = tuple(a for a in args if isinstance(a, int))
            self.seen.append((hook, *ints, tuple(logs or ())))

        return on

    hooks = [h for h in vars(callbacks.Callback) if h.startswith("on_")]
    return type("Recorder", (base,), {"seen": None} | {h: record(h) for h in hooks})


def _calls_seen(make_model, make_callback):
    x = np.linspace(-1, 1, 40, dtype=np.float32).reshape(10, 4)
    y = x[:, :2] * 2
    model, recorder = make_model(), make_callback()
    recorder.seen = []
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:6], y[:6]),
              callbacks=[recorder], verbose=0)  # fmt: skip
    model.evaluate(x, y, batch_size=4, callbacks=[recorder], verbose=0)
    model.predict(x, batch_size=4, callbacks=[recorder], verbose=0)
    return recorder.seen


def test_callback_hooks_come_in_keras_order_with_keras_logs():
    ours = _calls_seen(
        lambda: nn.Sequential([layers.Input((4,)), layers.Dense(2)]),
        _recorder(callbacks.Callback),
    )
    theirs = _calls_seen(
        lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]),
        _recorder(keras.callbacks.Callback),
    )
    assert ours == theirs
    assert {seen[0] for seen in theirs} == {
        h for h in vars(callbacks.Callback) if h.startswith("on_")
    }  # every hook was recorded
    assert ("on_train_end", ("loss", "mae", "val_loss", "val_mae")) in ours


# Deliberate differences from Keras's signatures, each with its reason.
ALLOWED = {
    "compile": {"distribution"},  # ours, keyword-only: shards fit and evaluate
    "fit": {"seed"},  # ours, keyword-only: fixes shuffling, dropout and init
    "evaluate": {"kwargs"},  # Keras's private switches for fit's validation
    "predict": set(),
    "train_on_batch": set(),
    "test_on_batch": set(),
    "predict_on_batch": set(),
    "summary": set(),
}


@pytest.mark.parametrize("method", sorted(ALLOWED))
def test_signatures_match_the_installed_keras(method):
    ours = inspect.signature(getattr(nn.Model, method)).parameters
    theirs = inspect.signature(getattr(keras.Model, method)).parameters
    assert [n for n in theirs if n not in ALLOWED[method]] == [
        n for n in ours if n not in ALLOWED[method]
    ]  # same names, same positions
    for name, parameter in theirs.items():
        if name not in ALLOWED[method]:
            assert ours[name].default == parameter.default, name
            assert ours[name].kind == parameter.kind, name


def test_verbose_draws_a_bar_a_line_or_nothing(capsys):
    model = _two_input_model()
    model.fit([X1, X2], Y, verbose=0)
    model.evaluate([X1, X2], Y, batch_size=8, verbose=0)
    model.predict([X1, X2], verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate([X1, X2], Y, batch_size=8, verbose=2)
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("5/5") and "mae: " in line
    model.evaluate([X1, X2], Y, batch_size=8)  # "auto": a progress bar
    last = capsys.readouterr().out.split("\r")[-1]  # a bar may redraw with \r
    assert last.startswith("5/5 ") and last.endswith("\n")
    model.predict([X1, X2], batch_size=8, verbose=1)
    assert capsys.readouterr().out.split("\r")[-1].startswith("5/5")
    with pytest.raises(ValueError, match="verbose must be"):
        model.evaluate([X1, X2], Y, verbose=3)


def test_a_keras_script_runs_with_renamed_imports():
    import nn as keras  # the only line a Keras user changes
    from nn import layers

    (x, y) = load_digits(return_X_y=True)
    x_train, y_train = x[:1500].astype("float32") / 16, y[:1500]
    x_test, y_test = x[1500:].astype("float32") / 16, y[1500:]
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=5, validation_split=0.1,
              verbose=0)  # fmt: skip
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test[:3], verbose=0)
    # No seed, as in most Keras scripts: the global key depends on the tests
    # run before; 13 draws reached 0.84 to 0.90.
    assert acc > 0.8 and 0 < loss < 1 and predictions.shape == (3, 10)
