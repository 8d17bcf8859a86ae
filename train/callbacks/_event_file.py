"""TensorBoard event files, written with the `tensorboard` package alone:
scalars, histograms, images (PNG) and a Keras model's config."""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
import time
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

_FILE_NUMBERS = itertools.count()  # tells apart files made in the same second
HISTOGRAM_BINS = 30


class EventFile:
    """One event file: `Event` protos in TFRecord framing, as TensorBoard reads.

    Args:
      directory: the run's directory (created when missing).
    """

    def __init__(self, directory: str) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._event, self._summary = event_pb2.Event, summary_pb2.Summary
        os.makedirs(directory, exist_ok=True)
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}"
            f".{os.getpid()}.{next(_FILE_NUMBERS)}.v2"
        )
        self._records = RecordWriter(open(os.path.join(directory, name), "wb"))
        self._append(self._event(file_version="brain.Event:2"))

    def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
        """One value per number; a metric of several values (one per class)
        as `name/0`, `name/1`, ..."""
        values = [
            self._summary.Value(tag=tag, simple_value=float(value))
            for tag, value in _scalars(scalars)
        ]
        self._write(step, values)

    def write_histograms(self, step: int, arrays: Mapping[str, Any]) -> None:
        """The distribution of each array's values, in `HISTOGRAM_BINS` bins."""
        self._write(step, [self._summary.Value(tag=tag, histo=histogram(array))
                           for tag, array in arrays.items()])  # fmt: skip

    def write_images(self, step: int, images: Mapping[str, np.ndarray]) -> None:
        """Grayscale images (`(height, width)` arrays of uint8) as PNG."""
        values = []
        for tag, image in images.items():
            height, width = image.shape
            encoded = self._summary.Image(
                height=height,
                width=width,
                colorspace=1,
                encoded_image_string=png(image),
            )
            values.append(self._summary.Value(tag=tag, image=encoded))
        self._write(step, values)

    def write_keras_model(self, config: Mapping[str, Any]) -> None:
        """A model's config, which TensorBoard's Graphs tab draws (the
        summary Keras writes as `keras` at step 0)."""
        from tensorboard.compat.proto import summary_pb2, tensor_pb2, types_pb2

        text = json.dumps(config).encode()
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[text])
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name="graph_keras_model", content=b"1"
            )
        )
        self._write(0, [self._summary.Value(tag="keras", tensor=tensor,
                                            metadata=metadata)])  # fmt: skip

    def _write(self, step: int, values: list[Any]) -> None:
        if values:
            self._append(self._event(step=step, summary=self._summary(value=values)))

    def _append(self, event) -> None:
        event.wall_time = time.time()
        self._records.write(event.SerializeToString())

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        self._records.close()


def _scalars(logs: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    for tag, value in logs.items():
        if np.ndim(value) == 0:
            yield tag, float(value)
        else:
            yield from ((f"{tag}/{i}", float(v)) for i, v in enumerate(np.ravel(value)))


def histogram(array: Any) -> Any:
    """A `HistogramProto` of `array`'s values: `HISTOGRAM_BINS` equal bins
    between its least and greatest value (one bin when they are equal).

    Example:
      >>> h = histogram(np.array([0.0, 1.0, 1.0, 3.0]))
      >>> h.num, h.min, h.max, h.sum, sum(h.bucket)
      (4.0, 0.0, 3.0, 5.0, 4.0)
    """
    from tensorboard.compat.proto import summary_pb2

    values = np.asarray(array, np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return summary_pb2.HistogramProto()
    low, high = float(values.min()), float(values.max())
    bins = HISTOGRAM_BINS if high > low else 1
    counts, edges = np.histogram(values, bins=bins, range=(low, max(high, low + 1e-12)))
    return summary_pb2.HistogramProto(
        min=low, max=high, num=float(values.size), sum=float(values.sum()),
        sum_squares=float(np.square(values).sum()),
        bucket_limit=[float(e) for e in edges[1:]],
        bucket=[float(c) for c in counts],
    )  # fmt: skip


def png(image: np.ndarray) -> bytes:
    """A grayscale `(height, width)` uint8 image encoded as PNG, with zlib.

    Example:
      >>> png(np.zeros((2, 3), np.uint8))[:8]
      b'\\x89PNG\\r\\n\\x1a\\n'
    """
    height, width = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + row.tobytes() for row in np.asarray(image, np.uint8))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )  # fmt: skip


def weight_images(weight: Any) -> list[np.ndarray]:
    """A weight drawn as Keras draws it: a vector as one row, a matrix as
    itself (wider than tall), a 3-D kernel as one image per output channel;
    values scaled from their least (black) to their greatest (white).
    Weights of other ranks give no image.

    Example:
      >>> [i.shape for i in weight_images(np.ones((5, 2)))]
      [(2, 5)]
    """
    w = np.squeeze(np.asarray(weight, np.float32))
    if w.ndim == 1:
        images = w[None, :][None]
    elif w.ndim == 2:
        images = (w.T if w.shape[0] > w.shape[1] else w)[None]
    elif w.ndim == 3:
        images = np.transpose(w, (2, 0, 1))  # channels last: one per channel
    else:
        return []
    low, high = float(images.min()), float(images.max())
    scaled = (images - low) / (high - low) if high > low else np.zeros_like(images)
    return list(np.round(scaled * 255).astype(np.uint8))
