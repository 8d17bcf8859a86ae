"""Local dataset files: round trips, and errors that say where the file goes."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from train.data import datasets

DIGITS = load_digits()
IMAGES = np.round(DIGITS.images * 255 / 16).astype(np.uint8)  # (1797, 8, 8)
LABELS = DIGITS.target.astype(np.uint8)


def _assert_splits_equal(got, expected):
    (gx, gy), (gx_test, gy_test) = got
    (ex, ey), (ex_test, ey_test) = expected
    for g, e in [(gx, ex), (gy, ey), (gx_test, ex_test), (gy_test, ey_test)]:
        assert g.dtype == e.dtype
        np.testing.assert_array_equal(g, e)


def test_load_mnist_round_trips_the_four_arrays(tmp_path):
    train, test = (IMAGES[:1500], LABELS[:1500]), (IMAGES[1500:], LABELS[1500:])
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=train[0], y_train=train[1], x_test=test[0], y_test=test[1])
    _assert_splits_equal(datasets.load_mnist(path), (train, test))
    _assert_splits_equal(datasets.load_mnist(str(path)), (train, test))


def test_load_cifar10_round_trips_channels_last_images(tmp_path):
    rgb = np.stack([IMAGES, 255 - IMAGES, IMAGES // 2], axis=-1)  # (1797, 8, 8, 3)
    train = (rgb[:1000], LABELS[:1000, None])
    test = (rgb[1000:], LABELS[1000:, None])
    path = tmp_path / "cifar10.npz"
    np.savez(path, x_train=train[0], y_train=train[1], x_test=test[0], y_test=test[1])
    _assert_splits_equal(datasets.load_cifar10(path), (train, test))


def _reviews():
    """Digit images read as 'reviews': the nonzero pixel values, varying length."""
    reviews = [
        np.concatenate([[1], row[row > 0] + 3]) for row in IMAGES.reshape(-1, 64)
    ]
    return reviews, (LABELS % 2).astype(np.int64)


def test_load_imdb_round_trips_ragged_sequences(tmp_path):
    reviews, labels = _reviews()
    path = tmp_path / "imdb.npz"
    datasets.save_imdb_npz(path, (reviews[:1200], labels[:1200]), (reviews[1200:], []))
    (x_train, y_train), (x_test, y_test) = datasets.load_imdb(path)
    assert x_train.dtype == object and x_train.shape == (1200,)
    assert len({len(x) for x in x_train}) > 10  # really ragged
    for got, expected in zip([*x_train, *x_test], reviews, strict=True):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(y_train, labels[:1200])
    assert y_test.shape == (0,)


def test_load_imdb_num_words_maps_rare_words_to_the_oov_index(tmp_path):
    reviews, labels = _reviews()
    path = tmp_path / "imdb.npz"
    datasets.save_imdb_npz(path, (reviews, labels), (reviews[:5], labels[:5]))
    (x_train, _), (x_test, _) = datasets.load_imdb(path, num_words=100)
    for got, review in zip(x_train, reviews):
        np.testing.assert_array_equal(got, np.where(review >= 100, 2, review))
    assert max(int(x.max()) for x in x_test) < 100


@pytest.mark.parametrize(
    ("loader", "keys"),
    [
        (datasets.load_mnist, "x_train uint8 (60000, 28, 28)"),
        (datasets.load_cifar10, "x_train uint8 (50000, 32, 32, 3)"),
        (datasets.load_imdb, "x_train_values int32"),
    ],
)
def test_a_missing_file_says_there_is_no_network_and_what_to_put_where(
    tmp_path, loader, keys
):
    path = tmp_path / "absent.npz"
    with pytest.raises(FileNotFoundError) as info:
        loader(path)
    message = str(info.value)
    assert "no network" in message and str(path) in message and keys in message
    assert "y_test" in message


def test_missing_arrays_and_pickled_files_are_refused(tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=IMAGES, y_train=LABELS)
    with pytest.raises(ValueError, match=r"lacks the arrays \['x_test', 'y_test'\]"):
        datasets.load_mnist(path)
    keras_layout = tmp_path / "keras_imdb.npz"
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1, 2, 3], [1, 4]
    np.savez(keras_layout, x_train=ragged, y_train=[0, 1], x_test=ragged, y_test=[1, 0])
    with pytest.raises(ValueError, match="need pickle.*save_imdb_npz"):
        datasets.load_imdb(keras_layout)
    with pytest.raises(ValueError, match="Object arrays cannot be loaded"):
        datasets.load_mnist(keras_layout)  # np.load never unpickles here
