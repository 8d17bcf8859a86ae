"""The main job: digits as an image folder, a CNN trained end to end, shipped.

1. scikit-learn's digits are written as PNG files, one folder per class, and
   read back with `train.data.image_dataset_from_directory`.
2. An `nn.Sequential` CNN is compiled and fit with Keras's grammar: a
   progress bar, validation, `ModelCheckpoint` (the best archive so far) and
   `EarlyStopping`; under the hood `fit` runs one jitted pure step per batch.
3. It says what early stopping did and where the best checkpoint went,
   evaluates on the test folder (with evaluate's own progress bar), saves the
   model archive, reloads it on the torch and TensorFlow backends (the same
   JAX graph, lowered onto their ops) and checks that their predictions match
   JAX's, and writes the training curves (`History.plot`) as a PNG.

It exits 1 if the accuracy is below the bar or a backend disagrees.

Run: `make demo` (or `.venv/bin/python examples/main.py [output folder]`).
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import time

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nn
import stateless as sl
from nn import layers
from train import callbacks, losses, optimizers
from train.data import image_dataset_from_directory

ACCURACY_BAR = 0.97
MATCH_TOLERANCE = 1e-4  # largest logit difference allowed between backends
OUTPUT = pathlib.Path("build/demo")


def write_image_folder(root: pathlib.Path, images: np.ndarray, labels: np.ndarray):
    """Each 8 x 8 digit (values 0-16) as an 8-bit PNG in `root/<label>/`."""
    for index, (image, label) in enumerate(zip(images, labels)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(image * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png")


def load_folders(root: pathlib.Path, seed: int):
    """Train, validation and test datasets read from the image folders."""
    digits = load_digits()
    train_x, test_x, train_y, test_y = train_test_split(
        digits.images, digits.target, test_size=0.2, random_state=seed,
        stratify=digits.target,
    )  # fmt: skip
    write_image_folder(root / "train", train_x, train_y)
    write_image_folder(root / "test", test_x, test_y)
    options = dict(color_mode="grayscale", image_size=(8, 8), batch_size=64)
    train, validation = image_dataset_from_directory(
        root / "train", validation_split=0.1, subset="both", seed=seed, **options
    )
    test = image_dataset_from_directory(root / "test", shuffle=False, **options)
    return train, validation, test


def build_model() -> nn.Sequential:
    """A small CNN for 8 x 8 digits: conv(32) -> pool -> conv(64) -> dense(10)."""
    return nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(10),
    ])  # fmt: skip


def save_curve(history: callbacks.History, path: pathlib.Path) -> None:
    """The loss and accuracy curves (`History.plot`: epochs from 1, loss on a
    log axis, the best val_loss epoch marked) as a PNG."""
    history.plot(monitor="val_loss").savefig(path, dpi=100)


def describe_stop(stop: callbacks.EarlyStopping, epochs: int, ran: int) -> str:
    """What early stopping did, in the console's epoch numbers (from 1)."""
    best = f"best val_loss {stop.best:.4f} at epoch {stop.best_epoch + 1}"
    if stop.stopped_epoch:
        return (f"early stopping ended the run after epoch {ran} of {epochs} "
                f"(no improvement for {stop.patience} epochs); {best}, whose "
                "weights were restored")  # fmt: skip
    return f"ran all {epochs} epochs; {best}"


def check_backends(archive: pathlib.Path, images: np.ndarray, expected: np.ndarray):
    """Reloads the archive on torch and TensorFlow; the largest logit
    difference from JAX's predictions, per backend."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    differences = {}
    for backend in ("torch", "tensorflow"):
        sl.set_backend(backend)
        try:
            predicted = nn.load_model(archive).predict(images, batch_size=128)
        finally:
            sl.set_backend("jax")
        differences[backend] = float(np.max(np.abs(np.asarray(predicted) - expected)))
    return differences


def main(epochs: int = 30, seed: int = 0, verbose: int = 1, output=OUTPUT) -> dict:
    """Runs the job; returns the test accuracy and the backend differences."""
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    sl.set_random_seed(seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        train, validation, test = load_folders(pathlib.Path(folder), seed)
        model = build_model()
        model.compile(
            optimizer=optimizers.Adam(3e-3),
            loss=losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        keep_best = callbacks.ModelCheckpoint(
            str(output / "best.stateless"), monitor="val_loss", save_best_only=True
        )
        stop = callbacks.EarlyStopping(
            monitor="val_loss", patience=8, restore_best_weights=True
        )
        history = model.fit(train, validation_data=validation, epochs=epochs,
                            callbacks=[keep_best, stop], verbose=verbose)  # fmt: skip
        print(describe_stop(stop, epochs, len(history.epoch)))
        print(f"best checkpoint (lowest val_loss): {keep_best.filepath}")
        accuracy = model.evaluate(test, return_dict=True, verbose=verbose)["accuracy"]
        images = np.concatenate([x for x, _ in test.batches(0)])
    print(f"test accuracy {accuracy:.4f} on {len(images)} digits "
          f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
    archive = output / "digits_cnn.stateless"
    model.save(archive)
    print(f"final model archive: {archive}")
    differences = check_backends(archive, images, np.asarray(model.predict(images)))
    for backend, difference in differences.items():
        print(f"reloaded on {backend}: largest logit difference from jax "
              f"{difference:.2e}")  # fmt: skip
    save_curve(history, output / "training_curve.png")
    print(f"training curves: {output / 'training_curve.png'}")
    return {"accuracy": accuracy, "differences": differences}


def passed(result: dict) -> bool:
    ok = result["accuracy"] >= ACCURACY_BAR
    if not ok:
        print(f"FAIL: test accuracy {result['accuracy']:.4f} is below {ACCURACY_BAR}")
    for backend, difference in result["differences"].items():
        if difference > MATCH_TOLERANCE:
            print(f"FAIL: {backend} predictions differ from jax by {difference:.2e}")
            ok = False
    return ok


if __name__ == "__main__":
    sys.exit(0 if passed(main(output=sys.argv[1] if len(sys.argv) > 1 else OUTPUT))
             else 1)  # fmt: skip
