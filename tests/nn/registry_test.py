"""The registry: configs name only registered classes."""

import pytest

import nn
from nn import layers
from nn.registry import deserialize, lookup, register, serialize


def test_builtin_layers_are_registered_by_class_name():
    assert lookup("Dense") is layers.Dense
    spec = serialize(layers.Dense(3, kernel_initializer=nn.initializers.Constant(0.5)))
    assert spec["config"]["kernel_initializer"] == {
        "class_name": "Constant",
        "config": {"value": 0.5},
    }
    assert deserialize(spec).kernel_initializer == nn.initializers.Constant(0.5)


def test_a_name_cannot_be_taken_twice():
    @register("tests>Twice")
    class First(layers.Flatten):
        pass

    with pytest.raises(ValueError, match="'tests>Twice' already names"):

        @register("tests>Twice")
        class Second(layers.Flatten):
            pass


def test_custom_objects_resolve_unregistered_names():
    class Local(layers.Flatten):
        pass

    assert isinstance(
        deserialize(
            {"class_name": "Local", "config": {"name": None}},
            custom_objects={"Local": Local},
        ),
        Local,
    )


def test_malformed_specs_and_functions_in_configs_are_refused():
    with pytest.raises(
        ValueError, match="expected {'class_name': str, 'config': dict}"
    ):
        deserialize({"class_name": "Dense"})
    # a function of one's own runs, but cannot be saved
    with pytest.raises(TypeError, match="Pass a function by its name"):
        layers.Dense(3, activation=lambda x: x).get_config()
    with pytest.raises(ValueError, match="unknown activation"):
        layers.Dense(3, activation="relu7")
