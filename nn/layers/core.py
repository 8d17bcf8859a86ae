"""Core layers: Input, Dense, Activation, Dropout, Rescaling, Embedding,
Identity, Masking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nn import activations, initializers
from nn.layers.base import Layer, check_positive_int, set_fields
from nn.registry import register
from nn.symbolic import Node, SymbolicTensor
from stateless import ops, random
from stateless.dtypes import FLOAT_TYPES, INT_TYPES, standardize_dtype
from stateless.errors import DTypeError, check_shape


@register()
@dataclass(frozen=True)
class InputLayer(Layer):
    """The layer behind `Input`: it passes its input through unchanged.

    Args:
      shape: the shape of one example; `None` marks an axis of any size.
      dtype: the inputs' dtype.
      batch_size: a fixed batch size, or None for any.
    """

    shape: tuple[int | None, ...]
    dtype: str = "float32"
    batch_size: int | None = None

    def __post_init__(self):
        super().__post_init__()
        set_fields(self, shape=tuple(self.shape), dtype=standardize_dtype(self.dtype))

    def apply(self, variables, x, *, training=False, rng=None):
        check_shape(self, "x", x, (self.batch_size, *self.shape))
        return x, variables["state"]


def Input(  # noqa: N802 (Keras's name)
    shape: tuple[int | None, ...] | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: Any = None,
    batch_shape: tuple[int | None, ...] | None = None,
    name: str | None = None,
) -> SymbolicTensor:
    """A symbolic batch of inputs, with Keras's arguments.

    Args:
      shape: the shape of one example (no batch axis); `None` marks an axis
        of any size, e.g. `(None,)` for sequences of any length.
      batch_size: a fixed batch size (default any).
      dtype: default float32.
      sparse: only False or None (sparse inputs are not supported).
      batch_shape: the whole shape, batch axis first, instead of `shape`.
      name: the input's name (the key of a dict of inputs).

    Example:
      >>> x = Input((28, 28, 1))
      >>> x.shape
      (None, 28, 28, 1)
      >>> Input(shape=(None,), dtype="int32").shape
      (None, None)
    """
    if isinstance(batch_size, str):
        raise TypeError(
            f"Input: batch_size must be an int, received {batch_size!r}. Hint: the "
            "second argument is batch_size, as in Keras; pass dtype=... by name."
        )
    if sparse:
        raise ValueError("Input: sparse inputs are not supported; pass dense arrays.")
    if (shape is None) == (batch_shape is None):
        raise ValueError(
            f"Input: give exactly one of shape= and batch_shape=, received "
            f"shape={shape!r}, batch_shape={batch_shape!r}."
        )
    if batch_shape is not None:
        batch_size, *shape = tuple(batch_shape)
    layer = InputLayer(
        shape=tuple(shape), dtype=dtype or "float32", batch_size=batch_size, name=name
    )
    node = Node(layer, (), {})
    tensor = SymbolicTensor((batch_size, *layer.shape), layer.dtype, node, 0)
    node.outputs.append(tensor)
    node.output_tree = tensor
    return tensor


@register()
@dataclass(frozen=True)
class Dense(Layer):
    """An affine map over the last axis, `activation(x @ kernel + bias)`.

    Args:
      units: the output size.
      activation: an activation name, or None for linear.
      use_bias: whether to add a bias.
      kernel_initializer, bias_initializer: names or `Initializer`s.
      kernel_regularizer, bias_regularizer: names or `L1L2`, or None.
      kernel_constraint, bias_constraint: names or `Constraint`s, applied
        after each update in fit.

    Example:
      >>> layer = Dense(4, activation="relu")
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 3)))
      >>> jax.tree.map(jnp.shape, v)
      {'params': {'bias': (4,), 'kernel': (3, 4)}, 'state': {}}
      >>> layer.apply(v, jnp.ones((2, 3)))[0].shape
      (2, 4)
    """

    supports_masking = True

    units: int
    activation: str | None = None
    use_bias: bool = True
    kernel_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    bias_regularizer: Any = None
    kernel_constraint: Any = None
    bias_constraint: Any = None

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, units=self.units)

    def init(self, key, x):
        k_kernel, k_bias = random.split(key)
        kernel = initializers.get(self.kernel_initializer)(
            k_kernel, (x.shape[-1], self.units)
        )
        params = {"kernel": kernel}
        if self.use_bias:
            params["bias"] = initializers.get(self.bias_initializer)(
                k_bias, (self.units,)
            )
        return {"params": params, "state": {}}

    def apply(self, variables, x, *, training=False, rng=None):
        p = variables["params"]
        check_shape(self, "x", x, (..., p["kernel"].shape[0]))
        y = ops.matmul(x, p["kernel"])
        if self.use_bias:
            y = y + p["bias"]
        return activations.get(self.activation)(y), variables["state"]


@register()
@dataclass(frozen=True)
class Activation(Layer):
    """Applies an activation by name.

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Activation("relu").apply(v, jnp.array([-1.0, 1.0]))[0].tolist()
      [0.0, 1.0]
    """

    supports_masking = True

    activation: str

    def apply(self, variables, x, *, training=False, rng=None):
        return activations.get(self.activation)(x), variables["state"]


def check_rates(layer: Layer, **rates: float) -> None:
    """Raises a `ValueError` naming the layer and argument unless each drop
    rate is in `[0, 1)`."""
    for name, rate in rates.items():
        if not 0.0 <= rate < 1.0:
            raise ValueError(
                f"{type(layer).__name__}: {name} must be in [0, 1), received {rate!r}."
            )


def layer_key(layer: Layer, rng: Any, seed: int | None) -> Any:
    """The key a random layer draws from in training: the `rng` given to
    `apply`, with the layer's `seed` (if any) folded in."""
    if rng is None:
        raise ValueError(
            f"{type(layer).__name__} {layer.default_name!r} needs rng= when "
            "training=True. Hint: model.apply(variables, x, training=True, "
            "rng=sl.random.key(0))."
        )
    return rng if seed is None else random.fold_in(rng, seed)


