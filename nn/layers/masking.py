"""How a mask flows from layer to layer in a model, as Keras propagates it.

A mask marks which steps of a sequence count (`(B, T)`, True where a step
counts). `Embedding(mask_zero=True)` and `Masking` make one; it goes on
through each layer that `supports_masking` (Dense, Dropout, normalization,
RNNs with `return_sequences`...) and stops at one that does not; a layer
whose `apply` (or `call`) takes `mask` receives it.

Nothing here is hidden state: a model's `apply` keeps each tensor's mask
beside its value and hands it on explicitly, following Keras's rules:

* a layer called on one tensor argument whose `apply` takes `mask` gets
  that argument's mask(s) as `mask=`; called on several, it gets each
  argument's as `<argument>_mask=` where it takes that keyword;
* the outputs' masks are `layer.compute_mask(first input, mask)`, where
  the layer `supports_masking` or has a `compute_mask` of its own.

Example:
  >>> from nn import layers
  >>> ids = jnp.array([[3, 1, 0, 0]])
  >>> embed = layers.Embedding(5, 2, mask_zero=True)
  >>> embed.compute_mask(ids).tolist()
  [[True, True, False, False]]
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import jax

from nn.layers.base import Layer
from stateless.added_losses import shapes_of

# (mask trees of the positional arguments, {keyword: mask tree})
Masks = tuple[tuple[Any, ...], dict[str, Any]]


def _flat(tree: Any) -> list[Any]:
    """The leaves of `tree`, None leaves kept."""
    return jax.tree.leaves(tree, is_leaf=lambda leaf: leaf is None)


@functools.cache
def argument_names(cls: type) -> tuple[str, ...]:
    """The names of the arguments a layer is called with: `call`'s, or
    `apply`'s after `variables`."""
    if hasattr(cls, "call"):
        names = list(inspect.signature(cls.call).parameters)[1:]
    else:
        names = list(inspect.signature(cls.apply).parameters)[2:]
    return tuple(names)


def computes_masks(layer: Any) -> bool:
    """Whether a mask passes through `layer` (Keras's `supports_masking`, or
    a `compute_mask` of its own)."""
    return bool(layer.supports_masking) or (
        type(layer).compute_mask is not Layer.compute_mask
    )


def mask_arguments(
    layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any], masks: Masks
) -> dict[str, Any]:
    """The mask keywords Keras would add to `layer(*args, **kwargs)`, where
    `masks` mirrors the arguments with each value's mask (or None)."""
    names = argument_names(type(layer))
    arg_masks, kwarg_masks = masks
    found = [
        (name, value, mask)
        for name, value, mask in [
            *zip(names, args, arg_masks),
            *((k, v, kwarg_masks.get(k)) for k, v in kwargs.items()),
        ]
        if name not in ("training", "rng") and any(map(_has_shape, _flat(value)))
    ]
    wanted = {"mask": found[0][2]} if len(found) == 1 else {}
    if len(found) > 1:
        wanted = {f"{name}_mask": mask for name, _, mask in found}
    return {
        keyword: mask
        for keyword, mask in wanted.items()
        if keyword in names
        and kwargs.get(keyword) is None
        and any(m is not None for m in _flat(mask))
    }


def _has_shape(value: Any) -> bool:
    return hasattr(value, "shape")


def output_masks(
    layer: Any, count: int, args: tuple[Any, ...], kwargs: dict[str, Any], masks: Masks
) -> list[Any]:
    """One mask (or None) for each of the `count` output leaves:
    `layer.compute_mask(first input, previous mask)`, where the previous
    mask is the `mask=` given or else the first input's."""
    if not computes_masks(layer):
        return [None] * count
    arg_masks, kwarg_masks = masks
    first = args[0] if args else next(iter(kwargs.values()), None)
    previous = kwargs.get("mask")
    if previous is None:
        previous = arg_masks[0] if args else next(iter(kwarg_masks.values()), None)
        if not any(m is not None for m in _flat(previous)):
            previous = None
    found = _flat(layer.compute_mask(first, previous))
    return (found + [None] * count)[:count]


def init_keywords(layer: Any, args: tuple[Any, ...], masks: Masks) -> dict[str, Any]:
    """The mask keywords for `layer.init(key, *args)`: a layer written
    Keras's way traces its `call` in `init`, and a `call` that takes a
    mask gets it there too."""
    if not hasattr(type(layer), "call"):
        return {}
    return mask_arguments(layer, args, {}, masks)


def specs_with_masks(
    layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any], masks: Masks
) -> tuple[Any, list[Any]]:
    """`(output specs, a mask spec or None per output leaf)` of a call on
    specs, as `call_with_masks` would answer on arrays (for symbolic
    tensors and shape inference)."""
    extra = mask_arguments(layer, args, kwargs, masks)
    outputs = layer.output_spec(*args, **kwargs, **extra)
    count = len(jax.tree.leaves(outputs))
    if not computes_masks(layer):
        return outputs, [None] * count
    arrays = {
        k: v for k, v in {**kwargs, **extra}.items() if any(map(_has_shape, _flat(v)))
    }
    found = shapes_of(
        lambda a, kw, m: output_masks(layer, count, a, kw, m), args, arrays, masks
    )
    return outputs, found


def call_with_masks(
    layer: Any,
    variables: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    masks: Masks,
) -> tuple[Any, Any, list[Any]]:
    """`layer.apply(variables, *args, **kwargs)` with the masks of its
    inputs handed in: `(outputs, new_state, a mask per output leaf)`.

    `masks` is `(a mask tree per positional argument, {keyword: mask
    tree})`, each tree shaped as its argument, None where none.
    """
    call_kwargs = {k: v for k, v in kwargs.items() if k not in ("training", "rng")}
    extra = mask_arguments(layer, args, call_kwargs, masks)
    outputs, state = layer.apply(variables, *args, **kwargs, **extra)
    count = len(jax.tree.leaves(outputs))
    found = output_masks(layer, count, args, {**call_kwargs, **extra}, masks)
    return outputs, state, found
