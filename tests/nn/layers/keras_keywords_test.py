"""Every layer that Keras also names takes Keras's constructor keywords.

For each class in `nn.layers` whose name `keras.layers` also exports, the
keywords of Keras's `__init__` must be among ours, but for the gaps listed
below, each with its reason. The list must stay exact: a gap filled must
leave it, so it always says what is still missing."""

import dataclasses
import inspect

import keras

from nn import layers
from nn.layers.base import BASE_KEYWORDS

# Quantization and LoRA fine-tuning are not in this project's catalogue yet.
_LOW_RANK = {"lora_rank", "lora_alpha", "quantization_config"}

# Keywords Keras takes that a layer here does not, yet.
GAPS = {
    # batch renormalization: Keras's own extension, not planned
    "BatchNormalization": {"renorm", "renorm_clipping", "renorm_momentum"},
    "Dense": _LOW_RANK,
    # `weights`: initial values; load them with set_weights instead
    "Embedding": {"weights"} | _LOW_RANK,
    "Bidirectional": {"weights"},
    # GPTQ quantization is not in this project's catalogue yet
    "EinsumDense": _LOW_RANK | {"gptq_unpacked_column_size"},
    # JaxLayer's TensorFlow export option: this project lowers through interop
    "JaxLayer": {"native_serialization_platforms"},
    # `variables` names every layer's held arrays here: a FlaxLayer's
    # variables come from its init, or set_weights
    "FlaxLayer": {"variables"},
    # InputLayer is built by Input, which takes sparse and batch_shape
    "InputLayer": {"sparse", "ragged", "batch_shape", "input_tensor", "optional"},
}  # fmt: skip


def _keywords(cls) -> set[str]:
    """The keywords a layer's constructor takes: its fields (or `__init__`'s
    parameters) and the base keywords that every layer takes."""
    if dataclasses.is_dataclass(cls):
        own = {field.name for field in dataclasses.fields(cls)}
    else:
        own = set(inspect.signature(cls.__init__).parameters)
    return own | set(BASE_KEYWORDS)


def _shared_classes():
    for name in sorted(dir(layers)):
        ours = getattr(layers, name)
        if isinstance(ours, type) and isinstance(getattr(keras.layers, name, 0), type):
            yield name, ours, getattr(keras.layers, name)


def test_layers_take_keras_keywords_but_the_listed_gaps():
    missing = {}
    for name, ours, theirs in _shared_classes():
        wanted = set(inspect.signature(theirs.__init__).parameters) - {"self", "kwargs"}
        lacking = wanted - _keywords(ours)
        if lacking:
            missing[name] = lacking
    assert missing == GAPS


def test_every_reshaping_and_merging_layer_of_keras_is_here():
    names = [
        "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding2D",
        "ZeroPadding3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Permute",
        "RepeatVector", "Flatten", "Reshape", "Add", "Subtract", "Multiply",
        "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
        "multiply", "average", "maximum", "minimum", "concatenate", "dot",
    ]  # fmt: skip
    assert [n for n in names if not hasattr(keras.layers, n)] == []
    assert [n for n in names if not hasattr(layers, n)] == []
