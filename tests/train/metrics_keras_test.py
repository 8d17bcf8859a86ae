"""Keras 3's metrics here under their names: results, result dtypes and
signatures compared with the installed Keras on the same batches.

Keras runs in a subprocess on its JAX backend (tests/keras_reference.py). Each
case feeds two batches, the second with sample weights, to Keras's metric
(`update_state` twice, then `result`) and to ours (`update` twice on one
state), and holds ours to 1e-5; the function forms are compared on the first
batch.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import keras_reference
from tests.keras_reference import assert_close_to_keras as _close
from train import losses, metrics

B, C = 8, 4
# (case, class name, keywords, data)
CASES = [
    ("mean", "Mean", {}, "values"),
    ("sum", "Sum", {}, "values"),
    ("accuracy", "Accuracy", {}, "ints"),
    ("binary_accuracy", "BinaryAccuracy", {"threshold": 0.3}, "binary"),
    ("categorical_accuracy", "CategoricalAccuracy", {}, "onehot"),
    ("sparse_categorical_accuracy", "SparseCategoricalAccuracy", {}, "sparse"),
    ("top_k", "TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("sparse_top_k", "SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("sparse_top_k_sorted_ids", "SparseTopKCategoricalAccuracy",
     {"k": 2, "from_sorted_ids": True}, "sorted_ids"),
    ("mse", "MeanSquaredError", {}, "real"),
    ("mae", "MeanAbsoluteError", {}, "real"),
    ("mape", "MeanAbsolutePercentageError", {}, "positive"),
    ("msle", "MeanSquaredLogarithmicError", {}, "positive"),
    ("rmse", "RootMeanSquaredError", {}, "real"),
    ("logcosh", "LogCoshError", {}, "real"),
    ("cosine", "CosineSimilarity", {"axis": -1}, "real"),
    ("bce_logits", "BinaryCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("cce", "CategoricalCrossentropy", {"label_smoothing": 0.2}, "onehot"),
    ("scce_ignore", "SparseCategoricalCrossentropy",
     {"from_logits": True, "ignore_class": 1}, "sparse_logits"),
    ("kl", "KLDivergence", {}, "distributions"),
    ("poisson", "Poisson", {}, "counts"),
    ("hinge", "Hinge", {}, "binary_logits"),
    ("squared_hinge", "SquaredHinge", {}, "binary_logits"),
    ("categorical_hinge", "CategoricalHinge", {}, "onehot"),
    ("pearson", "PearsonCorrelation", {}, "real"),
    ("concordance", "ConcordanceCorrelation", {}, "real"),
    ("tp", "TruePositives", {}, "binary"),
    ("fp_two_thresholds", "FalsePositives", {"thresholds": [0.2, 0.6]}, "binary"),
    ("tn", "TrueNegatives", {"thresholds": 0.3}, "binary"),
    ("fn", "FalseNegatives", {}, "binary"),
    ("precision", "Precision", {}, "binary"),
    ("precision_top_k", "Precision", {"top_k": 2}, "onehot"),
    ("precision_top_2_class_0", "Precision", {"top_k": 2, "class_id": 0}, "onehot"),
    ("recall_class_1", "Recall", {"class_id": 1, "thresholds": 0.2}, "onehot"),
    ("recall_two_thresholds", "Recall", {"thresholds": [0.3, 0.5]}, "binary"),
    ("sensitivity_at_specificity", "SensitivityAtSpecificity",
     {"specificity": 0.6}, "binary"),
    ("specificity_at_sensitivity", "SpecificityAtSensitivity",
     {"sensitivity": 0.7, "num_thresholds": 50}, "binary"),
    ("precision_at_recall_class_0", "PrecisionAtRecall",
     {"recall": 0.5, "class_id": 0}, "onehot"),
    ("recall_at_precision", "RecallAtPrecision", {"precision": 0.6}, "binary"),
    ("auc", "AUC", {}, "binary"),
    ("auc_pr", "AUC", {"curve": "PR", "num_thresholds": 50}, "binary"),
    ("auc_multi_label", "AUC", {"multi_label": True, "num_thresholds": 30}, "binary"),
    ("auc_multi_label_pr_weighted", "AUC",
     {"multi_label": True, "num_labels": C, "curve": "PR",
      "label_weights": [1.0, 2.0, 0.5, 1.0]}, "binary"),
    ("auc_label_weights", "AUC", {"label_weights": [1.0, 0.0, 2.0, 1.0]}, "binary"),
    ("auc_thresholds_minoring", "AUC",
     {"thresholds": [0.7, 0.2, 0.5], "summation_method": "minoring"}, "binary"),
    ("auc_prgain_majoring", "AUC",
     {"curve": "PRGAIN", "summation_method": "majoring"}, "binary"),
    ("auc_pr_majoring_multi_label", "AUC",
     {"curve": "PR", "summation_method": "majoring", "multi_label": True}, "binary"),
    ("f1_per_class", "F1Score", {}, "onehot"),
    ("f1_macro", "F1Score", {"average": "macro", "threshold": 0.3}, "binary"),
    ("fbeta_micro", "FBetaScore",
     {"average": "micro", "beta": 2.0, "threshold": 0.4}, "binary"),
    ("fbeta_weighted", "FBetaScore", {"average": "weighted", "beta": 0.5}, "onehot"),
    ("r2", "R2Score", {}, "real"),
    ("r2_per_output", "R2Score", {"class_aggregation": None}, "real"),
    ("r2_variance_weighted_adjusted", "R2Score",
     {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, "real"),
    # Keras's IoU family counts in int32 by default, truncating fractional
    # weights to 0 (against its own docstring); float32 compares like with like.
    ("iou", "IoU", {"num_classes": C, "target_class_ids": [0, 2],
                    "sparse_y_pred": False, "dtype": "float32"}, "sparse"),
    ("mean_iou_ignore", "MeanIoU",
     {"num_classes": 3, "ignore_class": 1, "dtype": "float32"}, "ints"),
    ("binary_iou", "BinaryIoU",
     {"target_class_ids": [0, 1], "threshold": 0.4, "dtype": "float32"},
     "binary_column"),
    ("one_hot_iou", "OneHotIoU",
     {"num_classes": C, "target_class_ids": [1, 3], "dtype": "float32"}, "onehot"),
    ("one_hot_mean_iou", "OneHotMeanIoU", {"num_classes": C, "dtype": "float32"},
     "onehot"),
]  # fmt: skip
FUNCTIONS = [
    ("accuracy", {}, "ints"),
    ("binary_accuracy", {"threshold": 0.3}, "binary"),
    ("categorical_accuracy", {}, "onehot"),
    ("sparse_categorical_accuracy", {}, "sparse"),
    ("top_k_categorical_accuracy", {"k": 2}, "onehot"),
    ("sparse_top_k_categorical_accuracy", {"k": 2}, "sparse"),
    ("pearson_correlation", {}, "real"),
    ("concordance_correlation", {}, "real"),
]


def _probs(rng, shape):
    x = rng.uniform(0.05, 1.0, shape)
    return (x / x.sum(-1, keepdims=True)).astype(np.float32)


def _batch(kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The same `(y_true, y_pred)` in both processes."""
    rng = np.random.default_rng(seed * 1000 + sum(map(ord, kind)))
    f32 = np.float32
    if kind == "values":
        return None, rng.normal(size=(B, C)).astype(f32)
    if kind == "ints":
        return rng.integers(0, 3, (B, 1)), rng.integers(0, 3, (B, 1))
    if kind == "real":
        return rng.normal(size=(B, C)).astype(f32), rng.normal(size=(B, C)).astype(f32)
    if kind == "positive":
        return (rng.uniform(0.5, 2, (B, C)).astype(f32),
                rng.uniform(0.1, 3, (B, C)).astype(f32))  # fmt: skip
    if kind == "binary_column":  # Keras's IoU takes one weight per entry
        return rng.integers(0, 2, B).astype(f32), rng.uniform(0, 1, B).astype(f32)
    if kind in ("binary", "binary_logits"):
        y = rng.integers(0, 2, (B, C)).astype(f32)
        if kind == "binary":
            return y, rng.uniform(0, 1, (B, C)).astype(f32)
        return y, (2 * rng.normal(size=(B, C))).astype(f32)
    if kind == "onehot":
        return np.eye(C, dtype=f32)[rng.integers(0, C, B)], _probs(rng, (B, C))
    if kind in ("sparse", "sparse_logits"):
        y = rng.integers(0, C, B).astype(np.int32)
        p = _probs(rng, (B, C)) if kind == "sparse" else rng.normal(size=(B, C))
        return y, p.astype(f32)
    if kind == "sorted_ids":
        ids = np.stack([rng.permutation(C) for _ in range(B)]).astype(f32)
        return rng.integers(0, C, B).astype(f32), ids
    if kind == "distributions":
        return _probs(rng, (B, C)), _probs(rng, (B, C))
    if kind == "counts":
        return (rng.integers(0, 5, (B, C)).astype(f32),
                rng.uniform(0.2, 4, (B, C)).astype(f32))  # fmt: skip
    raise ValueError(kind)


