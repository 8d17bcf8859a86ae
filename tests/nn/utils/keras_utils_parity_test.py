"""`nn.utils` against `keras.utils` on the same inputs: values, dtypes,
shapes, and the same signatures (keywords and defaults)."""

import inspect
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

from nn import utils  # noqa: E402

# Keras's keywords that ours do not take, each with its reason.
SIGNATURE_GAPS = {
    # which backend's dataset type to return: ours returns arrays
    "split_dataset": {"preferred_backend"},
    # a tf.data or grain dataset: ours is a train.data.Dataset
    "timeseries_dataset_from_array": {"format"},
}  # fmt: skip
COMPARED = [
    "to_categorical", "normalize", "pad_sequences", "split_dataset",
    "array_to_img", "img_to_array", "load_img", "save_img", "get_file",
    "set_random_seed", "image_dataset_from_directory",
    "timeseries_dataset_from_array", "plot_model", "text_dataset_from_directory",
]  # fmt: skip


@pytest.mark.parametrize("name", COMPARED)
def test_signature_matches_keras(name):
    theirs = inspect.signature(getattr(keras.utils, name)).parameters
    ours = inspect.signature(getattr(utils, name)).parameters
    missing = set(theirs) - set(ours) - SIGNATURE_GAPS.get(name, set())
    assert not missing, f"{name} lacks Keras's {sorted(missing)}"
    for key in set(theirs) & set(ours):
        if theirs[key].default is not inspect.Parameter.empty:
            assert ours[key].default == theirs[key].default, (name, key)


@pytest.mark.parametrize(
    ("ids", "num_classes"),
    [([0, 2, 1], None), ([[1], [3]], 5), (np.array([[0, 1], [2, 0]]), 3), ([], 4)],
)
def test_to_categorical_matches_keras(ids, num_classes):
    theirs = keras.utils.to_categorical(np.asarray(ids), num_classes)
    ours = utils.to_categorical(ids, num_classes)
    assert ours.dtype == np.asarray(theirs).dtype
    np.testing.assert_array_equal(ours, theirs)


def test_to_categorical_refuses_ids_out_of_range():
    with pytest.raises(ValueError, match=r"class ids must lie in \[0, 3\)"):
        utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="expected integer class ids"):
        utils.to_categorical([0.5])


@pytest.mark.parametrize(("axis", "order"), [(-1, 2), (1, 1), (-1, np.inf)])
def test_normalize_matches_keras(axis, order):
    x = np.random.default_rng(0).normal(size=(4, 3))
    x[2] = 0.0
    np.testing.assert_allclose(
        utils.normalize(x, axis, order), keras.utils.normalize(x, axis, order)
    )


def test_normalize_along_the_first_axis():
    # Keras's axis=0 normalizes along the last axis, then fails to broadcast
    x = np.array([[3.0, 1.0], [4.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0), [[0.6, 1.0], [0.8, 0.0]])


SEQUENCES = [[1, 2, 3, 4], [5], [], [6, 7]]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"maxlen": 2},
        {"maxlen": 3, "padding": "post", "truncating": "post"},
        {"maxlen": 6, "padding": "post", "value": -1},
        {"dtype": "float32", "value": 0.5, "truncating": "post", "maxlen": 3},
    ],
)
def test_pad_sequences_matches_keras(options):
    theirs = keras.utils.pad_sequences(SEQUENCES, **options)
    ours = utils.pad_sequences(SEQUENCES, **options)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_pad_sequences_of_vectors_and_of_text_match_keras():
    vectors = [np.ones((2, 3)), np.full((1, 3), 2.0)]
    np.testing.assert_array_equal(
        utils.pad_sequences(vectors, dtype="float32"),
        keras.utils.pad_sequences(vectors, dtype="float32"),
    )
    words = [["a", "b"], ["c"]]
    np.testing.assert_array_equal(
        utils.pad_sequences(words, dtype=object, value=""),
        keras.utils.pad_sequences(words, dtype=object, value=""),
    )
    assert utils.pad_sequences(SEQUENCES, maxlen=0).shape == (4, 0)  # Keras fails
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        utils.pad_sequences(SEQUENCES, padding="both")
    with pytest.raises(ValueError, match="sequence 1 has items of shape"):
        utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))], dtype="float32")


@pytest.mark.parametrize(
    ("left", "right"), [(0.8, None), (None, 3), (4, 0.25), (0.5, 0.3), (7, None)]
)
def test_split_dataset_takes_keras_sizes(left, right):
    x, y = np.arange(10.0)[:, None], np.arange(10)
    theirs = keras.utils.split_dataset((x, y), left, right)
    ours = utils.split_dataset((x, y), left, right)
    for part, dataset in zip(ours, theirs):
        examples = list(dataset)
        np.testing.assert_array_equal(part[0], np.stack([e[0] for e in examples]))
        np.testing.assert_array_equal(part[1], np.stack([e[1] for e in examples]))


def test_split_dataset_shuffles_reproducibly_and_refuses_bad_sizes():
    data = {"x": np.arange(20), "y": np.arange(20) * 10}
    left, right = utils.split_dataset(data, 0.75, shuffle=True, seed=4)
    again, _ = utils.split_dataset(data, 0.75, shuffle=True, seed=4)
    np.testing.assert_array_equal(left["x"], again["x"])
    assert sorted([*left["x"], *right["x"]]) == list(range(20))
    np.testing.assert_array_equal(left["y"], left["x"] * 10)
    with pytest.raises(ValueError, match="give left_size or right_size"):
        utils.split_dataset(data)
    with pytest.raises(ValueError, match="between 1 and 19"):
        utils.split_dataset(data, 20)
    with pytest.raises(ValueError, match="same number of examples"):
        utils.split_dataset((np.zeros(3), np.zeros(4)), 0.5)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_image_arrays_match_keras(tmp_path, channels, data_format):
    x = np.random.default_rng(channels).uniform(-1, 3, size=(5, 7, channels))
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    for scale in (True, False):
        raw = x if scale else np.clip(x * 60, 0, 255)
        ours = utils.array_to_img(raw, data_format, scale=scale)
        theirs = keras.utils.array_to_img(raw, data_format, scale=scale)
        assert ours.mode == theirs.mode and ours.size == theirs.size
        np.testing.assert_array_equal(
            utils.img_to_array(ours, data_format),
            keras.utils.img_to_array(theirs, data_format),
        )
    path = tmp_path / "image.png"
    utils.save_img(path, x, data_format)
    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}[channels]
    for options in (
        {},
        {"target_size": (3, 4), "interpolation": "bilinear"},
        {"target_size": (4, 2), "keep_aspect_ratio": True},
    ):
        ours = utils.load_img(path, color_mode=mode, **options)
        theirs = keras.utils.load_img(path, color_mode=mode, **options)
        np.testing.assert_array_equal(
            utils.img_to_array(ours), keras.utils.img_to_array(theirs)
        )


def test_save_img_drops_alpha_for_jpeg(tmp_path):
    utils.save_img(tmp_path / "photo.jpg", np.ones((4, 4, 4)))
    assert utils.load_img(tmp_path / "photo.jpg", color_mode="rgba").size == (4, 4)
