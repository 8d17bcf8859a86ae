"""plot_model draws a readable PNG of every layer and link, skips included."""

import numpy as np
import pytest
from PIL import Image

import nn
from nn import layers
from nn.utils import plot_model


def _skip_model():
    x = layers.Input((8,), name="features")
    hidden = layers.Dense(16, activation="relu", name="hidden")(x)
    deeper = layers.Dense(16, name="deeper")(hidden)
    added = layers.Add(name="skip")([hidden, deeper])
    side = layers.Dense(4, name="side")(x)
    merged = layers.Concatenate(name="merge")([added, side])
    return nn.Model(x, layers.Dense(3, name="head")(merged))


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_a_functional_model_with_a_skip_is_drawn(tmp_path, rankdir):
    path = tmp_path / "model.png"
    diagram = plot_model(_skip_model(), path, show_shapes=True,
                         show_layer_names=True, rankdir=rankdir, dpi=100)  # fmt: skip
    names = ["features", "hidden", "deeper", "skip", "side", "merge", "head"]
    assert [box.name for box in diagram.boxes] == names
    assert ("hidden", "skip") in diagram.arrows  # the skip around `deeper`
    assert ("features", "side") in diagram.arrows and len(diagram.arrows) == 8
    by_name = {box.name: box for box in diagram.boxes}
    assert by_name["merge"].lines == ("merge (Concatenate)", "output: (None, 20)")
    assert by_name["skip"].row == 3 and by_name["side"].row == 1
    with Image.open(path) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("L"))
    assert min(width, height) >= 300 and max(width, height) <= 5000
    assert (pixels < 128).mean() > 0.005  # text and arrows were drawn
    assert diagram._repr_png_() == path.read_bytes()


def test_a_sequential_model_is_a_chain_and_bad_options_are_refused(tmp_path):
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3, name="a"),
                           layers.Dense(2, name="b")])  # fmt: skip
    diagram = plot_model(model, tmp_path / "chain.png", dpi=50)
    assert diagram.arrows == [("a", "b")]
    assert diagram.boxes[0].lines == ("Dense",)  # Keras's default: no names
    with pytest.raises(ValueError, match="rankdir must be one of"):
        plot_model(model, tmp_path / "x.png", rankdir="UP")
    with pytest.raises(ValueError, match="input shapes of Sequential are unknown"):
        plot_model(nn.Sequential([layers.Dense(2)]), tmp_path / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.png"]
