"""A JAX model as a TensorFlow module, and as a SavedModel of plain TF ops.

`to_tf(model, variables)` gives a `tf.Module` holding the variables as
`tf.Variable`s (`params` trainable, `state` not) whose `__call__(*inputs,
training=False, rng=None)` (a `tf.function` per mode) runs `model.apply`
lowered onto TensorFlow by `interop.lower`: every JAX primitive becomes ordinary TF ops,
so `tf.GradientTape` differentiates it and a TF optimizer can train it. In
training mode the new state (e.g. BatchNormalization's moving statistics) is
assigned to the state variables. `from_tf(module)` reads the variables back
as a pytree of JAX arrays; `export_saved_model` writes a SavedModel with a
serving signature, atomically.

A model is anything with a pure
`apply(variables, *inputs, training=False, rng=None) -> (outputs, new_state)`
(every `nn` layer and model); wrap a plain `fn(params, *inputs)` written with
`jax.numpy` in `FunctionModel(fn)`.

Plain TF ops or XLA? Two ways lead from JAX to TensorFlow:

* This module lowers the jaxpr to plain TF ops (`MatMul`, `Conv2D`,
  `GatherV2`, `While`...). The SavedModel needs neither JAX nor XLA to run:
  use it for TF Serving without XLA, TFLite conversion, TF.js, or to keep
  training in TF with `tf.GradientTape`. Numbers agree with JAX to float
  rounding (about 1e-6 relative), since TF's kernels sum in their own order.
* `jax2tf.convert(fn, native_serialization=True)` (from
  `jax.experimental.jax2tf`; or `jax.export` directly) embeds JAX's compiled
  StableHLO in one `XlaCallModule` op. It runs the very program JAX runs
  (XLA-exact numbers, every primitive, custom calls included), but only on
  runtimes with XLA. Prefer it when bit-level agreement with JAX matters or a
  primitive has no rule here; prefer `to_tf` when the graph must be portable.

Example:
  >>> module = to_tf(layers.Dense(2), layers.Dense(2).init(sl.random.key(0),
  ...                                                      jnp.ones((1, 3))))
  >>> module(tf.ones((4, 3))).shape
  TensorShape([4, 2])
  >>> jax.tree.map(jnp.shape, from_tf(module))
  {'params': {'bias': (2,), 'kernel': (3, 2)}, 'state': {}}
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow as tf

from interop.lowering import check_no_typed_key, lower
from stateless import random


@dataclasses.dataclass(frozen=True)
class FunctionModel:
    """Adapts a plain `fn(params, *inputs) -> outputs` to the `apply` contract.

    Example:
      >>> model = FunctionModel(lambda p, x: jnp.tanh(x @ p["w"]))
      >>> y, state = model.apply({"params": {"w": jnp.ones((3, 2))}}, jnp.ones((1, 3)))
      >>> y.shape, state
      ((1, 2), {})
    """

    fn: Callable[..., Any]

    def apply(self, variables, *inputs, training=False, rng=None):
        del training, rng
        return self.fn(variables["params"], *inputs), variables.get("state", {})


def _pure_apply(model: Any, training: bool) -> Callable[..., Any]:
    def apply(variables, inputs, rng):
        return model.apply(variables, *inputs, training=training, rng=rng)

    apply.__name__ = f"{type(model).__name__}.apply"
    return apply


def _tf_variables(tree: Any, trainable: bool, prefix: str) -> list[tf.Variable]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    for _, leaf in leaves:
        check_no_typed_key(leaf, "to_tf")
    return [
        tf.Variable(
            np.asarray(leaf, jax.dtypes.canonicalize_dtype(np.asarray(leaf).dtype)),
            trainable=trainable,
            name=(prefix + jax.tree_util.keystr(path, simple=True, separator="/")),
        )
        for path, leaf in leaves
    ]


class TFModel(tf.Module):
    """A model and its variables as a `tf.Module`; made by `to_tf`.

    Attributes:
      params: the trainable `tf.Variable`s, nested like the JAX params.
      state: the non-trainable `tf.Variable`s, nested like the JAX state.
      key: the `uint32[2]` key training draws from: call `n` uses
        `fold_in(key, n)` unless `rng=` is given.
      calls: the number of training calls so far.
    """

    def __init__(self, model: Any, variables: Mapping[str, Any], name=None):
        super().__init__(name=name)
        state = variables.get("state", {})
        self._trees = (
            jax.tree.structure(variables["params"]),
            jax.tree.structure(state),
        )
        self.param_list = _tf_variables(variables["params"], True, "params/")
        self.state_list = _tf_variables(state, False, "state/")
        self.params = jax.tree.unflatten(self._trees[0], self.param_list)
        self.state = jax.tree.unflatten(self._trees[1], self.state_list)
        self.key = tf.Variable(np.asarray(random.key(0)), trainable=False, name="key")
        self.calls = tf.Variable(0, trainable=False, name="calls")
        self._apply = {
            t: lower(_pure_apply(model, t), backend="tensorflow") for t in (False, True)
        }
        self._fold_in = lower(random.fold_in, backend="tensorflow")

    def _variables(self) -> dict[str, Any]:
        read = [tf.convert_to_tensor(v) for v in self.param_list]
        state = [tf.convert_to_tensor(v) for v in self.state_list]
        return {
            "params": jax.tree.unflatten(self._trees[0], read),
            "state": jax.tree.unflatten(self._trees[1], state),
        }

    def __call__(self, *inputs: Any, training: bool = False, rng: Any = None) -> Any:
        """Runs the model; in training mode, also updates `state` and `calls`.

        Inference (`training=False`, no `rng`) runs the `tf.function` over the
        inputs alone, which TensorFlow dispatches faster than one with keyword
        arguments; anything else runs `call`.

        Args:
          *inputs: tensors (or arrays) of static shapes.
          training: a Python bool, as in `model.apply`.
          rng: a `uint32[2]` key for training-time randomness (dropout);
            None draws `fold_in(key, calls)`.

        Returns:
          The model's outputs, as TF tensors in the same structure.
        """
        if not training and rng is None:
            return self._infer(*inputs)
        return self.call(*inputs, training=training, rng=rng)

    @tf.function(autograph=False)
    def _infer(self, *inputs: Any) -> Any:
        return self._apply[False](self._variables(), inputs, None)[0]

    @tf.function(autograph=False)
    def call(self, *inputs: Any, training: bool = False, rng: Any = None) -> Any:
        """`__call__` as one `tf.function` (the one a SavedModel keeps)."""
        if training and rng is None:
            rng = self._fold_in(tf.convert_to_tensor(self.key), self.calls.read_value())
        outputs, new_state = self._apply[training](self._variables(), inputs, rng)
        if training:
            for var, value in zip(self.state_list, jax.tree.leaves(new_state)):
                var.assign(value)
            self.calls.assign_add(1)
        return outputs


def to_tf(
    model: Any, variables: Mapping[str, Any], *, name: str | None = None
) -> TFModel:
    """The model as a `tf.Module` holding its variables; see the module docstring.

    Args:
      model: anything with a pure `apply(variables, *inputs, training=False,
        rng=None) -> (outputs, new_state)`, or a plain function
        `fn(params, *inputs) -> outputs` (as `to_torch` takes them).
      variables: `{"params": ..., "state": ...}` (`state` may be left out)
        for a model, the `params` pytree for a plain function.
      name: the module's name.

    Returns:
      A `TFModel`; call it like the model: `module(x, training=False)`.

    Raises:
      TypeError: `model` has no `apply` and is not callable.

    Example:
      >>> module = to_tf(lambda p, x: x @ p["w"], {"w": np.ones((3, 2), "float32")})
      >>> module(tf.ones((1, 3))).numpy()
      array([[3., 3.]], dtype=float32)
    """
    if not hasattr(model, "apply"):
        if not callable(model):
            raise TypeError(
                "to_tf: expected a model with apply(variables, *inputs, training, "
                "rng) or a function fn(params, *inputs). Received: "
                f"model={type(model).__name__}."
            )
        model, variables = FunctionModel(model), {"params": variables}
    return TFModel(model, variables, name=name)


def _to_arrays(tree: Any) -> Any:
    if isinstance(tree, tf.Variable | tf.Tensor):
        return jnp.asarray(tree.numpy())
    if isinstance(tree, Mapping):
        return {k: _to_arrays(v) for k, v in tree.items()}
    if isinstance(tree, Sequence) and not isinstance(tree, str):
        return [_to_arrays(v) for v in tree]
    return tree


def from_tf(module: tf.Module) -> dict[str, Any]:
    """The variables of a `to_tf` module (or its loaded SavedModel) as JAX arrays.

    Returns:
      `{"params": ..., "state": ...}`, nested as the module holds them.

    Example:
      >>> module = to_tf(FunctionModel(lambda p, x: x * p["s"]),
      ...                {"params": {"s": np.float32(2)}})
      >>> from_tf(module)
      {'params': {'s': Array(2., dtype=float32)}, 'state': {}}
    """
    return {"params": _to_arrays(module.params), "state": _to_arrays(module.state)}


def _spec(x: Any, i: int) -> tf.TensorSpec:
    if isinstance(x, tf.TensorSpec):
        return x
    return tf.TensorSpec(tuple(x.shape), tf.as_dtype(np.dtype(x.dtype)), f"input_{i}")


def export_saved_model(
    model: Any,
    variables: Mapping[str, Any],
    path: str | os.PathLike,
    input_signature: Sequence[Any],
) -> str:
    """Writes the model as a SavedModel of plain TF ops, atomically.

    The SavedModel holds the variables, `call` (the module's `__call__` as
    one `tf.function`) for the traced signature and a `serving_default`
    signature (also `loaded.serve(*inputs)`) whose outputs are named
    `output_0`, `output_1`... in the order of `jax.tree.leaves(outputs)`.
    It is written to a temporary directory beside `path`, then renamed into
    place (an existing model at `path` is renamed aside, then removed), so
    readers never see half a model.

    Args:
      model: anything with a pure `apply`, or a plain function
        `fn(params, *inputs)` (see `to_tf`).
      variables: `{"params": ..., "state": ...}`, or the `params` of a
        plain function.
      path: the SavedModel directory (replaced if it exists).
      input_signature: one entry per input: a `tf.TensorSpec`, or anything
        with static `shape` and `dtype` (an array, `jax.ShapeDtypeStruct`).

    Returns:
      `path`, as a string.

    Example:
      >>> folder = tempfile.TemporaryDirectory()
      >>> layer = layers.Dense(2)
      >>> v = layer.init(sl.random.key(0), jnp.ones((1, 3)))
      >>> spec = jax.ShapeDtypeStruct((4, 3), "float32")
      >>> path = export_saved_model(layer, v, f"{folder.name}/dense", [spec])
      >>> loaded = tf.saved_model.load(path)  # keep it: it owns the variables
      >>> loaded.serve(tf.ones((4, 3)))["output_0"].shape
      TensorShape([4, 2])
      >>> folder.cleanup()
    """
    path = os.fspath(path)
    module = to_tf(model, variables)
    specs = [_spec(x, i) for i, x in enumerate(input_signature)]

    def serve(*inputs):
        outputs = jax.tree.leaves(module(*inputs, training=False))
        return {f"output_{i}": y for i, y in enumerate(outputs)}

    module.serve = tf.function(serve, input_signature=specs, autograph=False)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.")
    try:
        tf.saved_model.save(
            module, staging, signatures={"serving_default": module.serve}
        )
        _move_into_place(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _move_into_place(staging: str, path: str) -> None:
    """Renames `staging` to `path`. An existing `path` is renamed aside first
    (and put back if the rename fails), then removed."""
    old = None
    if os.path.lexists(path):
        old = staging + ".old"
        os.rename(path, old)
    try:
        os.rename(staging, path)
    except BaseException:
        if old is not None:
            os.rename(old, path)
        raise
    if old is not None and os.path.isdir(old) and not os.path.islink(old):
        shutil.rmtree(old)
    elif old is not None:
        os.remove(old)
