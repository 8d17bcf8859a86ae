"""The main job: train a small CNN on scikit-learn's digits, end to end.

An `nn.Sequential` CNN is compiled and fit with Keras's grammar: a progress
bar, validation, early stopping; under the hood `fit` runs one jitted pure
step per batch. It prints the test accuracy and fails (exit 1) below the
stated bar.

Run: `make demo` (or `.venv/bin/python examples/main.py`).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nn
import stateless as sl
from nn import layers
from train import callbacks, losses, optimizers

ACCURACY_BAR = 0.97


def load_data(seed: int = 0):
    """Digits as (N, 8, 8, 1) float32 images in [0, 1] and int32 labels."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int32)
    return train_test_split(
        images, labels, test_size=0.2, random_state=seed, stratify=labels
    )


def build_model() -> nn.Sequential:
    """A small CNN for 8 x 8 digits: conv(32) -> pool -> conv(64) -> dense(10)."""
    return nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(10),
    ])  # fmt: skip


def main(epochs: int = 30, seed: int = 0, verbose: int = 1) -> float:
    """Trains and returns the test accuracy."""
    sl.set_random_seed(seed)
    x_train, x_test, y_train, y_test = load_data(seed)
    model = build_model()
    model.compile(
        optimizer=optimizers.Adam(3e-3),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    stop = callbacks.EarlyStopping(
        monitor="val_loss", patience=8, restore_best_weights=True
    )
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, validation_split=0.1,
              callbacks=[stop], verbose=verbose)  # fmt: skip
    accuracy = model.evaluate(x_test, y_test, return_dict=True)["accuracy"]
    seconds = time.perf_counter() - start
    print(f"test accuracy {accuracy:.4f} on {len(x_test)} digits ({seconds:.1f} s)")
    return accuracy


if __name__ == "__main__":
    accuracy = main()
    if accuracy < ACCURACY_BAR:
        print(f"FAIL: test accuracy {accuracy:.4f} is below {ACCURACY_BAR}")
        sys.exit(1)
