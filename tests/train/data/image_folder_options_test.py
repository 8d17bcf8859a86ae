"""image_dataset_from_directory's aspect-ratio, layout, link and verbosity
options, with Keras's counts and messages on the same folder."""

import os

import pytest
from PIL import Image

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

from train.data import image_dataset_from_directory  # noqa: E402


@pytest.fixture
def wide_images(tmp_path):
    """White 8x4 (wide) images in two classes, each class folder holding a
    link to the folder of its images."""
    root = tmp_path / "root"
    for name in ("a", "b"):
        folder = tmp_path / "store" / name
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 4), (255, 255, 255)).save(folder / f"{i}.png")
        (root / name).mkdir(parents=True)
        (root / name / "linked").symlink_to(folder)
    return root


def _first(dataset):
    return next(iter(dataset))[0]


def test_padding_keeps_the_whole_image_and_cropping_fills_the_frame(wide_images):
    options = {"image_size": (4, 4), "shuffle": False, "verbose": False,
               "follow_links": True, "interpolation": "nearest"}  # fmt: skip
    load = image_dataset_from_directory
    padded = _first(load(wide_images, pad_to_aspect_ratio=True, **options))
    assert padded.shape == (4, 4, 4, 3)
    assert (padded[:, 0] == 0).all() and (padded[:, -1] == 0).all()  # bands
    assert (padded[:, 1:3] == 255).all()  # the image, whole, in the middle
    cropped = _first(load(wide_images, crop_to_aspect_ratio=True, **options))
    assert (cropped == 255).all()
    first = _first(load(wide_images, data_format="channels_first", **options))
    assert first.shape == (4, 3, 4, 4)
    with pytest.raises(ValueError, match="exclude each other"):
        image_dataset_from_directory(wide_images, crop_to_aspect_ratio=True,
                                     pad_to_aspect_ratio=True)  # fmt: skip


@pytest.mark.parametrize("follow_links", [False, True])
def test_links_and_messages_match_keras(wide_images, follow_links, capsys):
    options = {"follow_links": follow_links, "validation_split": 0.5,
               "subset": "both", "seed": 1, "image_size": (4, 4)}  # fmt: skip
    if not follow_links:  # the class folders hold nothing but links then
        with pytest.raises(ValueError, match="no image files found"):
            image_dataset_from_directory(wide_images, **options)
        return
    theirs = keras.utils.image_dataset_from_directory(wide_images, **options)
    keras_lines = capsys.readouterr().out
    ours = image_dataset_from_directory(wide_images, **options)
    assert capsys.readouterr().out == keras_lines
    assert [d.class_names for d in ours] == [d.class_names for d in theirs]
    assert [len(d.file_paths) for d in ours] == [len(d.file_paths) for d in theirs]
