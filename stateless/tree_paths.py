"""Names of pytree paths as Keras writes variable paths: `"dense_1/kernel"`.

A path from `jax.tree_util.tree_flatten_with_path` is a tuple of keys (dict
keys, attribute names, sequence indices); its name joins their plain text
with "/".

Example:
  >>> import jax
  >>> params = {"dense_1": {"kernel": 0}, "blocks": [1]}
  >>> [path_name(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
  ['blocks/0', 'dense_1/kernel']
"""

from __future__ import annotations

from typing import Any


def key_name(key: Any) -> str:
    """The plain text of one path entry: a dict key, attribute name or index."""
    for field in ("key", "name", "idx"):
        if hasattr(key, field):
            return str(getattr(key, field))
    return str(key)


def path_parts(path: tuple[Any, ...]) -> tuple[str, ...]:
    """The parts of a `tree_flatten_with_path` path as strings."""
    return tuple(key_name(k) for k in path)


def path_name(path: tuple[Any, ...]) -> str:
    """`"dense_1/kernel"` for the path of `params["dense_1"]["kernel"]`."""
    return "/".join(path_parts(path))
