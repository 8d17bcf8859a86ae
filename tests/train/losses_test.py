"""Losses against independent NumPy references: values, weights, reductions, grads."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from stateless.errors import ShapeError
from train import losses

EPS = 1e-7
ONE_MINUS_EPS = float(np.float32(1 - EPS))  # the bound as float32 holds it, as Keras
B, C = 6, 4
RNG = np.random.default_rng(0)
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]


def _probs(shape):
    x = RNG.uniform(0.05, 1.0, shape)
    return x / x.sum(-1, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


# --- NumPy references, per example, in float64 ------------------------------------


def np_mse(y, p):
    return ((y - p) ** 2).mean(-1)


def np_mae(y, p):
    return np.abs(y - p).mean(-1)


def np_huber(y, p, delta=1.0):
    e = np.abs(p - y)
    return np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta)).mean(-1)


def np_bce(y, p, from_logits=False, label_smoothing=0.0):
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    p = _sigmoid(p) if from_logits else np.clip(p, EPS, ONE_MINUS_EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)


def np_cce(y, p, from_logits=False, label_smoothing=0.0):
    y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    if from_logits:
        log_p = _log_softmax(p)
    else:
        log_p = np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, ONE_MINUS_EPS))
    return -(y * log_p).sum(-1)


def np_scce(labels, p, from_logits=False, ignore_class=None):
    """Per-example values (0 where ignored) and the mask of counted entries."""
    mask = labels != ignore_class
    log_p = (
        _log_softmax(p)
        if from_logits
        else np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, ONE_MINUS_EPS))
    )
    picked = np.take_along_axis(log_p, np.where(mask, labels, 0)[..., None], -1)
    return np.where(mask, -picked[..., 0], 0.0), mask


def np_reduce(values, weights, reduction, mask=None):
    """Keras 3's reduction, written out: weights, mask, then the divisor."""
    w = (
        np.ones_like(values)
        if weights is None
        else np.broadcast_to(weights, values.shape)
    )
    if mask is not None:
        w = w * mask
        if reduction in ("sum_over_batch_size", "mean"):
            w = w * (mask.size / mask.sum())
    weighted = values * w
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight":
        return weighted.sum() / w.sum()
    return weighted.sum() / values.size


CASES = ["mse", "mae", "huber", "bce", "cce", "scce"]


def _case(name):
    """A loss at its defaults, y_true, y_pred and the NumPy per-example values."""
    y, p = RNG.normal(size=(B, C)), RNG.normal(size=(B, C))
    bits, unit = RNG.integers(0, 2, (B, C)), RNG.uniform(0, 1, (B, C))
    labels, probs = RNG.integers(0, C, B), _probs((B, C))
    onehot = np.eye(C)[labels]
    return {
        "mse": (losses.MeanSquaredError(), y, p, np_mse(y, p)),
        "mae": (losses.MeanAbsoluteError(), y, p, np_mae(y, p)),
        "huber": (losses.Huber(delta=0.7), y, p, np_huber(y, p, 0.7)),
        "bce": (losses.BinaryCrossentropy(), bits, unit, np_bce(bits, unit)),
        "cce": (losses.CategoricalCrossentropy(), onehot, probs, np_cce(onehot, probs)),
        "scce": (
            losses.SparseCategoricalCrossentropy(),
            labels,
            probs,
            np_scce(labels, probs)[0],
        ),
    }[name]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_numpy_for_every_reduction_and_weighting(name, reduction, weighted):
    base, y_true, y_pred, per_example = _case(name)
    loss = type(base).from_config({**base.get_config(), "reduction": reduction})
    weights = RNG.uniform(0, 2, B) if weighted else None
    got = loss(jnp.asarray(y_true), jnp.asarray(y_pred, jnp.float32), weights)
    assert got.dtype == jnp.float32
    assert got.shape == ((B,) if reduction == "none" else ())
    np.testing.assert_allclose(
        got, np_reduce(per_example, weights, reduction), rtol=1e-5
    )


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_binary_crossentropy_logits_and_smoothing(from_logits, label_smoothing):
    y = RNG.integers(0, 2, (B, 3)).astype(float)
    p = RNG.normal(size=(B, 3)) * 4 if from_logits else RNG.uniform(0, 1, (B, 3))
    p[0, 0] = 20.0 if from_logits else 1.0  # saturated: clipping or softplus
    loss = losses.BinaryCrossentropy(from_logits, label_smoothing, reduction="none")
    np.testing.assert_allclose(
        loss(y, p), np_bce(y, p, from_logits, label_smoothing), rtol=2e-5, atol=1e-6
    )


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_categorical_crossentropy_logits_and_smoothing(from_logits, label_smoothing):
    y = np.eye(C)[RNG.integers(0, C, B)]
    p = RNG.normal(size=(B, C)) * 3 if from_logits else RNG.uniform(0, 2, (B, C))
    loss = losses.CategoricalCrossentropy(from_logits, label_smoothing)
    expected = np_cce(y, p, from_logits, label_smoothing).mean()
    np.testing.assert_allclose(loss(y, p), expected, rtol=1e-5)


