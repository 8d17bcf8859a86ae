"""The functional model: a DAG of layer calls drawn on `layers.Input` tensors.

`nn.Model(inputs, outputs)` walks the recorded nodes back from `outputs`, in
an order where every node comes after its parents. Branches, skips, several
inputs and outputs, shared layers (one set of variables, several calls) and
nested models all follow from that walk.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax

from nn import registry
from nn.layers import masking, weights_surface
from nn.layers.base import Layer, Variables
from nn.models.model import Model
from nn.models.naming import assign_names
from nn.models.variables_check import check_variables
from nn.symbolic import Node, SymbolicTensor
from stateless import random


def _sorted_nodes(outputs: list[SymbolicTensor]) -> list[Node]:
    """Every node the outputs depend on, parents before children."""
    order: list[Node] = []
    state: dict[int, str] = {}

    def visit(node: Node) -> None:
        mark = state.get(id(node))
        if mark == "done":
            return
        if mark == "active":
            raise ValueError("Model: the layer graph has a cycle.")
        state[id(node)] = "active"
        for parent in node.parents():
            visit(parent.node)
        state[id(node)] = "done"
        order.append(node)

    for tensor in outputs:
        visit(tensor.node)
    return order


def _leaves(tree: Any) -> list[SymbolicTensor]:
    leaves = jax.tree.leaves(tree)
    bad = [leaf for leaf in leaves if not isinstance(leaf, SymbolicTensor)]
    if bad or not leaves:
        raise TypeError(
            "Model(inputs, outputs): expected symbolic tensors (from layers.Input "
            f"and layer calls), received {bad[0] if bad else tree!r:.100}."
        )
    return leaves


def drawn(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a model's arguments are `(inputs, outputs)` symbolic tensors."""
    given = [*args[:2], *(kwargs[k] for k in ("inputs", "outputs") if k in kwargs)]
    return len(given) == 2 and all(
        leaves and all(isinstance(t, SymbolicTensor) for t in leaves)
        for leaves in map(jax.tree.leaves, given)
    )


@functools.cache
def over_functional(cls: type) -> type:
    """`cls` (a subclass of `nn.Model`) placed over `Functional`: its own
    methods (custom steps) first, then the functional model's. Keras builds
    such a subclass from `CustomModel(inputs, outputs)` too."""
    names = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    return type(cls.__name__, (cls, Functional), names)


