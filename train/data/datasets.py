"""Classic datasets read from local `.npz` files; nothing is downloaded.

Every file is opened with `np.load(path, allow_pickle=False)`, so it must
hold plain numeric arrays. The layouts:

* MNIST, `mnist.npz` (Keras's own file has this layout): `x_train` uint8
  `(60000, 28, 28)`, `y_train` uint8 `(60000,)`, `x_test` uint8
  `(10000, 28, 28)`, `y_test` uint8 `(10000,)`.
* CIFAR-10, `cifar10.npz`: `x_train` uint8 `(50000, 32, 32, 3)` (channels
  last), `y_train` uint8 `(50000, 1)`, `x_test` uint8 `(10000, 32, 32, 3)`,
  `y_test` uint8 `(10000, 1)`; write it with `np.savez(path, x_train=...)`.
* IMDB, `imdb.npz`: the reviews are sequences of word indices of varying
  length, stored flat: `x_train_values` int32 (all reviews, concatenated),
  `x_train_lengths` int32 `(25000,)`, `y_train` `(25000,)`, and the same
  for `test`. The indices are those Keras's `imdb.load_data()` returns
  (start 1, out-of-vocabulary 2, words from 3). Keras's own `imdb.npz`
  holds object arrays, which need pickle; convert it once, where that is
  acceptable, with `save_imdb_npz(path, *keras.datasets.imdb.load_data())`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

Split = tuple[np.ndarray, np.ndarray]

_OOV_CHAR = 2  # Keras's imdb `oov_char`
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IMDB_KEYS = (
    "x_train_values",
    "x_train_lengths",
    "y_train",
    "x_test_values",
    "x_test_lengths",
    "y_test",
)
_LAYOUTS = {
    "load_mnist": "mnist.npz with x_train uint8 (60000, 28, 28), y_train uint8 "
    "(60000,), x_test uint8 (10000, 28, 28), y_test uint8 (10000,); Keras's "
    "file https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz "
    "is one",
    "load_cifar10": "cifar10.npz with x_train uint8 (50000, 32, 32, 3), y_train "
    "uint8 (50000, 1), x_test uint8 (10000, 32, 32, 3), y_test uint8 (10000, 1), "
    "written by np.savez",
    "load_imdb": "imdb.npz with x_train_values int32 (all reviews' word indices, "
    "concatenated), x_train_lengths int32 (25000,), y_train (25000,), "
    "x_test_values int32, x_test_lengths int32 (25000,), y_test (25000,), "
    "written by train.data.datasets.save_imdb_npz",
}


def _read(path: str | os.PathLike, caller: str, keys: Sequence[str]) -> dict:
    """The arrays `keys` of the `.npz` at `path`, with errors that say what to do."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{caller}: no file at {path!r}, and there is no network here to "
            f"download one. Put the file there: {_LAYOUTS[caller]}."
        )
    with np.load(path, allow_pickle=False) as npz:
        missing = [key for key in keys if key not in npz.files]
        if caller == "load_imdb" and missing and "x_train" in npz.files:
            raise ValueError(
                f"load_imdb: {path!r} looks like Keras's imdb.npz, whose object "
                "arrays need pickle, which this project does not load. Convert "
                "it once with save_imdb_npz(path, *keras.datasets.imdb.load_data())."
            )
        if missing:
            raise ValueError(
                f"{caller}: {path!r} lacks the arrays {missing}; it holds "
                f"{npz.files}. Expected {_LAYOUTS[caller]}."
            )
        return {key: npz[key] for key in keys}


def _pairs(arrays: dict) -> tuple[Split, Split]:
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_mnist(path: str | os.PathLike) -> tuple[Split, Split]:
    """MNIST digits from a local `mnist.npz` (layout in the module docstring).

    Returns:
      `((x_train, y_train), (x_test, y_test))` as stored: images uint8
      `(n, 28, 28)`, labels uint8 `(n,)`.

    Raises:
      FileNotFoundError: no file at `path`; the message gives the layout.
      ValueError: the file lacks one of the four arrays.

    Example:
      >>> import os, tempfile
      >>> tmp = tempfile.TemporaryDirectory()
      >>> path = os.path.join(tmp.name, "mnist.npz")
      >>> x, y = np.zeros((3, 28, 28), np.uint8), np.arange(3, dtype=np.uint8)
      >>> np.savez(path, x_train=x, y_train=y, x_test=x[:1], y_test=y[:1])
      >>> (x_train, y_train), (x_test, y_test) = load_mnist(path)
      >>> x_train.shape, y_test.tolist()
      ((3, 28, 28), [0])
      >>> tmp.cleanup()
    """
    return _pairs(_read(path, "load_mnist", _KEYS))


