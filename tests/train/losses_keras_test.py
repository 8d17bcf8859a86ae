"""Every loss of Keras 3, here under its name: values, result dtypes and
signatures compared with the installed Keras on the same inputs.

Keras runs in a subprocess on its JAX backend (tests/keras_reference.py); each
case is computed there as a class (default reduction, with and without sample
weights, and `reduction="none"`) and as Keras's function form, and held here to
1e-5 (relative, 1e-6 absolute).
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from tests import keras_reference
from tests.keras_reference import assert_close_to_keras as _close
from train import losses

B, C = 6, 4
# (case, class name, class keywords, function keywords, data)
CASES = [
    ("mse", "MeanSquaredError", {}, {}, "real"),
    ("mae", "MeanAbsoluteError", {}, {}, "real"),
    ("mape", "MeanAbsolutePercentageError", {}, {}, "positive"),
    ("msle", "MeanSquaredLogarithmicError", {}, {}, "positive"),
    ("huber", "Huber", {"delta": 0.7}, {"delta": 0.7}, "real"),
    ("log_cosh", "LogCosh", {}, {}, "real"),
    ("cosine", "CosineSimilarity", {"axis": -1}, {"axis": -1}, "real"),
    ("bce", "BinaryCrossentropy", {}, {}, "binary"),
    ("bce_logits_smooth", "BinaryCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1},
     {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("binary_focal", "BinaryFocalCrossentropy", {"gamma": 1.5}, {"gamma": 1.5},
     "binary"),
    ("binary_focal_balanced_logits", "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "alpha": 0.3, "from_logits": True,
      "label_smoothing": 0.05},
     {"apply_class_balancing": True, "alpha": 0.3, "from_logits": True,
      "label_smoothing": 0.05}, "binary_logits"),
    ("cce", "CategoricalCrossentropy", {}, {}, "onehot"),
    ("cce_logits_smooth", "CategoricalCrossentropy",
     {"from_logits": True, "label_smoothing": 0.2},
     {"from_logits": True, "label_smoothing": 0.2}, "onehot_logits"),
    ("categorical_focal", "CategoricalFocalCrossentropy", {}, {}, "onehot"),
    ("categorical_focal_logits", "CategoricalFocalCrossentropy",
     {"alpha": 0.5, "gamma": 1.0, "from_logits": True},
     {"alpha": 0.5, "gamma": 1.0, "from_logits": True}, "onehot_logits"),
    ("scce", "SparseCategoricalCrossentropy", {}, {}, "sparse"),
    ("scce_logits_ignore", "SparseCategoricalCrossentropy",
     {"from_logits": True, "ignore_class": 2},
     {"from_logits": True, "ignore_class": 2}, "sparse_logits"),
    ("generalized_ce", "CategoricalGeneralizedCrossEntropy", {"q": 0.7},
     {"q": 0.7}, "sparse"),
    ("kl", "KLDivergence", {}, {}, "distributions"),
    ("poisson", "Poisson", {}, {}, "counts"),
    ("hinge", "Hinge", {}, {}, "signs"),
    ("hinge_01", "Hinge", {}, {}, "binary_logits"),
    ("squared_hinge", "SquaredHinge", {}, {}, "signs"),
    ("categorical_hinge", "CategoricalHinge", {}, {}, "onehot_logits"),
    ("dice", "Dice", {"axis": (1, 2, 3)}, {"axis": (1, 2, 3)}, "masks"),
    ("tversky", "Tversky", {"alpha": 0.7, "beta": 0.3, "axis": (1, 2, 3)},
     {"alpha": 0.7, "beta": 0.3, "axis": (1, 2, 3)}, "masks"),
    ("circle", "Circle", {"gamma": 30.0, "margin": 0.3},
     {"gamma": 30.0, "margin": 0.3}, "embeddings"),
    ("ctc", "CTC", {}, {}, "sequences"),
]  # fmt: skip
# Whole-batch indices: one number, so neither weights nor "none" apply.
BATCH_CASES = [
    ("dice_all", "Dice", {}, {}, "masks"),
    ("tversky_all", "Tversky", {}, {}, "masks"),
]
FUNCTIONS = {
    "MeanSquaredError": "mean_squared_error",
    "MeanAbsoluteError": "mean_absolute_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
    "Huber": "huber",
    "LogCosh": "log_cosh",
    "CosineSimilarity": "cosine_similarity",
    "BinaryCrossentropy": "binary_crossentropy",
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
    "KLDivergence": "kl_divergence",
    "Poisson": "poisson",
    "Hinge": "hinge",
    "SquaredHinge": "squared_hinge",
    "CategoricalHinge": "categorical_hinge",
    "Dice": "dice",
    "Tversky": "tversky",
    "Circle": "circle",
    "CTC": "ctc",
}
# Names of keras.losses with no counterpart here (none: every one is here).
NOT_HERE: set[str] = set()


def _probs(rng, shape):
    x = rng.uniform(0.05, 1.0, shape)
    return (x / x.sum(-1, keepdims=True)).astype(np.float32)


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The same `(y_true, y_pred)` in both processes."""
    rng = np.random.default_rng(sum(map(ord, kind)))
    f32 = np.float32
    if kind == "real":
        return rng.normal(size=(B, C)).astype(f32), rng.normal(size=(B, C)).astype(f32)
    if kind == "positive":
        return (rng.uniform(0.5, 2, (B, C)).astype(f32),
                rng.uniform(0.1, 3, (B, C)).astype(f32))  # fmt: skip
    if kind in ("binary", "binary_logits"):
        y = rng.integers(0, 2, (B, C)).astype(f32)
        p = rng.uniform(0.02, 0.98, (B, C)) if kind == "binary" else rng.normal(
            size=(B, C)) * 2  # fmt: skip
        return y, p.astype(f32)
    if kind in ("onehot", "onehot_logits"):
        y = np.eye(C, dtype=f32)[rng.integers(0, C, B)]
        p = _probs(rng, (B, C)) if kind == "onehot" else rng.normal(size=(B, C))
        return y, p.astype(f32)
    if kind in ("sparse", "sparse_logits"):
        y = rng.integers(0, C, B).astype(np.int32)
        p = _probs(rng, (B, C)) if kind == "sparse" else rng.normal(size=(B, C))
        return y, p.astype(f32)
    if kind == "distributions":
        return _probs(rng, (B, C)), _probs(rng, (B, C))
    if kind == "counts":
        return (rng.integers(0, 5, (B, C)).astype(f32),
                rng.uniform(0.2, 4, (B, C)).astype(f32))  # fmt: skip
    if kind == "signs":
        return (rng.choice([-1.0, 1.0], (B, C)).astype(f32),
                rng.normal(size=(B, C)).astype(f32))  # fmt: skip
    if kind == "masks":
        return (rng.integers(0, 2, (B, 5, 5, 1)).astype(f32),
                rng.uniform(0, 1, (B, 5, 5, 1)).astype(f32))  # fmt: skip
    if kind == "embeddings":
        e = rng.normal(size=(B, 3))
        e /= np.linalg.norm(e, axis=-1, keepdims=True)
        return rng.integers(0, 3, B).astype(np.int32), e.astype(f32)
    if kind == "sequences":
        labels = rng.integers(1, C, (B, 4)).astype(np.int32)
        labels[:, 3] = 0
        labels[::2, 2] = 0  # shorter label sequences, padded by the blank
        return labels, rng.normal(size=(B, 9, C)).astype(f32)
    raise ValueError(kind)