def _weights() -> np.ndarray:
    return np.linspace(0.0, 2.0, B).astype(np.float32)


def _keras_side(path):
    import keras
    from keras.src.metrics import accuracy_metrics  # `accuracy` is not exported

    def keras_function(name):
        return getattr(keras.metrics, name, None) or getattr(accuracy_metrics, name)

    out = {}
    for case, cls, kwargs, kind in CASES:
        metric = getattr(keras.metrics, cls)(**kwargs)
        for seed, weights in ((0, None), (1, _weights())):
            y, p = _batch(kind, seed)
            if y is None:
                metric.update_state(p, sample_weight=weights)
            else:
                metric.update_state(y, p, sample_weight=weights)
        out[f"{case}/result"] = np.asarray(metric.result())
    for name, kwargs, kind in FUNCTIONS:
        y, p = _batch(kind, 0)
        out[f"{name}/function"] = np.asarray(keras_function(name)(y, p, **kwargs))
    wrapper = keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=0.5)
    y, p = _batch("real", 0)
    wrapper.update_state(y, p, sample_weight=_weights())
    out["wrapper/result"] = np.asarray(wrapper.result())
    names = [n for n in dir(keras.metrics) if not n.startswith("_")]
    out["names"] = np.array(json.dumps(names))
    classes = {cls for _, cls, _, _ in CASES}
    found = {name: getattr(keras.metrics, name) for name in classes}
    found.update({name: keras_function(name) for name, _, _ in FUNCTIONS})
    signatures = {name: keras_reference.signature_data(f) for name, f in found.items()}
    out["signatures"] = np.array(json.dumps(signatures))
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras_metrics") / "numbers.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case, cls, kwargs, kind", CASES, ids=[c[0] for c in CASES])
def test_a_metric_over_two_batches_matches_keras(keras, case, cls, kwargs, kind):
    import jax

    metric = getattr(metrics, cls)(**kwargs)
    state = metric.init()
    for seed, weights in ((0, None), (1, _weights())):
        y, p = _batch(kind, seed)
        args = (p,) if y is None else (y, p)
        state = jax.jit(metric.update)(state, *args, weights)
    _close(metric.result(state), keras[f"{case}/result"], case)


