"""image_dataset_from_directory on a folder tree of real digit images."""

import os

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from train.data import image_dataset_from_directory

# Folder names whose sorted order is not the digits' order.
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SORTED = sorted(NAMES)
NUM_IMAGES = 1797


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    """`root/<digit name>/<index>.png`: 8x8 grayscale PNGs of load_digits."""
    digits = load_digits()
    images = np.round(digits.images[:NUM_IMAGES] * 255 / 16).astype(np.uint8)
    root = tmp_path_factory.mktemp("digits")
    for name in NAMES:
        (root / name).mkdir()
    (root / "README.txt").write_text("not an image, and not in a class folder")
    for index, (image, digit) in enumerate(zip(images, digits.target)):
        Image.fromarray(image, mode="L").save(root / NAMES[digit] / f"{index:04d}.png")
    return root, images, digits.target[:NUM_IMAGES]


def _expected(path, images):
    """The source pixels (upscaled 2x, nearest) and label of an image file."""
    folder, file = path.split(os.sep)[-2:]
    pixels = images[int(file[:4])].repeat(2, 0).repeat(2, 1).astype(np.float32)
    return pixels, SORTED.index(folder)


def _collect(ds):
    x, y = zip(*ds)
    return np.concatenate(x), np.concatenate(y)


def test_every_image_comes_with_the_label_of_its_folder(digits_dir):
    root, images, _ = digits_dir
    ds = image_dataset_from_directory(
        root, color_mode="grayscale", image_size=(16, 16), shuffle=False,
        interpolation="nearest", batch_size=64,
    )  # fmt: skip
    assert ds.class_names == SORTED and len(ds.file_paths) == NUM_IMAGES
    x, y = _collect(ds)
    assert x.shape == (NUM_IMAGES, 16, 16, 1) and x.dtype == np.float32
    assert y.dtype == np.int32 and len(ds) == 29
    for path, pixels, label in zip(ds.file_paths, x, y):
        expected_pixels, expected_label = _expected(path, images)
        np.testing.assert_array_equal(pixels[..., 0], expected_pixels)
        assert label == expected_label


def test_shuffled_epochs_hold_the_same_pairs_in_a_seeded_order(digits_dir):
    root, images, targets = digits_dir
    kwargs = dict(image_size=(8, 8), color_mode="grayscale", seed=11, batch_size=50)
    ds = image_dataset_from_directory(root, **kwargs)
    x0, y0 = _collect(ds)
    x1, y1 = _collect(ds)
    again = _collect(image_dataset_from_directory(root, **kwargs))
    np.testing.assert_array_equal(again[1], y0)
    assert not np.array_equal(y0, y1)

    def pairs(x, y):
        return sorted((int(label), image.tobytes()) for image, label in zip(x, y))

    source = [SORTED.index(NAMES[t]) for t in targets]
    assert pairs(x0, y0) == pairs(x1, y1) == pairs(images.astype(np.float32), source)


@pytest.mark.parametrize(("color_mode", "channels"), [("rgb", 3), ("rgba", 4)])
def test_color_modes_give_their_channels(digits_dir, color_mode, channels):
    root, _, _ = digits_dir
    ds = image_dataset_from_directory(
        root, color_mode=color_mode, image_size=(8, 8), shuffle=False
    )
    x, _ = next(iter(ds))
    gray = image_dataset_from_directory(
        root, label_mode=None, color_mode="grayscale", image_size=(8, 8), shuffle=False
    )
    (gray_x,) = next(iter(gray))
    assert x.shape == (32, 8, 8, channels)
    for c in range(3):  # gray stays gray in every color channel
        np.testing.assert_array_equal(x[..., c], gray_x[..., 0])
    if channels == 4:
        assert (x[..., 3] == 255).all()


def test_default_size_resizes_bilinearly_to_256(digits_dir):
    root, _, _ = digits_dir
    ds = image_dataset_from_directory(root, batch_size=4, shuffle=False)
    x, y = next(iter(ds))
    assert x.shape == (4, 256, 256, 3) and 0 <= x.min() and x.max() <= 255
    assert len(np.unique(x)) > 20  # interpolated, not block-copied


