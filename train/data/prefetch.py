"""A background thread that reads batches ahead, so the device never waits."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_ITEM, _DONE, _ERROR = "item", "done", "error"
_POLL_S = 0.05  # how often a blocked producer checks whether to stop


def prefetch(iterable: Iterable[T], buffer_size: int = 2) -> Iterator[T]:
    """Iterates `iterable` on a daemon thread, up to `buffer_size` items ahead.

    While the training step runs on the device, the thread reads (and, for
    lazy datasets, decodes) the next batches. An exception raised by
    `iterable` is raised again in the consumer, where the batch would have
    been. Stopping early (`break`, or `close()` on the returned generator)
    stops the thread: the close waits for the item being produced, then
    closes the source iterator. `iter(iterable)` is called at once, here, so
    a `Dataset` starts its next epoch now. To also copy each batch to the
    device ahead of time, prefetch `map(jax.device_put, dataset)`.

    Args:
      iterable: any iterable, e.g. a `Dataset`.
      buffer_size: how many items may wait in the queue.

    Returns:
      A generator of the same items, in the same order.

    Raises:
      ValueError: `buffer_size` is not a positive int.

    Example:
      >>> list(prefetch(range(5)))
      [0, 1, 2, 3, 4]
    """
    if not isinstance(buffer_size, int) or buffer_size < 1:
        raise ValueError(
            f"prefetch: buffer_size must be a positive int; received {buffer_size!r}."
        )
    return _consume(iter(iterable), buffer_size)


def _put(q: queue.Queue, entry: tuple[str, Any], stop: threading.Event) -> bool:
    """Puts `entry` unless asked to stop first; says whether it was put."""
    while not stop.is_set():
        try:
            q.put(entry, timeout=_POLL_S)
            return True
        except queue.Full:
            pass
    return False


def _produce(source: Iterator, q: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in source:
            if not _put(q, (_ITEM, item), stop):
                return
    except BaseException as error:  # handed to the consumer, raised there
        _put(q, (_ERROR, error), stop)
    else:
        _put(q, (_DONE, None), stop)


def _consume(source: Iterator[T], buffer_size: int) -> Iterator[T]:
    q: queue.Queue = queue.Queue(buffer_size)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(source, q, stop), name="train.data.prefetch", daemon=True
    )
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == _DONE:
                return
            if kind == _ERROR:
                raise value
            yield value
    finally:
        stop.set()
        thread.join()
        close = getattr(source, "close", None)
        if close is not None:
            close()  # runs the source's own cleanup, e.g. a nested prefetch
