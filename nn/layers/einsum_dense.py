"""EinsumDense: a dense layer whose product is an einsum equation, with the
kernel's and bias's shapes read from the equation, the input and
`output_shape`, by Keras's rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nn import activations, initializers
from nn.layers.base import Layer, set_fields
from nn.registry import register
from stateless import ops, random

# input spec, kernel spec, output spec; which side an ellipsis stands on
_FORMS = (
    (r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", None),
    (r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)", "left"),
    (r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.", "right"),
)


@dataclass(frozen=True)
class EinsumShapes:
    """What an equation makes of one input shape."""

    kernel: tuple[int, ...]
    bias: tuple[int, ...] | None
    output: tuple[int | None, ...]


@register()
@dataclass(frozen=True)
class EinsumDense(Layer):
    """`activation(einsum(equation, x, kernel) + bias)`.

    The equation is `"<input>,<kernel>-><output>"` with one letter per axis,
    optionally with `...` standing for leading (`"...b,bc->...c"`) or
    trailing input axes. The output's first axis is the batch; the kernel
    takes its sizes from the input, and from `output_shape` for the axes
    the input lacks.

    Args:
      equation: the einsum equation.
      output_shape: the output's shape without the batch axis (an int for
        one axis; None for an axis the input gives).
      activation: an activation name or function, or None.
      bias_axes: letters of the output axes that get a bias, or None.
      kernel_initializer, bias_initializer: names or `Initializer`s.
      kernel_regularizer, bias_regularizer: names or `L1L2`, or None.
      kernel_constraint, bias_constraint: names or `Constraint`s.

    Raises:
      ValueError: an equation of another form, or output and input sizes
        that disagree on a shared axis, named.

    Example:
      >>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 6), bias_axes="d")
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 5, 4)))
      >>> jax.tree.map(jnp.shape, v["params"])
      {'bias': (6,), 'kernel': (4, 6)}
      >>> layer.apply(v, jnp.ones((2, 5, 4)))[0].shape
      (2, 5, 6)
    """

    equation: str
    output_shape: int | tuple[int | None, ...]
    activation: Any = None
    bias_axes: str | None = None
    kernel_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    bias_regularizer: Any = None
    kernel_constraint: Any = None
    bias_constraint: Any = None

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.output_shape, int):
            set_fields(self, output_shape=tuple(self.output_shape))
        self._specs()

    def _specs(self) -> tuple[str, str, str, str | None]:
        for pattern, side in _FORMS:
            found = re.fullmatch(pattern, self.equation.replace(" ", ""))
            if found:
                return (*found.groups(), side)
        raise ValueError(
            f"EinsumDense: equation {self.equation!r} is not of a supported form: "
            "'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'."
        )

    def shapes(self, input_shape: tuple[int, ...]) -> EinsumShapes:
        """The kernel, bias and output shapes for inputs of `input_shape`."""
        inputs, kernel, outputs, side = self._specs()
        elided = len(input_shape) - len(inputs)
        given = [self.output_shape] if isinstance(self.output_shape, int) else []
        given = given or list(self.output_shape)
        full = [input_shape[0], *given]
        if side == "left" and elided > 0:
            full[1:1] = input_shape[1:elided]
        elif side == "right" and elided > 0:
            full += input_shape[len(input_shape) - elided :]
        lead = elided if side == "left" else 0
        in_size = {c: input_shape[i + lead] for i, c in enumerate(inputs)}
        out_at = {c: i + lead for i, c in enumerate(outputs)}
        for c, size in in_size.items():
            if c in out_at:
                if full[out_at[c]] not in (None, size):
                    raise ValueError(
                        f"EinsumDense {self.default_name!r}: output_shape gives axis "
                        f"{c!r} size {full[out_at[c]]}, the input {size}; make them "
                        "agree (or give None)."
                    )
                full[out_at[c]] = size
        for c in outputs:
            if c not in inputs and c not in kernel:
                raise ValueError(
                    f"EinsumDense {self.default_name!r}: output axis {c!r} is "
                    f"in neither the input {inputs!r} nor the kernel {kernel!r}."
                )
        kernel_shape = []
        for c in kernel:
            size = full[out_at[c]] if c in out_at else in_size.get(c)
            if size is None:
                raise ValueError(
                    f"EinsumDense {self.default_name!r}: kernel axis {c!r} has no "
                    "size: name it in the input, or give it in output_shape."
                )
            kernel_shape.append(size)
        return EinsumShapes(
            tuple(kernel_shape), self._bias_shape(outputs, out_at, full, side, elided),
            tuple(full),
        )  # fmt: skip

    def _bias_shape(self, outputs, out_at, full, side, elided):
        if self.bias_axes is None:
            return None
        stray = [c for c in self.bias_axes if c not in outputs]
        if stray:
            raise ValueError(
                f"EinsumDense {self.default_name!r}: bias_axes {stray} are not "
                f"axes of the output {outputs!r}."
            )
        first = min(outputs.index(c) for c in self.bias_axes)
        shape = [full[out_at[c]] if c in self.bias_axes else 1 for c in outputs[first:]]
        trailing = elided if side != "left" and elided > 0 else 0
        return (*shape, *[1] * trailing)

    def init(self, key, x):
        shapes = self.shapes(tuple(x.shape))
        k_kernel, k_bias = random.split(key)
        init = initializers.get
        params = {"kernel": init(self.kernel_initializer)(k_kernel, shapes.kernel)}
        if shapes.bias is not None:
            params["bias"] = init(self.bias_initializer)(k_bias, shapes.bias)
        return {"params": params, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        p = variables["params"]
        y = ops.einsum(self.equation, x, p["kernel"])
        if "bias" in p:
            y = y + p["bias"]
        return activations.get(self.activation)(y), variables["state"]