def test_label_modes(digits_dir):
    root, _, _ = digits_dir
    kwargs = dict(image_size=(8, 8), shuffle=False, batch_size=NUM_IMAGES)
    _, ints = next(iter(image_dataset_from_directory(root, **kwargs)))
    _, onehot = next(
        iter(image_dataset_from_directory(root, label_mode="categorical", **kwargs))
    )
    np.testing.assert_array_equal(onehot, np.eye(10, dtype=np.float32)[ints])
    batch = next(iter(image_dataset_from_directory(root, label_mode=None, **kwargs)))
    assert len(batch) == 1
    two = image_dataset_from_directory(
        root, label_mode="binary", class_names=["zero", "one"], **kwargs
    )
    _, binary = next(iter(two))
    assert two.class_names == ["zero", "one"] and binary.dtype == np.float32
    labels = {os.path.basename(os.path.dirname(p)) for p in two.file_paths}
    assert labels == {"zero", "one"} and binary.shape == (len(two.file_paths), 1)
    np.testing.assert_array_equal(
        binary[:, 0], [p.split(os.sep)[-2] == "one" for p in two.file_paths]
    )
    with pytest.raises(ValueError, match="exactly 2"):
        image_dataset_from_directory(root, label_mode="binary")


def test_explicit_labels_follow_sorted_file_paths(digits_dir):
    root, _, _ = digits_dir
    labels = np.arange(NUM_IMAGES)[::-1]
    ds = image_dataset_from_directory(
        root, labels=labels, image_size=(8, 8), shuffle=False, batch_size=NUM_IMAGES
    )
    _, y = next(iter(ds))
    np.testing.assert_array_equal(y, labels)
    assert ds.file_paths == sorted(ds.file_paths)  # one folder level: plain sort
    with pytest.raises(ValueError, match="labels has 3 entries but 1797 image"):
        image_dataset_from_directory(root, labels=[0, 1, 2])


def test_validation_split_partitions_the_files_deterministically(digits_dir):
    root, _, _ = digits_dir
    kwargs = dict(image_size=(8, 8), validation_split=0.2, seed=1337)
    train, val = image_dataset_from_directory(root, subset="both", **kwargs)
    assert (len(train.file_paths), len(val.file_paths)) == (1438, 359)
    assert set(train.file_paths).isdisjoint(val.file_paths)
    assert len(set(train.file_paths) | set(val.file_paths)) == NUM_IMAGES
    assert train.class_names == val.class_names == SORTED
    only_val = image_dataset_from_directory(root, subset="validation", **kwargs)
    only_train = image_dataset_from_directory(root, subset="training", **kwargs)
    assert only_val.file_paths == val.file_paths
    assert only_train.file_paths == train.file_paths
    other = image_dataset_from_directory(
        root, subset="validation", **{**kwargs, "seed": 1}
    )
    assert other.file_paths != val.file_paths
    _, y = _collect(val)
    expected = [SORTED.index(p.split(os.sep)[-2]) for p in val.file_paths]
    np.testing.assert_array_equal(y, expected)  # validation is not reshuffled


def test_every_allowed_format_is_read_and_others_are_not(tmp_path):
    (tmp_path / "a").mkdir()
    image = Image.fromarray(np.full((5, 7, 3), 200, np.uint8))
    for ext in ["png", "jpg", "JPEG", "bmp", "gif"]:
        image.save(tmp_path / "a" / f"img.{ext}")
    (tmp_path / "a" / "notes.txt").write_text("skip me")
    ds = image_dataset_from_directory(tmp_path, image_size=(5, 7), shuffle=False)
    x, y = next(iter(ds))
    assert x.shape == (5, 5, 7, 3) and y.tolist() == [0] * 5
    assert np.abs(x - 200).max() <= 3  # jpeg is lossy, the rest exact


def test_clear_errors(tmp_path, digits_dir):
    root, _, _ = digits_dir
    with pytest.raises(FileNotFoundError, match="does not exist"):
        image_dataset_from_directory(tmp_path / "missing")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="no image files found.*Allowed formats"):
        image_dataset_from_directory(tmp_path)
    with pytest.raises(ValueError, match="validation_split and subset go together"):
        image_dataset_from_directory(root, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="pass a seed"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="color_mode must be"):
        image_dataset_from_directory(root, color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation must be one of"):
        image_dataset_from_directory(root, interpolation="gaussian")
    with pytest.raises(ValueError, match='labels must be "inferred", None, or a'):
        image_dataset_from_directory(root, labels="folders")
    with pytest.raises(ValueError, match="class_names must name subfolders"):
        image_dataset_from_directory(root, class_names=["zero", "ten"])