@registry.register("Functional")
class Functional(Model):
    """A model drawn by calling layers on symbolic tensors: `nn.Model(inputs, outputs)`.

    Example:
      >>> import nn
      >>> from nn import layers
      >>> x = layers.Input((8,))
      >>> h = layers.Dense(16, activation="relu")(x)
      >>> y = layers.Add()([layers.Dense(16)(h), h])   # a skip connection
      >>> model = nn.Model(x, layers.Dense(2)(y))
      >>> variables = model.init(sl.random.key(0))
      >>> sorted(variables["params"])
      ['dense', 'dense_1', 'dense_2']
      >>> model.apply(variables, jnp.ones((4, 8)))[0].shape
      (4, 2)
    """

    def __init__(self, inputs: Any, outputs: Any, *, name: str | None = None):
        super().__init__(name=name)
        self._inputs, self._outputs = inputs, outputs
        input_tensors, output_tensors = _leaves(inputs), _leaves(outputs)
        self._nodes = _sorted_nodes(output_tensors)
        given = {id(t.node) for t in input_tensors}
        for node in self._nodes:
            if not node.parents() and id(node) not in given:
                raise ValueError(
                    f"Model: the outputs depend on {node.outputs[0]!r}, which is not "
                    "among the model's inputs. Hint: pass it in inputs=[...]."
                )
        self._names = assign_names((n.layer for n in self._nodes), "Model")
        self.input_specs = tuple(t.spec() for t in input_tensors)
        weights_surface.children(self)  # each layer learns where its weights live

    def layers_by_name(self) -> dict[str, Layer]:
        layers = {id(n.layer): n.layer for n in self._nodes}
        return {self._names[i]: layer for i, layer in layers.items()}

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """The `Input` tensors, flat."""
        return jax.tree.leaves(self._inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """The output tensors, flat."""
        return jax.tree.leaves(self._outputs)

    @property
    def output_names(self) -> list[str]:
        """Keras's: the keys of a dict of outputs (in `jax.tree` order), else
        the name of the layer that makes each output."""
        if isinstance(self._outputs, dict):
            return sorted(self._outputs)
        return [tensor.node.layer.name for tensor in self.outputs]

    @property
    def input(self) -> Any:
        """The inputs as given to the constructor (one tensor, a list, a dict)."""
        return self._inputs

    @property
    def output(self) -> Any:
        """The outputs as given to the constructor."""
        return self._outputs

    def _feed(self, inputs: tuple[Any, ...]) -> dict[int, Any]:
        """`id(input tensor) -> value`, for inputs passed flat or as one structure."""
        tensors = jax.tree.leaves(self._inputs)
        if len(inputs) == 1 and isinstance(inputs[0], dict):
            if not isinstance(self._inputs, dict):  # keyed by the Inputs' names
                return self._feed_by_name(tensors, inputs[0])
            self._check_keys(sorted(self._inputs), inputs[0])
        if len(inputs) == 1 and not isinstance(self._inputs, SymbolicTensor):
            inputs = tuple(jax.tree.leaves(inputs[0]))
        if len(inputs) != len(tensors):
            shapes = [tuple(getattr(x, "shape", ())) for x in inputs]
            raise ValueError(
                f"{type(self).__name__} {self.default_name!r}: expected "
                f"{len(tensors)} inputs {self._input_names(tensors)}, received "
                f"{len(inputs)} of shapes {shapes}. Hint: pass a list with one "
                "array per input, in that order, or a dict keyed by input name."
            )
        return {id(t): x for t, x in zip(tensors, inputs)}

    def _input_names(self, tensors: list[Any]) -> list[str]:
        return [self._names[id(t.node.layer)] for t in tensors]

    def _check_keys(self, names: list[str], given: dict[str, Any]) -> None:
        missing = [n for n in names if n not in given]
        extra = sorted(set(given) - set(names))
        if missing or extra:
            raise ValueError(
                f"{type(self).__name__} {self.default_name!r}: the input dict must "
                f"have the keys {names}; missing {missing}, unexpected {extra}."
            )

    def _feed_by_name(self, tensors: list[Any], given: dict[str, Any]) -> dict:
        names = self._input_names(tensors)
        self._check_keys(names, given)
        return {id(t): given[n] for t, n in zip(tensors, names)}

    def init(self, key: jax.Array, *inputs: Any) -> Variables:
        del inputs  # the Input tensors fix every shape
        variables: Variables = {"params": {}, "state": {}}
        for i, (name, layer) in enumerate(self.layers_by_name().items()):
            node = next(n for n in self._nodes if n.layer is layer)
            specs = jax.tree.map(
                lambda t: t.spec() if isinstance(t, SymbolicTensor) else t, node.args
            )
            masks = jax.tree.map(
                lambda t: t.mask_spec() if isinstance(t, SymbolicTensor) else None,
                node.args,
            )
            extra = masking.init_keywords(layer, specs, (masks, {}))
            v = layer.init(random.fold_in(key, i), *specs, **extra)
            for part in ("params", "state"):
                if v[part]:
                    variables[part][name] = v[part]
        return variables

    def apply(self, variables, *inputs, training=False, rng=None):
        return self.apply_with_masks(variables, *inputs, training=training, rng=rng)[:2]

    def apply_with_masks(self, variables, *inputs, training=False, rng=None):
        """`apply`, and the masks the outputs carry (laid out as the outputs,
        None for one without): the loss and metrics of `fit` honour them."""
        check_variables(self, variables, inputs)
        values = self._feed(inputs)  # id(symbolic tensor) -> its value
        masks: dict[int, Any] = {}  # id(symbolic tensor) -> its mask, if any
        state = dict(variables["state"])
        for i, node in enumerate(self._nodes):
            name = self._names[id(node.layer)]
            args, kwargs = jax.tree.map(
                lambda t: values[id(t)] if isinstance(t, SymbolicTensor) else t,
                (node.args, node.kwargs),
            )
            if not node.parents():  # an Input: its value is fed, not computed
                args = (values[id(node.outputs[0])],)
            v = {
                "params": variables["params"].get(name, {}),
                "state": state.get(name, {}),
            }
            kwargs = {"training": training, **kwargs}
            kwargs["rng"] = None if rng is None else random.fold_in(rng, i)
            arg_masks, kwarg_masks = jax.tree.map(
                lambda t: masks.get(id(t)) if isinstance(t, SymbolicTensor) else None,
                (node.args, node.kwargs),
            )
            out, new, out_masks = masking.call_with_masks(
                node.layer, v, args, kwargs, (arg_masks, kwarg_masks)
            )
            if new:
                state[name] = new
            for tensor, value, mask in zip(
                node.outputs, jax.tree.leaves(out), out_masks
            ):
                values[id(tensor)] = value
                if mask is not None:
                    masks[id(tensor)] = mask
        outputs = jax.tree.map(lambda t: values[id(t)], self._outputs)
        return outputs, state, jax.tree.map(lambda t: masks.get(id(t)), self._outputs)

    def connections(self) -> dict[str, list[str]]:
        """What each layer was called on, as Keras's summary shows it:
        `{layer name: ["source[node][tensor]", ...]}` (`node`: which call of
        the source layer, `tensor`: which of its outputs). Empty when the
        model is a plain chain, one layer after another."""
        calls: dict[int, list[Node]] = {}
        consumers: dict[int, int] = {}
        for node in self._nodes:
            calls.setdefault(id(node.layer), []).append(node)
            for tensor in node.parents():
                consumers[id(tensor)] = consumers.get(id(tensor), 0) + 1
        chain = (
            all(len(node.parents()) <= 1 for node in self._nodes)
            and all(count == 1 for count in consumers.values())
            and all(len(nodes) == 1 for nodes in calls.values())
        )
        if chain:
            return {}
        links: dict[str, list[str]] = {}
        for node in self._nodes:
            for tensor in node.parents():
                source = tensor.node
                name = self._names[id(source.layer)]
                index = calls[id(source.layer)].index(source)
                links.setdefault(self._names[id(node.layer)], []).append(
                    f"{name}[{index}][{tensor.index}]"
                )
        return links

    def layer_outputs(self, *input_specs):
        return [(self._names[id(n.layer)], n.layer, n.output_tree) for n in self._nodes]

    def get_config(self) -> dict[str, Any]:
        index = {id(n): i for i, n in enumerate(self._nodes)}

        def encode(tree):
            return jax.tree.map(
                lambda t: (
                    {"tensor": [index[id(t.node)], t.index]}
                    if isinstance(t, SymbolicTensor)
                    else t
                ),
                tree,
            )

        layers = []
        for name, layer in self.layers_by_name().items():
            spec = registry.serialize(layer)
            spec["config"]["name"] = name
            layers.append(spec)
        nodes = [
            {
                "layer": self._names[id(n.layer)],
                "args": encode(list(n.args)),
                "kwargs": encode(n.kwargs),
            }
            for n in self._nodes
        ]
        return {
            "name": self.name,
            "layers": layers,
            "nodes": nodes,
            "inputs": encode(self._inputs),
            "outputs": encode(self._outputs),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Functional:
        layers = {}
        for spec in config["layers"]:
            layer = registry.deserialize(spec, custom_objects)
            layers[layer.name] = layer
        return rebuild(cls, config, layers)


def rebuild(
    cls: type,
    config: dict[str, Any],
    layers: dict[str, Any],
    inputs: Any = None,
    call: Callable[..., Any] | None = None,
) -> Any:
    """A functional model of class `cls` drawn from `config`'s nodes over
    `layers` (`{name in config: layer}`): from new `Input`s, or over the
    given `inputs` tensors, one per `Input` in order; each layer called as
    `call(layer, *args, **kwargs)` when given (`clone_model`'s
    `call_function`)."""
    from nn.layers.core import Input, InputLayer

    made: list[Any] = []
    given = None if inputs is None else iter(jax.tree.leaves(inputs))

    def decode(tree):
        if isinstance(tree, dict) and set(tree) == {"tensor"}:
            node, index = tree["tensor"]
            return jax.tree.leaves(made[node])[index]
        if isinstance(tree, list):
            return [decode(t) for t in tree]
        if isinstance(tree, dict):
            return {k: decode(v) for k, v in tree.items()}
        return tree

    for node in config["nodes"]:
        layer = layers[node["layer"]]
        if isinstance(layer, InputLayer):
            made.append(
                Input(layer.shape, layer.batch_size, layer.dtype, name=layer.name)
                if given is None
                else next(given)
            )
        elif call is not None:
            made.append(call(layer, *decode(node["args"]), **decode(node["kwargs"])))
        else:
            made.append(layer(*decode(node["args"]), **decode(node["kwargs"])))
    return cls(decode(config["inputs"]), decode(config["outputs"]), name=config["name"])
