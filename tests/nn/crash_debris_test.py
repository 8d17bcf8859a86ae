"""Saving after crashes and into a full disk: no debris, no lost files.

A writer killed before its rename leaves a temporary file; the next save into
that folder removes the stale ones of this host (and only those). A save into
a full filesystem (simulated with `RLIMIT_FSIZE` in a subprocess) raises
`OSError` and leaves the previous archive, weights and checkpoint as they were.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import nn
from nn import layers
from nn.models.atomic_files import PREFIX, stale_files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

KILLED_WRITER = """
import os, signal, sys
import nn
from nn import layers
model = nn.Sequential([layers.Input((64,)), layers.Dense(64)])
model.build((None, 64), seed=1)
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # dies mid-save
model.save_weights(sys.argv[1])
"""


def _run(script, *args):
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], cwd=ROOT,
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT},
    )  # fmt: skip


def _model(seed=0):
    model = nn.Sequential([layers.Input((64,)), layers.Dense(64)])
    model.build((None, 64), seed=seed)
    return model


def test_the_next_save_removes_what_killed_writers_left(tmp_path):
    target = tmp_path / "m.weights.npz"
    _model().save_weights(target)
    saved = target.read_bytes()
    for _ in range(3):
        assert _run(KILLED_WRITER, target).returncode == -9
    debris = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(PREFIX))
    # each killed save removed the debris of the one before: one file is left
    assert len(debris) == 1 and stale_files(str(tmp_path)) == [
        str(tmp_path / debris[0])
    ]
    assert target.read_bytes() == saved  # the kills lost nothing
    host = socket.gethostname()
    others = [
        f"{PREFIX}another-host-1-abc.tmp",  # may be a live writer elsewhere
        f"{PREFIX}{host}-{os.getpid()}-abc.tmp",  # a live process's
        ".saving-abc.tmp",  # not named by us
        "notes.tmp",
    ]
    for name in others:
        (tmp_path / name).write_bytes(b"x")
    _model(seed=2).save_weights(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, *others])


FULL_DISK = """
import os, resource, signal, sys
import jax.numpy as jnp
import numpy as np
import nn
from nn import layers
from train.checkpoint import CheckpointManager

folder = sys.argv[1]
small = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
small.compile(optimizer="sgd", loss="mse")
small.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0, seed=0)
small.save(os.path.join(folder, "m.stateless"))
small.save_weights(os.path.join(folder, "m.weights.npz"))
manager = CheckpointManager(os.path.join(folder, "ckpt"), async_save=False)
manager.save(1, small.train_state)

big = nn.Sequential([layers.Input((1024,)), layers.Dense(1024)])
big.compile(optimizer="sgd", loss="mse")
big.fit(np.ones((8, 1024)), np.ones((8, 1024)), verbose=0, seed=0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails instead
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # a 1 MB disk
saves = {
    "save": lambda: big.save(os.path.join(folder, "m.stateless")),
    "save_weights": lambda: big.save_weights(os.path.join(folder, "m.weights.npz")),
    "checkpoint": lambda: manager.save(2, big.train_state),
}
for name, save in saves.items():
    try:
        save()
        print(name, "saved")
    except OSError as error:
        print(name, "OSError", error.errno)
"""


def test_a_full_disk_raises_oserror_and_keeps_the_previous_files(tmp_path):
    done = _run(FULL_DISK, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = done.stdout.strip().splitlines()[-3:]
    assert outcomes == [
        f"{n} OSError 27" for n in ("save", "save_weights", "checkpoint")
    ]
    assert sorted(os.listdir(tmp_path)) == ["ckpt", "m.stateless", "m.weights.npz"]
    model = nn.load_model(tmp_path / "m.stateless")
    assert int(model.trainer.train_state.step) == 1
    assert model.get_weights()[0].shape == (4, 2)
    model.load_weights(tmp_path / "m.weights.npz")
    from train.checkpoint import CheckpointManager

    manager = CheckpointManager(tmp_path / "ckpt", async_save=False)
    assert manager.checkpoints == [1]
    assert os.listdir(tmp_path / "ckpt") == ["epoch_1"]  # the unfinished one went
    back = manager.restore(model.trainer.train_state)
    np.testing.assert_array_equal(
        back.params["dense"]["kernel"],
        model.trainer.train_state.params["dense"]["kernel"],
    )


def _without_optimizer(source, target):
    with zipfile.ZipFile(source) as z:
        members = {n: z.read(n) for n in z.namelist() if n != "optimizer.npz"}
    meta = json.loads(members["metadata.json"])
    meta["checksums"] = {
        n: hashlib.sha256(d).hexdigest()
        for n, d in members.items()
        if n != "metadata.json"
    }
    members["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(target, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return target


def test_an_archive_that_lost_its_optimizer_state_loads_with_a_warning(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    untrained = tmp_path / "untrained.stateless"
    model.save(untrained)  # compiled, never trained: nothing to lose
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.load_model(untrained)
    model.fit(np.ones((4, 64)), np.ones((4, 64)), verbose=0, seed=0)
    model.save(tmp_path / "trained.stateless")
    stripped = _without_optimizer(tmp_path / "trained.stateless", tmp_path / "s.zip")
    with pytest.warns(UserWarning, match="holds no optimizer state"):
        again = nn.load_model(stripped)
    assert again.trainer.train_state is None
