"""Keras 3's callbacks here under their names, with Keras's keywords: the
names and signatures compared with the installed Keras."""

import json

import numpy as np
import pytest

from tests import keras_reference
from train import callbacks

# Keywords of ours beside Keras's, each deliberate:
EXTRA = {
    # `manager`: save the whole TrainState through orbax instead of a file;
    # so `filepath` may be left out, and defaults to None.
    "ModelCheckpoint": {"manager"},
    # where the bar prints and what it counts (Keras fixes both).
    "ProgbarLogger": {"count_mode", "stream"},
    # how long to wait for the server before warning (Keras waits forever).
    "RemoteMonitor": {"timeout"},
}
DEFAULT_DIFFERS = {("ModelCheckpoint", "filepath")}  # None: see `manager` above


def _keras_side(path):
    import keras

    from tests import keras_reference

    names = [n for n in dir(keras.callbacks) if not n.startswith("_")]
    signatures = {
        name: keras_reference.signature_data(getattr(keras.callbacks, name))
        for name in names
    }
    np.savez(path, names=json.dumps(names), signatures=json.dumps(signatures))


@pytest.fixture(scope="module")
def keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "callbacks.npz"
    return keras_reference.keras_numbers(__file__, path)


def test_every_keras_callback_name_is_here(keras):
    names = json.loads(str(keras["names"]))
    missing = [n for n in names if not hasattr(callbacks, n)]
    assert not missing, f"keras.callbacks names missing from train.callbacks: {missing}"
    assert len(names) == 16


def test_signatures_match_keras(keras):
    names = json.loads(str(keras["names"]))
    theirs_all = json.loads(str(keras["signatures"]))
    compared = 0
    for name in names:
        ours = dict(keras_reference.signature_data(getattr(callbacks, name)))
        theirs = dict(theirs_all[name])
        for extra in EXTRA.get(name, ()):
            ours.pop(extra)
        for differing in (arg for owner, arg in DEFAULT_DIFFERS if owner == name):
            ours.pop(differing), theirs.pop(differing)
        assert ours == theirs, name
        compared += 1
    assert compared == 16