def load_cifar10(path: str | os.PathLike) -> tuple[Split, Split]:
    """CIFAR-10 images from a local `cifar10.npz` (layout in the module docstring).

    Returns:
      `((x_train, y_train), (x_test, y_test))` as stored: images uint8
      `(n, 32, 32, 3)`, labels uint8 `(n, 1)`.

    Raises:
      FileNotFoundError: no file at `path`; the message gives the layout.
      ValueError: the file lacks one of the four arrays.

    Example:
      >>> import os, tempfile
      >>> tmp = tempfile.TemporaryDirectory()
      >>> path = os.path.join(tmp.name, "cifar10.npz")
      >>> x, y = np.zeros((2, 32, 32, 3), np.uint8), np.zeros((2, 1), np.uint8)
      >>> np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
      >>> (x_train, y_train), _ = load_cifar10(path)
      >>> x_train.shape, y_train.shape
      ((2, 32, 32, 3), (2, 1))
      >>> tmp.cleanup()
    """
    return _pairs(_read(path, "load_cifar10", _KEYS))


def _sequences(values: np.ndarray, lengths: np.ndarray, path: str) -> np.ndarray:
    """An object array of int32 arrays, one per review."""
    if int(lengths.sum()) != len(values):
        raise ValueError(
            f"load_imdb: in {path!r} the lengths add up to {int(lengths.sum())} "
            f"but there are {len(values)} values."
        )
    ends = np.cumsum(lengths)
    sequences = np.empty(len(lengths), dtype=object)
    for i, (start, end) in enumerate(zip(ends - lengths, ends)):
        sequences[i] = values[start:end]
    return sequences


def load_imdb(
    path: str | os.PathLike, num_words: int | None = None
) -> tuple[Split, Split]:
    """IMDB reviews from a local `imdb.npz` (layout in the module docstring).

    Args:
      path: the `.npz` file, as written by `save_imdb_npz`.
      num_words: if given, word indices `>= num_words` become 2, Keras's
        out-of-vocabulary index.

    Returns:
      `((x_train, y_train), (x_test, y_test))`; each `x` is an object array
      of int32 arrays (one review each, of varying length), as Keras gives.

    Raises:
      FileNotFoundError: no file at `path`; the message gives the layout.
      ValueError: the file lacks an array, or is Keras's pickled layout.

    Example:
      >>> import os, tempfile
      >>> tmp = tempfile.TemporaryDirectory()
      >>> path = os.path.join(tmp.name, "imdb.npz")
      >>> save_imdb_npz(path, ([[1, 14, 22], [1, 9]], [1, 0]), ([[1, 5]], [1]))
      >>> (x_train, y_train), _ = load_imdb(path, num_words=10)
      >>> [x.tolist() for x in x_train], y_train.tolist()
      ([[1, 2, 2], [1, 9]], [1, 0])
      >>> tmp.cleanup()
    """
    arrays = _read(path, "load_imdb", _IMDB_KEYS)
    out = []
    for part in ("train", "test"):
        values = arrays[f"x_{part}_values"]
        if num_words is not None:
            values = np.where(values >= num_words, _OOV_CHAR, values)
        x = _sequences(values, arrays[f"x_{part}_lengths"], os.fspath(path))
        out.append((x, arrays[f"y_{part}"]))
    return out[0], out[1]


def save_imdb_npz(path: str | os.PathLike, train: Any, test: Any) -> None:
    """Writes `(x, y)` train and test pairs in the layout `load_imdb` reads.

    Args:
      path: the file to write (NumPy adds `.npz` if the name lacks it).
      train: `(x_train, y_train)`: `x_train` a sequence of int sequences.
      test: `(x_test, y_test)`, the same.

    Example:
      >>> import os, tempfile
      >>> tmp = tempfile.TemporaryDirectory()
      >>> path = os.path.join(tmp.name, "imdb.npz")
      >>> save_imdb_npz(path, ([[1, 14], [1]], [1, 0]), ([[1]], [0]))
      >>> with np.load(path) as npz:
      ...     sorted(npz.files)[:3]
      ['x_test_lengths', 'x_test_values', 'x_train_lengths']
      >>> tmp.cleanup()
    """
    arrays = {}
    for part, (x, y) in (("train", train), ("test", test)):
        sequences = [np.asarray(s, np.int32).reshape(-1) for s in x]
        arrays[f"x_{part}_values"] = np.concatenate([np.zeros(0, np.int32), *sequences])
        arrays[f"x_{part}_lengths"] = np.array([len(s) for s in sequences], np.int32)
        arrays[f"y_{part}"] = np.asarray(y)
    np.savez_compressed(path, **arrays)
