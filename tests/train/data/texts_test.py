"""text_dataset_from_directory against Keras's on the same folder tree."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

from nn import utils  # noqa: E402

REVIEWS = {
    "neg": ["dull and long", "I left early", "no plot at all"],
    "pos": ["a delight", "sharp writing, fine cast", "loved it", "see it twice"],
}


@pytest.fixture
def reviews(tmp_path):
    for label, texts in REVIEWS.items():
        for i, text in enumerate(texts):
            folder = tmp_path / label / ("nested" if i == 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "pos" / "notes.md").write_text("not a review")
    return tmp_path


def _keras_batches(dataset):
    return [([t.decode() for t in x.numpy()], np.asarray(y)) for x, y in dataset]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"label_mode": "categorical", "max_length": 5, "batch_size": 3},
        {"label_mode": "binary", "class_names": ["pos", "neg"]},
    ],
)
def test_batches_match_keras(reviews, options, capsys):
    theirs = keras.utils.text_dataset_from_directory(reviews, shuffle=False, **options)
    keras_lines = capsys.readouterr().out
    ours = utils.text_dataset_from_directory(reviews, shuffle=False, **options)
    assert capsys.readouterr().out == keras_lines  # "Found 7 files ..."
    assert ours.class_names == theirs.class_names
    expected = _keras_batches(theirs)
    got = [(x.tolist(), y) for x, y in ours]
    assert [x for x, _ in got] == [x for x, _ in expected]
    for (_, ys), (_, yk) in zip(got, expected):
        np.testing.assert_array_equal(ys, yk)
        assert ys.dtype == yk.dtype


def test_split_sizes_and_labels_follow_keras(reviews, capsys):
    kwargs = {"validation_split": 0.3, "subset": "both", "seed": 4}
    k_train, k_val = keras.utils.text_dataset_from_directory(reviews, **kwargs)
    keras_lines = capsys.readouterr().out
    train, val = utils.text_dataset_from_directory(reviews, **kwargs)
    assert capsys.readouterr().out == keras_lines
    assert len(train.file_paths) == sum(len(x) for x, _ in k_train) == 5
    assert len(val.file_paths) == sum(len(x) for x, _ in k_val) == 2
    seen = {t for x, _ in train for t in x} | {t for x, _ in val for t in x}
    assert seen == {t for texts in REVIEWS.values() for t in texts}
    for x, y in train:
        for text, label in zip(x, y):
            assert text in REVIEWS[train.class_names[label]]


def test_bad_arguments_are_refused(reviews):
    with pytest.raises(ValueError, match='label_mode="binary" needs exactly 2'):
        (reviews / "meh").mkdir()
        (reviews / "meh" / "a.txt").write_text("fine")
        utils.text_dataset_from_directory(reviews, label_mode="binary")
    with pytest.raises(ValueError, match="pass a seed"):
        utils.text_dataset_from_directory(reviews, validation_split=0.2,
                                          subset="training")  # fmt: skip
    with pytest.raises(FileNotFoundError, match="does not exist"):
        utils.text_dataset_from_directory(reviews / "missing")