@pytest.mark.parametrize("name, kwargs, kind", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_a_metric_function_matches_keras(keras, name, kwargs, kind):
    y, p = _batch(kind, 0)
    _close(getattr(metrics, name)(y, p, **kwargs), keras[f"{name}/function"], name)


def test_mean_metric_wrapper_wraps_a_loss_function_as_keras_does(keras):
    wrapper = metrics.MeanMetricWrapper(losses.huber, delta=0.5)
    y, p = _batch("real", 0)
    state = wrapper.update(wrapper.init(), y, p, _weights())
    _close(wrapper.result(state), keras["wrapper/result"], "MeanMetricWrapper")
    assert metrics.deserialize(metrics.serialize(wrapper)) == wrapper


def test_every_keras_metric_name_is_here(keras):
    names = json.loads(str(keras["names"]))
    missing = [n for n in names if not hasattr(metrics, n)]
    assert not missing, f"keras.metrics names missing from train.metrics: {missing}"
    assert len(names) == 72


@pytest.mark.parametrize(
    "name",
    sorted({c[1] for c in CASES}) + [f[0] for f in FUNCTIONS],
)
def test_signature_matches_keras(keras, name):
    # The one deliberate difference, `name` defaulting to None (Keras's name
    # then), is allowed by assert_signature_matches_keras.
    theirs = json.loads(str(keras["signatures"]))[name]
    keras_reference.assert_signature_matches_keras(getattr(metrics, name), theirs)