def _weights() -> np.ndarray:
    return np.linspace(0.0, 2.0, B).astype(np.float32)


def _keras_side(path):
    import jax
    import keras

    out = {}
    for case, cls, kwargs, fn_kwargs, kind in CASES + BATCH_CASES:
        y, p = _data(kind)
        loss = getattr(keras.losses, cls)(**kwargs)
        out[f"{case}/value"] = np.asarray(loss(y, p))
        out[f"{case}/grad"] = np.asarray(jax.grad(lambda p: loss(y, p))(p))
        fn = getattr(keras.losses, FUNCTIONS[cls])
        out[f"{case}/function"] = np.asarray(fn(y, p, **fn_kwargs))
        if (case, cls, kwargs, fn_kwargs, kind) in BATCH_CASES:
            continue
        out[f"{case}/weighted"] = np.asarray(loss(y, p, sample_weight=_weights()))
        for reduction in ("sum", "mean_with_sample_weight", "none"):
            other = getattr(keras.losses, cls)(**kwargs, reduction=reduction)
            out[f"{case}/{reduction}"] = np.asarray(
                other(y, p, sample_weight=_weights())
            )
    names = [n for n in dir(keras.losses) if not n.startswith("_")]
    signatures = {
        name: keras_reference.signature_data(getattr(keras.losses, name))
        for name in list(FUNCTIONS) + list(FUNCTIONS.values())
    }
    out["names"] = np.array(json.dumps(names))
    out["signatures"] = np.array(json.dumps(signatures))
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras_losses") / "numbers.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case, cls, kwargs, fn_kwargs, kind", CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_a_loss_matches_keras_with_and_without_weights(
    keras, case, cls, kwargs, fn_kwargs, kind
):
    y, p = _data(kind)
    loss = getattr(losses, cls)(**kwargs)
    _close(loss(y, p), keras[f"{case}/value"], f"{case}")
    _close(loss(y, p, sample_weight=_weights()), keras[f"{case}/weighted"], case)
    for reduction in ("sum", "mean_with_sample_weight", "none"):
        other = getattr(losses, cls)(**kwargs, reduction=reduction)
        _close(other(y, p, sample_weight=_weights()), keras[f"{case}/{reduction}"],
               f"{case} reduction={reduction}")  # fmt: skip
    function = getattr(losses, FUNCTIONS[cls])
    _close(function(y, p, **fn_kwargs), keras[f"{case}/function"], f"{case} function")