@register()
@dataclass(frozen=True)
class Dropout(Layer):
    """Zeroes a fraction `rate` of entries when training, scaling the rest up.

    Args:
      rate: the drop probability, in `[0, 1)`.
      noise_shape: the mask's shape, `None` entries taken from the input,
        e.g. `(None, 1, None)` drops whole timesteps' features alike.
      seed: an int folded into the key `apply` is given, so that layers
        with different seeds draw differently.

    Example:
      >>> layer, v = Dropout(0.5), {"params": {}, "state": {}}
      >>> y, _ = layer.apply(v, jnp.ones((2, 4)), training=True, rng=sl.random.key(0))
      >>> sorted(set(y.ravel().tolist()))
      [0.0, 2.0]
    """

    supports_masking = True

    rate: float = 0.5
    noise_shape: tuple[int | None, ...] | None = None
    seed: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check_rates(self, rate=self.rate)
        if self.noise_shape is not None:
            set_fields(self, noise_shape=tuple(self.noise_shape))

    def apply(self, variables, x, *, training=False, rng=None):
        if not training or self.rate == 0.0:
            return x, variables["state"]
        key = layer_key(self, rng, self.seed)
        noise = None
        if self.noise_shape is not None:
            noise = tuple(
                d if n is None else n for d, n in zip(x.shape, self.noise_shape)
            )
        return random.dropout(x, self.rate, noise, seed=key), variables["state"]


@register()
@dataclass(frozen=True)
class Rescaling(Layer):
    """`x * scale + offset`, in float32 (e.g. `scale=1/255` for pixels).

    Example:
      >>> v = {"params": {}, "state": {}}
      >>> Rescaling(1 / 255).apply(v, jnp.array([0, 255], "uint8"))[0].tolist()
      [0.0, 1.0]
    """

    supports_masking = True

    scale: float = 1.0
    offset: float = 0.0

    def apply(self, variables, x, *, training=False, rng=None):
        return ops.cast(x, "float32") * self.scale + self.offset, variables["state"]


