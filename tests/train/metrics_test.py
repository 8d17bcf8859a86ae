"""Metrics against NumPy and scikit-learn over several jitted batches, and merging."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from stateless.errors import ShapeError
from train import losses, metrics
from train.metrics.confusion import confusion_counts

B, C, NUM_BATCHES = 16, 5, 3
RNG = np.random.default_rng(0)


def _weighted_mean(per_example, w):
    return np.average(per_example, weights=w)


def _onehot(n):
    return np.eye(C)[RNG.integers(0, C, n)]


def _np_counts(y, p, w, thresholds):
    """TP, FP, FN per threshold, by direct comparison."""
    y, p, w = y.ravel() != 0, p.ravel(), np.broadcast_to(w, y.shape).ravel()
    above = p[:, None] > np.asarray(thresholds)[None, :]
    tp = (w[:, None] * (above & y[:, None])).sum(0)
    fp = (w[:, None] * (above & ~y[:, None])).sum(0)
    fn = (w[:, None] * (~above & y[:, None])).sum(0)
    return tp, fp, fn


def _np_precision(y, p, w, thresholds=(0.5,)):
    tp, fp, _ = _np_counts(y, p, w, thresholds)
    return tp / (tp + fp)


def _np_recall(y, p, w, thresholds=(0.5,)):
    tp, _, fn = _np_counts(y, p, w, thresholds)
    return tp / (tp + fn)


def _np_top_k(y, p, w, k):
    top = np.argsort(-p, axis=-1, kind="stable")[:, :k]
    hits = (top == y.argmax(-1)[:, None]).any(-1)
    return _weighted_mean(hits, w)


# name: (metric, data of one batch (y_true, y_pred), NumPy value over all data)
CASES = {
    "accuracy": (
        metrics.Accuracy(),
        lambda: (RNG.integers(0, 3, B), RNG.integers(0, 3, B)),
        lambda y, p, w: _weighted_mean(y == p, w),
    ),
    "binary_accuracy": (
        metrics.BinaryAccuracy(threshold=0.4),
        lambda: (RNG.integers(0, 2, (B, 3)), RNG.uniform(size=(B, 3))),
        lambda y, p, w: _weighted_mean(((p > 0.4) == y).mean(-1), w),
    ),
    "categorical_accuracy": (
        metrics.CategoricalAccuracy(),
        lambda: (_onehot(B), RNG.normal(size=(B, C))),
        lambda y, p, w: _weighted_mean(y.argmax(-1) == p.argmax(-1), w),
    ),
    "sparse_categorical_accuracy": (
        metrics.SparseCategoricalAccuracy(),
        lambda: (RNG.integers(0, C, (B, 1)), RNG.normal(size=(B, C))),
        lambda y, p, w: _weighted_mean(y[:, 0] == p.argmax(-1), w),
    ),
    "top_k_categorical_accuracy": (
        metrics.TopKCategoricalAccuracy(k=2),
        lambda: (_onehot(B), RNG.normal(size=(B, C))),
        lambda y, p, w: _np_top_k(y, p, w, 2),
    ),
    "mean_squared_error": (
        metrics.MeanSquaredError(),
        lambda: (RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3))),
        lambda y, p, w: _weighted_mean(((y - p) ** 2).mean(-1), w),
    ),
    "mean_absolute_error": (
        metrics.MeanAbsoluteError(),
        lambda: (RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3))),
        lambda y, p, w: _weighted_mean(np.abs(y - p).mean(-1), w),
    ),
    "precision": (
        metrics.Precision(),
        lambda: (RNG.integers(0, 2, B), RNG.uniform(size=B)),
        lambda y, p, w: _np_precision(y, p, w)[0],
    ),
    "recall": (
        metrics.Recall(thresholds=0.3),
        lambda: (RNG.integers(0, 2, B), RNG.uniform(size=B)),
        lambda y, p, w: _np_recall(y, p, w, (0.3,))[0],
    ),
    "auc": (
        metrics.AUC(num_thresholds=1000),
        lambda: (RNG.integers(0, 2, B), RNG.uniform(size=B)),
        lambda y, p, w: roc_auc_score(y, p, sample_weight=w),
    ),
}


def _data(name, weighted):
    batches = []
    for _ in range(NUM_BATCHES):
        y, p = CASES[name][1]()
        w = RNG.uniform(0.1, 2.0, B) if weighted else None
        batches.append((y, p.astype(np.float32), w))
    return batches


@functools.cache
def _jitted(metric):
    """One compiled `update` and `result` per metric config (metrics hash)."""
    return jax.jit(metric.update), jax.jit(metric.result)


def _run(metric, batches):
    update, _ = _jitted(metric)
    state = metric.init()
    for y, p, w in batches:
        state = update(state, y, p, w)
    return state


def _evaluate(metric, y_true, y_pred, sample_weight=None):
    update, result = _jitted(metric)
    return result(update(metric.init(), y_true, y_pred, sample_weight))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", CASES)
def test_jitted_batches_then_result_match_numpy_over_all_data(name, weighted):
    metric, _, reference = CASES[name]
    batches = _data(name, weighted)
    result = _jitted(metric)[1](_run(metric, batches))
    y, p = (np.concatenate([b[i] for b in batches]) for i in (0, 1))
    w = np.concatenate([b[2] for b in batches]) if weighted else np.ones(len(y))
    atol = 1e-3 if name == "auc" else 1e-6  # AUC bins the predictions
    np.testing.assert_allclose(result, reference(y, p, w), rtol=1e-5, atol=atol)
    assert result.dtype == jnp.float32 and result.shape == ()


@pytest.mark.parametrize("name", CASES)
def test_merge_of_two_states_equals_sequential_updates(name):
    metric = CASES[name][0]
    a, b = _data(name, weighted=True)[:2]
    merged = metric.merge(_run(metric, [a]), _run(metric, [b]))
    sequential = _run(metric, [a, b])
    assert jax.tree.structure(merged) == jax.tree.structure(sequential)
    for got, want in zip(jax.tree.leaves(merged), jax.tree.leaves(sequential)):
        assert got.dtype == jnp.float32
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_updates_run_inside_lax_scan():
    metric = metrics.SparseCategoricalAccuracy()
    batches = _data("sparse_categorical_accuracy", weighted=True)
    stacked = [np.stack([b[i] for b in batches]) for i in range(3)]

    def step(state, batch):
        return metric.update(state, *batch), None

    scanned, _ = jax.jit(lambda xs: jax.lax.scan(step, metric.init(), xs))(stacked)
    np.testing.assert_allclose(
        metric.result(scanned), metric.result(_run(metric, batches)), rtol=1e-6
    )


def test_mean_weights_entries_as_keras():
    values, w = RNG.normal(size=(B, 3)), RNG.uniform(size=(B, 3))
    m = metrics.Mean()
    update = jax.jit(m.update)
    np.testing.assert_allclose(
        m.result(update(m.init(), values, w)), np.average(values, weights=w), 1e-5
    )
    per_example = update(m.init(), values, w[:, 0])
    np.testing.assert_allclose(
        m.result(per_example), np.average(values.mean(-1), weights=w[:, 0]), 1e-5
    )
    state = update(m.init(), values)
    np.testing.assert_allclose(state["count"], B)
    np.testing.assert_allclose(m.result(state), values.mean(), rtol=1e-5)


@pytest.mark.parametrize("cls", [metrics.Precision, metrics.Recall])
def test_several_unsorted_thresholds_give_one_value_each(cls):
    thresholds = (0.7, 0.2, 0.5, 0.2)
    y, p, w = RNG.integers(0, 2, (B, 2)), RNG.uniform(size=(B, 2)), RNG.uniform(size=B)
    got = _evaluate(cls(thresholds=thresholds), y, p, w)
    reference = _np_precision if cls is metrics.Precision else _np_recall
    expected = reference(y, p, w[:, None], thresholds)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_confusion_counts_are_strict_at_thresholds():
    y = jnp.array([1, 1, 0, 0, 1])
    p = jnp.array([0.5, 0.6, 0.5, 0.2, jnp.nan])
    counts = jax.jit(
        lambda y, p: confusion_counts("test", y, p, None, np.array([0.2, 0.5]))
    )(y, p)
    assert counts["true_positives"].tolist() == [2.0, 1.0]
    assert counts["false_positives"].tolist() == [1.0, 0.0]
    assert counts["false_negatives"].tolist() == [1.0, 2.0]
    assert counts["true_negatives"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("weighted", [False, True])
def test_roc_auc_matches_sklearn(weighted):
    y = RNG.integers(0, 2, 2000)
    p = _sigmoid(RNG.normal(size=2000) + 1.5 * y - 0.75)
    w = RNG.uniform(0.1, 2.0, 2000) if weighted else None
    got = _evaluate(metrics.AUC(), y, p, w)
    assert abs(float(got) - roc_auc_score(y, p, sample_weight=w)) < 1e-3


def test_from_logits_applies_a_sigmoid():
    y, logits = RNG.integers(0, 2, 2000), RNG.normal(size=2000) * 3
    np.testing.assert_allclose(
        _evaluate(metrics.AUC(from_logits=True), y, logits),
        _evaluate(metrics.AUC(), y, _sigmoid(logits)),
        rtol=1e-6,
    )


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_interpolated_pr_auc(y, p, num_thresholds):
    """Davis & Goadrich by numerical integration: TP and P linear between cuts."""
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    cuts = np.array([-1e-7, *inner, 1 + 1e-7], np.float32)
    tp, fp, _ = _np_counts(y, p.astype(np.float32), np.ones(len(y)), cuts)
    area, s = 0.0, (np.arange(400) + 0.5) / 400  # midpoints
    for i in range(num_thresholds - 1):  # from cut i + 1 (fewer) to cut i
        d_tp, d_p = tp[i] - tp[i + 1], tp[i] + fp[i] - tp[i + 1] - fp[i + 1]
        if d_tp == 0:
            continue
        tp_s, p_s = tp[i + 1] + s * d_tp, tp[i + 1] + fp[i + 1] + s * d_p
        area += np.mean(tp_s / p_s) * d_tp / y.sum()
    return area


def test_pr_auc_matches_numerical_integration():
    y = RNG.integers(0, 2, 300)
    p = np.clip(RNG.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    m = metrics.AUC(num_thresholds=50, curve="pr")
    got = _evaluate(m, y, p)
    np.testing.assert_allclose(got, _np_interpolated_pr_auc(y, p, 50), rtol=1e-4)
    perfect = _evaluate(m, y, y * 0.8 + 0.1)
    np.testing.assert_allclose(perfect, 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "metric, y_true, y_pred",
    [
        (metrics.MeanSquaredError(), np.zeros((B, 3)), np.zeros((B, 4))),
        (metrics.CategoricalAccuracy(), np.zeros((B,)), np.zeros((B, C))),
        (metrics.SparseCategoricalAccuracy(), np.zeros((B, 2)), np.zeros((B, C))),
        (metrics.AUC(), np.zeros((B, 2)), np.zeros((B,))),
    ],
)
def test_shape_mismatch_names_metric_and_both_shapes(metric, y_true, y_pred):
    with pytest.raises(ShapeError) as info:
        jax.jit(metric.update)(metric.init(), y_true, y_pred)
    message = str(info.value)
    assert type(metric).__name__ in message and metric.name in message
    assert str(y_true.shape) in message and str(y_pred.shape) in message


def test_sample_weight_of_a_wrong_shape_raises():
    m = metrics.Precision()
    with pytest.raises(ShapeError, match=r"sample_weight of shape \(3,\)"):
        m.update(m.init(), np.zeros(B), np.zeros(B), np.ones(3))


@pytest.mark.parametrize(
    "name, cls",
    [
        ("accuracy", metrics.Accuracy),
        ("acc", metrics.Accuracy),
        ("binary_accuracy", metrics.BinaryAccuracy),
        ("categorical_accuracy", metrics.CategoricalAccuracy),
        ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
        ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
        ("mse", metrics.MeanSquaredError),
        ("mean_squared_error", metrics.MeanSquaredError),
        ("mae", metrics.MeanAbsoluteError),
        ("precision", metrics.Precision),
        ("recall", metrics.Recall),
        ("auc", metrics.AUC),
        ("mean", metrics.Mean),
    ],
)
def test_get_by_name_keeps_the_name(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls and metric.name == name


def test_get_by_class_name_objects_and_unknown_names():
    assert metrics.get("AUC").name == "auc"
    auc = metrics.AUC(curve="PR")
    assert metrics.get(auc) is auc and metrics.get(metrics.AUC) == metrics.AUC()
    with pytest.raises(ValueError, match="unknown metric 'acuracy'.*accuracy, auc"):
        metrics.get("acuracy")
    with pytest.raises(TypeError):
        metrics.get(3)


@pytest.mark.parametrize(
    "loss, expected",
    [
        ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy()),
        (losses.CategoricalCrossentropy(), metrics.CategoricalAccuracy()),
        (losses.BinaryCrossentropy(), metrics.BinaryAccuracy(threshold=0.5)),
        (losses.BinaryCrossentropy(from_logits=True), metrics.BinaryAccuracy(0.0)),
        ("mse", metrics.Accuracy()),
        (None, metrics.Accuracy()),
    ],
)
@pytest.mark.parametrize("alias", ["accuracy", "acc"])
def test_resolve_picks_the_accuracy_for_the_loss(loss, expected, alias):
    resolved = metrics.resolve(alias, loss)
    assert type(resolved) is type(expected) and resolved.name == alias
    assert getattr(resolved, "threshold", None) == getattr(expected, "threshold", None)
    assert metrics.resolve("auc", loss) == metrics.AUC()


@pytest.mark.parametrize(
    "metric",
    [
        metrics.Mean(name="loss"),
        metrics.BinaryAccuracy(threshold=0.0),
        metrics.TopKCategoricalAccuracy(k=3),
        metrics.Precision(thresholds=[0.2, 0.8]),
        metrics.AUC(num_thresholds=10, curve="pr", from_logits=True),
    ],
)
def test_config_round_trip(metric):
    config = metric.get_config()
    assert type(metric).from_config(config) == metric
    rebuilt = metrics.get({"class_name": type(metric).__name__, "config": config})
    assert rebuilt == metric and hash(rebuilt) == hash(metric)


@pytest.mark.parametrize(
    "make",
    [
        lambda: metrics.AUC(num_thresholds=1),
        lambda: metrics.AUC(curve="ROCPR"),
        lambda: metrics.Precision(thresholds=1.5),
        lambda: metrics.TopKCategoricalAccuracy(k=0),
    ],
)
def test_invalid_hyperparameters_raise(make):
    with pytest.raises(ValueError):
        make()
