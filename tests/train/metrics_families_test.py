"""The metric families beyond their numbers (held to Keras in
metrics_keras_test.py): configs round-trip, names resolve, `fit` logs them and
`evaluate` reports what the same metric says of `predict`'s outputs, and a
compiled model comes back from its archive with them."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

import nn
from nn import layers
from train import losses, metrics, optimizers

NON_DEFAULT = [
    metrics.Mean(name="m"),
    metrics.Sum(),
    metrics.Accuracy(),
    metrics.BinaryAccuracy(threshold=0.2),
    metrics.CategoricalAccuracy(),
    metrics.SparseCategoricalAccuracy(),
    metrics.TopKCategoricalAccuracy(k=3),
    metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
    metrics.MeanSquaredError(),
    metrics.MeanAbsoluteError(),
    metrics.MeanAbsolutePercentageError(),
    metrics.MeanSquaredLogarithmicError(),
    metrics.RootMeanSquaredError(),
    metrics.LogCoshError(),
    metrics.CosineSimilarity(axis=1),
    metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    metrics.CategoricalCrossentropy(axis=1),
    metrics.SparseCategoricalCrossentropy(ignore_class=0),
    metrics.KLDivergence(),
    metrics.Poisson(),
    metrics.Hinge(),
    metrics.SquaredHinge(),
    metrics.CategoricalHinge(),
    metrics.PearsonCorrelation(axis=0),
    metrics.ConcordanceCorrelation(axis=0),
    metrics.TruePositives(thresholds=(0.2, 0.4)),
    metrics.FalsePositives(thresholds=0.7),
    metrics.TrueNegatives(),
    metrics.FalseNegatives(),
    metrics.Precision(thresholds=(0.3, 0.7), class_id=1),
    metrics.Recall(top_k=2),
    metrics.AUC(num_thresholds=20),
    metrics.SensitivityAtSpecificity(0.8, num_thresholds=50),
    metrics.SpecificityAtSensitivity(0.4, class_id=2),
    metrics.PrecisionAtRecall(recall=0.9),
    metrics.RecallAtPrecision(precision=0.3),
    metrics.F1Score(average="macro", threshold=0.4),
    metrics.FBetaScore(average="weighted", beta=2.0),
    metrics.R2Score(class_aggregation=None, num_regressors=3),
    metrics.IoU(3, [0, 2], ignore_class=1, sparse_y_pred=False),
    metrics.BinaryIoU(target_class_ids=[1], threshold=0.3),
    metrics.MeanIoU(4, axis=1),
    metrics.OneHotIoU(3, [1], sparse_y_pred=True),
    metrics.OneHotMeanIoU(5, ignore_class=0),
    metrics.AUC(
        thresholds=[0.2, 0.5],
        multi_label=True,
        num_labels=3,
        label_weights=[1.0, 2.0, 0.5],
        summation_method="minoring",
    ),
]


def test_every_class_has_a_non_default_case_here():
    every = set(metrics.CLASSES) | set(metrics._REQUIRING)
    assert {type(m) for m in NON_DEFAULT} == every


@pytest.mark.parametrize(
    "build, message",
    [(lambda: metrics.PrecisionAtRecall(1.5),
      r"recall must lie in \[0, 1\], received 1.5"),
     (lambda: metrics.RecallAtPrecision(0.5, num_thresholds=0),
      "num_thresholds must be an int > 0, got 0"),
     (lambda: metrics.TruePositives(thresholds=(0.5, 2.0)),
      r"thresholds must be numbers in \[0, 1\]"),
     (lambda: metrics.F1Score(average="mean"),
      "F1Score 'f1_score': average='mean'; expected one of"),
     (lambda: metrics.FBetaScore(beta=0), "beta must be a number > 0, got 0"),
     (lambda: metrics.R2Score(num_regressors=-1), "num_regressors must be an int"),
     (lambda: metrics.IoU(3, [0, 3]), r"target_class_ids=\[0, 3\] must be class"),
     (lambda: metrics.AUC(num_labels=3), "num_labels=3 is read only with multi_label"),
     (lambda: metrics.AUC(summation_method="left"), "unknown summation_method")],
)  # fmt: skip
def test_bad_hyperparameters_are_refused_by_name(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("metric", NON_DEFAULT, ids=lambda m: type(m).__name__)
def test_a_metric_round_trips_through_its_config_as_json(metric):
    data = json.loads(json.dumps(metrics.serialize(metric)))
    rebuilt = metrics.deserialize(data)
    assert rebuilt == metric and hash(rebuilt) == hash(metric)


@pytest.mark.parametrize(
    "name, cls",
    [("rmse", metrics.RootMeanSquaredError),
     ("mape", metrics.MeanAbsolutePercentageError),
     ("logcosh", metrics.LogCoshError), ("kld", metrics.KLDivergence),
     ("pearson_correlation", metrics.PearsonCorrelation), ("sum", metrics.Sum),
     ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy)],
)  # fmt: skip
def test_keras_names_resolve_and_name_the_log(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls and metric.name == name


def test_a_metric_refuses_a_dtype_other_than_float32_and_says_why():
    assert metrics.Mean(dtype="float32").dtype == "float32"
    with pytest.raises(ValueError, match="Mean 'mean': dtype='float16': accumulators"):
        metrics.Mean(dtype="float16")


def test_a_wrapper_of_an_unknown_function_cannot_come_back_from_a_config():
    wrapper = metrics.MeanMetricWrapper(lambda t, p: abs(t - p), name="gap")
    with pytest.raises(ValueError, match="cannot rebuild fn='<lambda>'"):
        metrics.deserialize(metrics.serialize(wrapper))


def test_fit_logs_regression_metrics_that_evaluate_agrees_with(tmp_path):
    x, y = load_diabetes(return_X_y=True)
    x, y = x.astype(np.float32), (y / 100.0).astype(np.float32)[:, None]
    model = nn.Sequential([layers.Input((10,)), layers.Dense(16, activation="relu"),
                           layers.Dense(1)])  # fmt: skip
    tracked = ["rmse", "mape", metrics.PearsonCorrelation(axis=0),
               metrics.LogCoshError(),
               metrics.MeanMetricWrapper(losses.huber)]  # fmt: skip
    model.compile(optimizer=optimizers.Adam(1e-2), loss="mse", metrics=tracked)
    history = model.fit(x[:384], y[:384], batch_size=384, epochs=60, verbose=0)
    names = ["loss", "rmse", "mape", "pearson_correlation", "logcosh", "huber"]
    assert list(history.history) == names
    scores = model.evaluate(x[384:], y[384:], batch_size=58, return_dict=True)
    assert scores["pearson_correlation"] > 0.6  # it learned something
    predictions = model.predict(x[384:], batch_size=58, verbose=0)
    rmse = metrics.RootMeanSquaredError()
    state = rmse.update(rmse.init(), y[384:], predictions)
    np.testing.assert_allclose(scores["rmse"], float(rmse.result(state)), rtol=1e-5)
    model.save(tmp_path / "m.stateless")
    again = nn.load_model(tmp_path / "m.stateless").evaluate(
        x[384:], y[384:], batch_size=58, return_dict=True
    )
    assert again == scores


def test_a_state_sized_by_the_data_widens_on_its_first_update():
    y = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 1]]
    for metric, wide in [(metrics.F1Score(), (4,)),
                         (metrics.R2Score(class_aggregation=None), (4,)),
                         (metrics.AUC(multi_label=True), (200, 4))]:  # fmt: skip
        fresh = metric.init()
        state = metric.update(fresh, y, y * 0.8 + 0.05)
        assert {v.shape for v in state.values() if v.ndim} == {wide}
        merged = metric.merge(fresh, state)
        for key in state:
            np.testing.assert_array_equal(merged[key], state[key])
    assert all(v.shape == () for v in metrics.F1Score(average="micro").init().values())


def test_fit_fuses_steps_with_metrics_sized_by_the_data_and_evaluate_agrees(capsys):
    x, labels = load_digits(return_X_y=True)
    x, y = (x / 16.0).astype(np.float32), np.eye(10, dtype=np.float32)[labels]
    model = nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                           layers.Dense(10, activation="softmax")])  # fmt: skip
    tracked = [metrics.F1Score(average="macro"), metrics.F1Score(name="f1_per_class"),
               metrics.AUC(multi_label=True, num_thresholds=50)]  # fmt: skip
    model.compile(optimizer=optimizers.Adam(1e-2), loss="categorical_crossentropy",
                  metrics=tracked, steps_per_execution=4)  # fmt: skip
    # 1500 examples in batches of 64: 5 fused executions of 4 steps, then 3 single
    history = model.fit(x[:1500], y[:1500], batch_size=64, epochs=2, verbose=0)
    assert np.shape(history.history["f1_per_class"][-1]) == (10,)
    scores = model.evaluate(x[1500:], y[1500:], batch_size=99, return_dict=True)
    assert "f1_per_class: [" in capsys.readouterr().out  # one number per class
    assert scores["f1_score"] > 0.8
    predictions = model.predict(x[1500:], batch_size=99, verbose=0)
    for metric in tracked:
        state = jax.jit(metric.update)(metric.init(), y[1500:], predictions)
        np.testing.assert_allclose(
            scores[metric.name], metric.result(state), rtol=1e-5, atol=1e-6
        )
