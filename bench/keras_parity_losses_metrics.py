"""Cross-checks `train.losses` and `train.metrics` against Keras 3 (JAX backend).

Not part of the test suite (Keras is an optional `bench` dependency). The suite
compares against NumPy references; this script checks that those references,
and so our losses and metrics, agree with Keras itself on random data.

Run: `.venv/bin/python bench/keras_parity_losses_metrics.py`. It prints one
line per check and exits non-zero if any differs by more than 1e-5 (relative).
"""

from __future__ import annotations

import os
import sys

os.environ["KERAS_BACKEND"] = "jax"

import keras  # noqa: E402
import numpy as np  # noqa: E402

from train import losses, metrics  # noqa: E402

B, T, C = 8, 3, 5
rng = np.random.default_rng(0)
probs = rng.uniform(0.01, 1, (B, T, C)).astype("float32")
probs /= probs.sum(-1, keepdims=True)
logits = rng.normal(size=(B, T, C)).astype("float32") * 3
onehot = np.eye(C, dtype="float32")[rng.integers(0, C, (B, T))]
labels = rng.integers(0, C, (B, T))
labels[0, :2] = labels[3, 1] = -1
bits = rng.integers(0, 2, (B, T, C)).astype("float32")
unit = rng.uniform(size=(B, T, C)).astype("float32")
unit[0, 0, 0] = 1.0  # clipped
weights = rng.uniform(0.1, 2, B).astype("float32")
entry_weights = rng.uniform(0.1, 2, (B, T)).astype("float32")  # one per value

LOSSES = [  # (our loss, the Keras loss, y_true, y_pred)
    ("MeanSquaredError", {}, bits, logits),
    ("MeanAbsoluteError", {}, bits, logits),
    ("Huber", {"delta": 0.7}, bits, logits),
    ("BinaryCrossentropy", {}, bits, unit),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, bits, logits),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, onehot, probs * 1.7),
    ("CategoricalCrossentropy", {"from_logits": True}, onehot, logits),
    ("SparseCategoricalCrossentropy", {"ignore_class": -1}, labels, probs),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, labels.clip(0), logits),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]

y_bin, p_bin = rng.integers(0, 2, 400), rng.uniform(size=400).astype("float32")
w_bin = rng.uniform(0.1, 2, 400).astype("float32")
METRICS = [  # (metric name, config, y_true, y_pred)
    ("Accuracy", {}, labels, rng.integers(-1, C, (B, T))),
    ("BinaryAccuracy", {"threshold": 0.3}, bits, unit),
    ("CategoricalAccuracy", {}, onehot, logits),
    ("SparseCategoricalAccuracy", {}, labels.clip(0), logits),
    ("TopKCategoricalAccuracy", {"k": 2}, onehot[:, 0], logits[:, 0]),
    ("MeanSquaredError", {}, bits, logits),
    ("MeanAbsoluteError", {}, bits, logits),
    ("Precision", {"thresholds": [0.2, 0.6]}, y_bin, p_bin),
    ("Recall", {"thresholds": 0.4}, y_bin, p_bin),
    ("AUC", {}, y_bin, p_bin),
    ("AUC", {"curve": "PR", "num_thresholds": 50}, y_bin, p_bin),
]


def _report(label: str, ours, theirs) -> bool:
    ok = np.allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    print(f"{'ok  ' if ok else 'DIFF'} {label}: ours {np.ravel(ours)[:3]}, "
          f"keras {np.ravel(theirs)[:3]}")  # fmt: skip
    return ok


def main() -> int:
    ok = True
    for name, config, y, p in LOSSES:
        for reduction in REDUCTIONS:
            for w in (None, entry_weights):
                ours = getattr(losses, name)(**config, reduction=reduction)(y, p, w)
                keras_loss = getattr(keras.losses, name)(**config, reduction=reduction)
                label = f"{name}{config} {reduction} weighted={w is not None}"
                ok &= _report(label, ours, keras_loss(y, p, sample_weight=w))
    for name, config, y, p in METRICS:
        w = w_bin if len(y) == len(w_bin) else weights
        ours = getattr(metrics, name)(**config)
        state = ours.update(ours.init(), y, p, w)
        theirs = getattr(keras.metrics, name)(**config)
        theirs.update_state(y, p, sample_weight=w)
        ok &= _report(f"{name}{config}", ours.result(state), theirs.result())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
