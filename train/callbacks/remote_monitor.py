"""Posting each epoch's logs to a server over HTTP, with the standard library."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from train.callbacks.base import Callback


class RemoteMonitor(Callback):
    """POSTs `{"epoch": e, **logs}` to `root + path` at each epoch end.

    As Keras's: by default the body is form-encoded, the logs as JSON in
    the form field `field`; with `send_as_json` the body is the JSON itself.
    The default server is this machine (`http://localhost:9000`), so
    nothing leaves it unless `root` names another host. A server that cannot
    be reached gets a warning, and training goes on. A metric of several
    values (F1 per class) is sent as a list.

    Args:
      root: the server's root URL.
      path: the path the logs are posted to, after `root`.
      field: the form field holding the JSON (unless `send_as_json`).
      headers: extra HTTP headers, a dict of strings.
      send_as_json: send the JSON as the body (`Content-Type:
        application/json`).
      timeout: seconds to wait for the server before warning (ours).

    Example:
      >>> monitor = RemoteMonitor(root="http://127.0.0.1:9", timeout=0.5)
      >>> import warnings
      >>> with warnings.catch_warnings(record=True) as caught:
      ...     warnings.simplefilter("always")
      ...     monitor.on_epoch_end(0, {"loss": 0.25})
      >>> "could not reach" in str(caught[0].message)
      True
    """

    def __init__(
        self,
        root: str = "http://localhost:9000",
        path: str = "/publish/epoch/end/",
        field: str = "data",
        headers: Mapping[str, str] | None = None,
        send_as_json: bool = False,
        *,
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        scheme = urllib.parse.urlsplit(root).scheme
        if scheme not in ("http", "https"):
            raise ValueError(
                "RemoteMonitor: expected root an http:// or https:// URL. "
                f"Received: root={root!r}."
            )
        self.root = root
        self.path = path
        self.field = field
        self.headers = dict(headers or {})
        self.send_as_json = send_as_json
        self.timeout = timeout

    def on_epoch_end(self, epoch, logs=None):
        sent = {"epoch": epoch, **{k: _plain(v) for k, v in (logs or {}).items()}}
        text = json.dumps(sent)
        if self.send_as_json:
            body, kind = text.encode(), "application/json"
        else:
            body = urllib.parse.urlencode({self.field: text}).encode()
            kind = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            self.root + self.path,
            data=body,
            headers={"Content-Type": kind, **self.headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                pass
        except (urllib.error.URLError, OSError) as error:
            warnings.warn(
                f"RemoteMonitor: could not reach the server at {self.root} "
                f"({error}); the logs of epoch {epoch} were not sent.",
                stacklevel=2,
            )


def _plain(value: Any) -> Any:
    """A log value as JSON holds it: a number, or a list of numbers."""
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value.tolist()
