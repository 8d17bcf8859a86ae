"""The multi-host path on one machine: two processes joined by
`distribute.initialize`, each loading its `host_slice`, train as one run."""

import json
import os
import pathlib
import socket
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODULE = "tests.train.distribute.multihost_runs"


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _last_json(output):
    return json.loads(output.strip().splitlines()[-1])


def test_two_processes_train_like_one_on_the_same_global_batches():
    port, env = str(_free_port()), {**os.environ, "PYTHONUNBUFFERED": "1"}
    hosts = [
        subprocess.Popen(
            [sys.executable, "-m", MODULE, str(i), port],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    outputs = [host.communicate(timeout=300) for host in hosts]
    for host, (_, err) in zip(hosts, outputs):
        assert host.returncode == 0, err[-3000:]
    runs = [_last_json(out) for out, _ in outputs]
    single = subprocess.run([sys.executable, "-m", MODULE, "single"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    expected = _last_json(single.stdout)["loss"]
    assert [run["devices"] for run in runs] == [4, 4]  # 2 processes x 2 devices
    for run in runs:
        assert max(abs(a - b) for a, b in zip(run["loss"], expected)) < 1e-5