def test_categorical_crossentropy_along_another_axis():
    y = np.moveaxis(np.eye(C)[RNG.integers(0, C, (B, 3))], -1, 1)  # (B, C, 3)
    p = RNG.normal(size=(B, C, 3))
    loss = losses.CategoricalCrossentropy(from_logits=True, axis=1, reduction="none")
    expected = np_cce(np.moveaxis(y, 1, -1), np.moveaxis(p, 1, -1), True)
    np.testing.assert_allclose(loss(y, p), expected, rtol=1e-5)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_categorical_crossentropy_ignore_class(from_logits, reduction):
    labels = RNG.integers(0, C, (B, 5))
    labels[0, :3] = labels[4, 1] = -1
    p = RNG.normal(size=(B, 5, C)) if from_logits else _probs((B, 5, C))
    weights = RNG.uniform(0, 2, B)
    loss = losses.SparseCategoricalCrossentropy(
        from_logits, ignore_class=-1, reduction=reduction
    )
    values, mask = np_scce(labels, p, from_logits, ignore_class=-1)
    expected = np_reduce(values, weights[:, None], reduction, mask)
    np.testing.assert_allclose(loss(labels, p, weights), expected, rtol=1e-5)


def test_sparse_labels_with_a_trailing_axis_and_sequences():
    labels = RNG.integers(0, C, (B, 1))
    p = _probs((B, C))
    loss = losses.SparseCategoricalCrossentropy(reduction="none")
    np.testing.assert_allclose(loss(labels, p), np_scce(labels[:, 0], p)[0], rtol=1e-5)


@pytest.mark.parametrize("y_shape, p_shape", [((B,), (B, 1)), ((B, 1), (B,))])
def test_a_trailing_axis_of_size_1_may_differ(y_shape, p_shape):
    y, p, w = RNG.normal(size=y_shape), RNG.normal(size=p_shape), RNG.uniform(size=B)
    expected = (((y.ravel() - p.ravel()) ** 2) * w).sum() / B
    np.testing.assert_allclose(losses.MeanSquaredError()(y, p, w), expected, rtol=1e-5)


