"""Embeddings for TensorBoard's projector: each embedding table as a TSV file,
and the `projector_config.pbtxt` that points at them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np


def embedding_tables(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`{layer path: table}` of every weight named `embeddings` (the weight
    of Keras's and our `Embedding`), from `{weight path: array}`.

    Example:
      >>> sorted(embedding_tables({"words/embeddings": 0, "dense/kernel": 1}))
      ['words']
    """
    suffix = "/embeddings"
    return {
        path.removesuffix(suffix): table
        for path, table in params.items()
        if path.endswith(suffix) or path == suffix[1:]
    }


def write_projector(
    log_dir: str, tables: Mapping[str, np.ndarray], metadata: Any
) -> None:
    """Writes each table as `<log_dir>/embeddings/<layer>.tsv` and the
    projector's config naming them, with `metadata` (a path for every layer,
    or `{layer: path}`) as the rows' labels.

    Raises:
      ValueError: if `metadata` names a layer that has no embeddings.
    """
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_config_pb2

    if isinstance(metadata, Mapping):
        unknown = sorted(set(metadata) - set(tables))
        if unknown:
            raise ValueError(
                f"TensorBoard: embeddings_metadata names {unknown}, which hold no "
                f"embeddings; the layers with embeddings are {sorted(tables)}."
            )
    config = projector_config_pb2.ProjectorConfig()
    for layer, table in tables.items():
        name = layer.replace("/", "_")
        path = os.path.join(log_dir, "embeddings", f"{name}.tsv")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        rows = "\n".join(
            "\t".join(f"{v:.7g}" for v in row) for row in np.asarray(table)
        )
        _replace(path, (rows + "\n").encode())
        embedding = config.embeddings.add(tensor_name=layer, tensor_path=path)
        embedding.tensor_shape.extend(np.shape(table))
        labels = metadata.get(layer) if isinstance(metadata, Mapping) else metadata
        if labels is not None:
            embedding.metadata_path = os.fspath(labels)
    text = text_format.MessageToString(config).encode()
    _replace(os.path.join(log_dir, "projector_config.pbtxt"), text)


def _replace(path: str, data: bytes) -> None:
    """Writes `path` whole: a reader sees the old file or the new one."""
    with open(f"{path}.tmp", "wb") as file:
        file.write(data)
    os.replace(f"{path}.tmp", path)
