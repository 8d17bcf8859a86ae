"""RemoteMonitor: what a server on this machine receives at each epoch end."""

import http.server
import json
import threading
import urllib.parse

import numpy as np
import pytest

from tests.train.callbacks.fakes import fit
from train.callbacks import RemoteMonitor


@pytest.fixture
def server():
    """A server on a free local port that keeps each request it is sent."""
    received = []

    class Keep(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Keep)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", received
    httpd.shutdown()
    httpd.server_close()


def test_each_epoch_posts_its_logs_in_the_form_field(server):
    root, received = server
    logs = [{"loss": 0.5, "f1": np.array([0.25, 0.75])}, {"loss": 0.25, "f1": 1.0}]
    fit([RemoteMonitor(root, field="logs")], epochs=2, epoch_logs=logs)
    assert [path for path, _, _ in received] == ["/publish/epoch/end/"] * 2
    forms = [urllib.parse.parse_qs(body) for _, _, body in received]
    assert [json.loads(form["logs"][0]) for form in forms] == [
        {"epoch": 0, "loss": 0.5, "f1": [0.25, 0.75]},
        {"epoch": 1, "loss": 0.25, "f1": 1.0},
    ]


def test_send_as_json_posts_the_json_with_the_headers(server):
    root, received = server
    monitor = RemoteMonitor(
        root, path="/runs/7", headers={"X-Run": "seven"}, send_as_json=True
    )
    fit([monitor], epochs=1, epoch_logs=[{"loss": 0.5}])
    ((path, headers, body),) = received
    assert path == "/runs/7"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Run"] == "seven"
    assert json.loads(body) == {"epoch": 0, "loss": 0.5}


def test_an_unreachable_server_warns_and_training_goes_on():
    monitor = RemoteMonitor("http://127.0.0.1:9", timeout=1.0)  # discard port
    with pytest.warns(UserWarning, match="could not reach the server"):
        fit([monitor], epochs=2, epoch_logs=[{"loss": 0.5}, {"loss": 0.25}])


def test_a_root_that_is_not_http_is_refused():
    with pytest.raises(ValueError, match="root"):
        RemoteMonitor("file:///etc/passwd")