def test_per_example_weights_broadcast_over_sequence_values():
    y, p, w = (
        RNG.normal(size=(B, 3, 2)),
        RNG.normal(size=(B, 3, 2)),
        RNG.uniform(size=B),
    )
    per_example = ((y - p) ** 2).mean(-1)  # (B, 3)
    expected = (per_example * w[:, None]).sum() / per_example.size
    np.testing.assert_allclose(losses.MeanSquaredError()(y, p, w), expected, rtol=1e-5)
    none = losses.MeanSquaredError(reduction="none")(y, p, w)
    np.testing.assert_allclose(none, per_example * w[:, None], rtol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_jit_matches_eager(name):
    loss, y_true, y_pred, _ = _case(name)
    weights = RNG.uniform(0, 1, B)
    eager = loss(y_true, y_pred, weights)
    np.testing.assert_allclose(jax.jit(loss)(y_true, y_pred, weights), eager, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_predictions_compute_in_float32(dtype):
    y = np.eye(C)[RNG.integers(0, C, B)]
    p = jnp.asarray(RNG.normal(size=(B, C)), dtype)
    got = losses.CategoricalCrossentropy(from_logits=True)(y, p)
    assert got.dtype == jnp.float32
    expected = np_cce(y, np.asarray(p, np.float64), True).mean()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize(
    "loss, y_true",
    [
        (losses.MeanSquaredError(), RNG.normal(size=(B, C))),
        (losses.Huber(), RNG.normal(size=(B, C))),
        (losses.BinaryCrossentropy(from_logits=True), RNG.integers(0, 2, (B, C))),
        (
            losses.CategoricalCrossentropy(from_logits=True),
            np.eye(C)[RNG.integers(0, C, B)],
        ),
        (
            losses.SparseCategoricalCrossentropy(True, ignore_class=0),
            RNG.integers(0, C, B),
        ),
    ],
    ids=["mse", "huber", "bce_logits", "cce_logits", "scce_ignore"],
)
def test_gradients_match_finite_differences(loss, y_true):
    y_pred = jnp.asarray(RNG.normal(size=(B, C)), jnp.float32)
    check_grads(
        jax.jit(lambda p: loss(y_true, p)), (y_pred,), order=1, modes=("rev",),
        atol=2e-2, rtol=2e-2, eps=1e-2,
    )  # fmt: skip


@pytest.mark.parametrize(
    "loss, y_true, y_pred",
    [
        (losses.MeanSquaredError(), np.zeros((B, 3)), np.zeros((B, 4))),
        (losses.BinaryCrossentropy(), np.zeros((B,)), np.zeros((B, 2))),
        (losses.CategoricalCrossentropy(), np.zeros((B,)), np.zeros((B, C))),
        (losses.SparseCategoricalCrossentropy(), np.zeros((B, 2)), np.zeros((B, C))),
    ],
)
def test_shape_mismatch_names_loss_and_both_shapes(loss, y_true, y_pred):
    with pytest.raises(ShapeError) as info:
        jax.jit(loss)(y_true, y_pred)
    message = str(info.value)
    assert type(loss).__name__ in message and loss.name in message
    assert str(y_true.shape) in message and str(y_pred.shape) in message


def test_sample_weight_of_a_wrong_shape_raises():
    with pytest.raises(ShapeError, match=r"sample_weight of shape \(4,\)"):
        losses.MeanSquaredError()(np.zeros((B, C)), np.zeros((B, C)), np.ones(4))


def test_unknown_reduction_lists_valid_ones():
    with pytest.raises(ValueError, match="sum_over_batch_size"):
        losses.Huber(reduction="avg")


@pytest.mark.parametrize(
    "name, cls",
    [
        ("mse", losses.MeanSquaredError),
        ("mean_squared_error", losses.MeanSquaredError),
        ("MeanSquaredError", losses.MeanSquaredError),
        ("mae", losses.MeanAbsoluteError),
        ("mean_absolute_error", losses.MeanAbsoluteError),
        ("huber", losses.Huber),
        ("huber_loss", losses.Huber),
        ("binary_crossentropy", losses.BinaryCrossentropy),
        ("categorical_crossentropy", losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ],
)
def test_get_by_name(name, cls):
    assert type(losses.get(name)) is cls


def test_get_passes_objects_and_callables_through_and_lists_valid_names():
    loss = losses.Huber(delta=3.0)
    assert losses.get(loss) is loss

    def weighted(y, p, sample_weight=None):
        return np_mse(y, p).mean()

    assert losses.get(weighted) is weighted  # (y_true, y_pred, sample_weight)
    wrapped = losses.get(np_mse)  # (y_true, y_pred): per-example values
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "np_mse"
    y, p = np.zeros((4, 3), np.float32), np.ones((4, 3), np.float32)
    assert float(wrapped(y, p, np.array([1.0, 1.0, 0.0, 0.0]))) == 0.5
    assert losses.get(None) is None and losses.get(losses.Huber) == losses.Huber()
    with pytest.raises(
        ValueError, match="unknown loss 'msee'. Did you mean 'mse'.*sparse_categorical"
    ):
        losses.get("msee")
    with pytest.raises(TypeError):
        losses.get(3)


@pytest.mark.parametrize(
    "loss",
    [
        losses.MeanSquaredError(reduction="sum", name="l2"),
        losses.Huber(delta=2.5),
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        losses.CategoricalCrossentropy(axis=1, reduction="none"),
        losses.SparseCategoricalCrossentropy(ignore_class=255),
    ],
)
def test_config_round_trip(loss):
    config = loss.get_config()
    assert type(loss).from_config(config) == loss
    rebuilt = losses.get({"class_name": type(loss).__name__, "config": config})
    assert rebuilt == loss and hash(rebuilt) == hash(loss)
