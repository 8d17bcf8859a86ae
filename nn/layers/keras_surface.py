"""Keras's surface of a layer: writing one with `build` and `add_weight`,
and reading its weights back (`weights`, `get_weights`, `set_weights`,
`count_params`, `trainable`).

`KerasSurface` is a base of `nn.layers.Layer`; what it adds reads and writes
through `nn.layers.weights_surface` (where arrays live) and
`stateless.variable` (the handles `add_weight` returns).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from nn import constraints, initializers, regularizers
from nn.layers import weights_surface
from stateless import added_losses, mixed_precision
from stateless.dtypes import FLOAT_TYPES, standardize_dtype
from stateless.variable import Variable


def _weight_initializer(initializer: Any, dtype: str) -> Callable[..., Any]:
    """An `add_weight` initializer as `(key, shape, dtype) -> array`."""
    if initializer is None:
        initializer = "glorot_uniform" if dtype in FLOAT_TYPES else "zeros"
    if isinstance(initializer, str | initializers.Initializer):
        return initializers.get(initializer)
    if not callable(initializer):
        raise TypeError(
            f"add_weight: initializer must be a name, an Initializer or a function, "
            f"received {initializer!r:.80}."
        )
    first = next(iter(inspect.signature(initializer).parameters), "")
    if first in ("key", "rng", "seed"):  # JAX's `(key, shape, dtype)`
        return initializer
    return lambda key, shape, dtype: initializer(shape, dtype=dtype)  # Keras's


class KerasSurface:
    """Keras's way of writing a layer, and Keras's view of its weights."""

    # -- Keras's way of writing a layer ---------------------------------------

    def build(self, input_shape: Any) -> None:
        """Declares the weights for inputs of `input_shape` (Keras's way).

        Override it and call `self.add_weight(...)`; the first `init` (or
        call) runs it once, with the first input's shape, batch axis first.
        """
        del input_shape

    def add_weight(
        self,
        shape: Any = (),
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        *,
        name: str | None = None,
    ) -> Variable:
        """Declares a weight; returns its handle (Keras's way).

        The handle holds no array. `init` makes the value with `initializer`
        (default `"glorot_uniform"` for floats, `"zeros"` otherwise), under
        `params` if trainable, else under `state`. Inside `call` the handle
        reads its value from the scope (`ops.matmul(x, self.w)`, `self.w + 1`,
        `self.w.value`), and `handle.assign(...)` on a non-trainable weight
        comes back as new state.

        Args:
          shape: the weight's shape.
          initializer: a name, an `nn.initializers` object, `fn(shape,
            dtype)` or `fn(key, shape, dtype)`.
          dtype: default the layer's dtype (float32).
          trainable: whether the optimizer updates it.
          regularizer: a name or `nn.regularizers` object penalizing it.
          constraint: a name or `nn.constraints` object (or a function
            `w -> w`) applied after each optimizer update.
          name: the key it is kept under; default the attribute's name.
        """
        dtype = standardize_dtype(dtype or getattr(self, "dtype", "float32"))
        weight = Variable(
            tuple(shape), dtype, _weight_initializer(initializer, dtype),
            trainable=trainable, name=name,
            owner=self, regularizer=regularizers.get(regularizer),
            constraint=constraints.get(constraint),
        )  # fmt: skip
        declared = vars(self).setdefault("_declared_weights", [])
        if name is not None and any(w.name == name for w in declared):
            raise ValueError(
                f"{type(self).__name__}.add_weight: a weight named {name!r} exists."
            )
        declared.append(weight)
        return weight

    add_variable = add_weight  # Keras 3's other name for it

    def add_loss(self, value: Any) -> None:
        """Adds `value` to the loss `fit` and `evaluate` minimize (Keras's way).

        Call it inside `call`, e.g. `self.add_loss(1e-3 * ops.sum(x**2))`. The
        steps collect it through `stateless.added_losses`; `layer.losses`
        holds those of the last eager call.
        """
        added_losses.add_loss(value)

    @property
    def losses(self) -> list[Any]:
        """The losses added during the last eager call on arrays."""
        return list(vars(self).get("_last_losses", ()))

    def read_held(self, weight: Variable) -> Any:
        """A weight's value where it lives, outside any call (eager use)."""
        return weights_surface.read(self, weight)

    def assign_held(self, weight: Variable, value: Any) -> None:
        """Replaces a weight's value where it lives, outside any call."""
        weights_surface.assign(self, weight, value)

    # -- Keras's view of the dtypes -----------------------------------------

    @property
    def dtype_policy(self) -> Any:
        """The `stateless.mixed_precision.Policy` given as `dtype=`, or None
        (the layer follows the model's policy)."""
        return self._dtype_policy

    @property
    def variable_dtype(self) -> str:
        """The dtype this layer's weights are stored in."""
        policy = self.dtype_policy
        return policy.variable_dtype if policy is not None else "float32"

    @property
    def compute_dtype(self) -> str:
        """The dtype this layer computes in (its policy's, else the global one)."""
        policy = self.dtype_policy or mixed_precision.global_policy()
        return policy.compute_dtype

    @property
    def dtype(self) -> str:
        """The dtype of `add_weight`'s weights: `variable_dtype`, as Keras."""
        return self.variable_dtype

    # -- Keras's view of the weights ----------------------------------------

    @property
    def trainable(self) -> bool:
        """Whether this layer trains; setting it sets every sub-layer's too."""
        return vars(self).get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        object.__setattr__(self, "_trainable", bool(value))
        for sub in weights_surface.children(self).values():
            sub.trainable = value

    @property
    def weights(self) -> list[Variable]:
        """Every weight (this layer's, then each sub-layer's), Keras's order.

        Each is a handle: `.numpy()`, `.shape`, `.path`, `.assign(array)`.
        """
        return [w for w, _ in weights_surface.listed(self)]

    @property
    def trainable_weights(self) -> list[Variable]:
        """The weights the optimizer updates."""
        return [w for w, trains in weights_surface.listed(self) if trains]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        """The state, and the parameters of frozen layers."""
        return [w for w, trains in weights_surface.listed(self) if not trains]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """The weights' values as NumPy arrays, in the order of `weights`.

        Example:
          >>> from nn import layers
          >>> layer = layers.Dense(2)
          >>> _ = layer(jnp.ones((1, 3)))
          >>> [w.shape for w in layer.get_weights()]
          [(3, 2), (2,)]
        """
        return [np.asarray(w.value) for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Replaces the weights' values, given in the order of `weights`."""
        weights_surface.set_weights(self, list(weights))

    def count_params(self) -> int:
        """How many numbers the weights hold, state included (as Keras counts)."""
        weights = self.weights
        if not weights and weights_surface.home(self) is None:
            raise ValueError(
                f"{type(self).__name__} {self.default_name!r} is not built, so its "
                "weights are unknown. Hint: call it on an array first, or "
                "model.build(input_shape)."
            )
        return sum(int(np.prod(w.shape)) for w in weights)


def recording_build(build: Callable[..., Any]) -> Callable[..., Any]:
    """A user's `build`, run once: it marks the layer built."""

    @functools.wraps(build)
    def run(self: Any, input_shape: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self.built:
            return None
        result = build(self, input_shape, *args, **kwargs)
        object.__setattr__(self, "built", True)
        return result

    run.declares_weights = True
    return run