@pytest.mark.parametrize("case, cls, kwargs, fn_kwargs, kind", CASES + BATCH_CASES,
                         ids=[c[0] for c in CASES + BATCH_CASES])  # fmt: skip
def test_a_compiled_gradient_matches_keras(keras, case, cls, kwargs, fn_kwargs, kind):
    y, p = _data(kind)
    loss = getattr(losses, cls)(**kwargs)
    grad = jax.jit(jax.grad(lambda p: loss(y, p)))(p)
    _close(grad, keras[f"{case}/grad"], f"{case} gradient")


@pytest.mark.parametrize("case, cls, kwargs, fn_kwargs, kind", BATCH_CASES,
                         ids=[c[0] for c in BATCH_CASES])  # fmt: skip
def test_an_index_over_the_whole_batch_matches_keras(
    keras, case, cls, kwargs, fn_kwargs, kind
):
    y, p = _data(kind)
    _close(getattr(losses, cls)(**kwargs)(y, p), keras[f"{case}/value"], case)
    function = getattr(losses, FUNCTIONS[cls])
    _close(function(y, p, **fn_kwargs), keras[f"{case}/function"], case)


def test_every_keras_loss_name_is_here(keras):
    names = json.loads(str(keras["names"]))
    missing = [n for n in names if n not in NOT_HERE and not hasattr(losses, n)]
    assert not missing, f"keras.losses names missing from train.losses: {missing}"
    assert len(names) - len(NOT_HERE) >= 45


@pytest.mark.parametrize("name", list(FUNCTIONS) + list(FUNCTIONS.values()))
def test_signature_matches_keras(keras, name):
    # The one deliberate difference, `name` defaulting to None (Keras's name
    # then), is allowed by assert_signature_matches_keras.
    theirs = json.loads(str(keras["signatures"]))[name]
    keras_reference.assert_signature_matches_keras(getattr(losses, name), theirs)