@register()
@dataclass(frozen=True)
class Embedding(Layer):
    """Looks up a learned vector for each integer id in `[0, input_dim)`.

    Ids are not range-checked (values are never read at trace time): an id
    outside the table gives NaNs, which training then reports as a NaN loss.
    Float ids that hold integers are cast to int32, as Keras casts them; a
    dtype policy never casts the ids (`autocast` is False).

    Args:
      input_dim, output_dim: the number of ids and the vector size.
      embeddings_initializer: a name or `Initializer`.
      embeddings_regularizer: a name or `L1L2`, or None.
      embeddings_constraint: a name or `Constraint` (`UnitNorm(axis=1)`
        keeps each vector at norm 1), applied after each update in fit.
      mask_zero: whether id 0 is padding: the layer's mask (`compute_mask`)
        is then `ids != 0`, and later layers skip those steps, as in Keras
        (so a vocabulary of n words needs `input_dim = n + 1`).

    Example:
      >>> layer = Embedding(100, 8)
      >>> ids = jnp.array([[1, 2, 3]])
      >>> layer.apply(layer.init(sl.random.key(0), ids), ids)[0].shape
      (1, 3, 8)
    """

    input_dim: int
    output_dim: int
    embeddings_initializer: Any = "random_uniform"
    embeddings_regularizer: Any = None
    embeddings_constraint: Any = None
    mask_zero: bool = False

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, input_dim=self.input_dim, output_dim=self.output_dim)

    def compute_mask(self, ids, mask=None):
        """`ids != 0` with `mask_zero`, else None."""
        return ops.not_equal(ids, 0) if self.mask_zero else None

    def init(self, key, ids):
        shape = (self.input_dim, self.output_dim)
        return {
            "params": {
                "embeddings": initializers.get(self.embeddings_initializer)(key, shape)
            },
            "state": {},
        }

    autocast = False  # ids are not activations: a policy leaves them be

    def apply(self, variables, ids, *, training=False, rng=None):
        return ops.take(variables["params"]["embeddings"], self.ids(ids), axis=0), (
            variables["state"]
        )

    def ids(self, ids: Any) -> Any:
        """`ids` as integers: float ids (which hold integers) are cast to
        int32, as Keras casts them."""
        dtype = standardize_dtype(ids.dtype)
        if dtype in INT_TYPES:
            return ids
        if dtype in FLOAT_TYPES:
            return ops.cast(ids, "int32")
        raise DTypeError(
            f"{type(self).__name__} {self.default_name!r}, argument 'ids': expected "
            f"integer (or integer-valued float) ids, received {dtype}. Hint: cast "
            "the ids, e.g. ops.cast(ids, 'int32')."
        )


@register()
@dataclass(frozen=True)
class Identity(Layer):
    """Returns its input unchanged (any structure of arrays).

    Example:
      >>> Identity().apply({"params": {}, "state": {}}, jnp.ones(2))[0].tolist()
      [1.0, 1.0]
    """

    supports_masking = True

    def apply(self, variables, x, *, training=False, rng=None):
        return x, variables["state"]


@register()
@dataclass(frozen=True)
class Masking(Layer):
    """Zeroes the timesteps whose features all equal `mask_value`.

    Over `(batch, steps, features)`, a step where every feature equals
    `mask_value` becomes zeros, and the layer's mask (`compute_mask`: False
    at those steps) tells later layers to skip them, as in Keras.

    Args:
      mask_value: the value that marks padding.

    Example:
      >>> x = jnp.array([[[1.0, 2.0], [0.0, 0.0]]])
      >>> Masking().apply({"params": {}, "state": {}}, x)[0].tolist()
      [[[1.0, 2.0], [0.0, 0.0]]]
    """

    mask_value: float = 0.0

    def compute_mask(self, x, mask=None):
        """False at the steps whose features all equal `mask_value`."""
        return ops.any(ops.not_equal(x, self.mask_value), axis=-1)

    def apply(self, variables, x, *, training=False, rng=None):
        kept = ops.any(ops.not_equal(x, self.mask_value), axis=-1, keepdims=True)
        return x * ops.cast(kept, x.dtype), variables["state"]
