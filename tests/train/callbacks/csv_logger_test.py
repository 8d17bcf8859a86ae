"""CSVLogger: the exact file, and complete rows only."""

import pytest

from tests.train.callbacks.fakes import fit
from train.callbacks import CSVLogger

LOGS = [
    {"val_loss": 1.5, "loss": 1.0, "accuracy": 0.5},
    {"val_loss": 1.25, "loss": 0.75, "accuracy": 0.625},
]
HEADER = "epoch,accuracy,loss,val_loss\n"


def test_header_then_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path)], epochs=2, epoch_logs=LOGS)
    assert path.read_text() == HEADER + "0,0.5,1.0,1.5\n1,0.625,0.75,1.25\n"


def test_separator(tmp_path):
    path = tmp_path / "log.tsv"
    fit([CSVLogger(str(path), separator="\t")], epochs=1, epoch_logs=LOGS)
    assert path.read_text() == "epoch\taccuracy\tloss\tval_loss\n0\t0.5\t1.0\t1.5\n"


@pytest.mark.parametrize(
    "append, expected",
    [
        (True, HEADER + "0,0.5,1.0,1.5\n" + "0,0.625,0.75,1.25\n"),
        (False, HEADER + "0,0.625,0.75,1.25\n"),
    ],
)
def test_append_continues_the_file_without_a_second_header(tmp_path, append, expected):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path, append=append)], epochs=1, epoch_logs=LOGS)
    fit([CSVLogger(path, append=append)], epochs=1, epoch_logs=LOGS[1:])
    assert path.read_text() == expected


def test_append_to_an_empty_file_writes_the_header(tmp_path):
    path = tmp_path / "log.csv"
    path.touch()
    fit([CSVLogger(path, append=True)], epochs=1, epoch_logs=[{"loss": 1.0}])
    assert path.read_text() == "epoch,loss\n0,1.0\n"


def test_keys_follow_the_first_epoch(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "extra": 3.0}]
    fit([CSVLogger(path)], epochs=2, epoch_logs=logs)
    assert path.read_text() == "epoch,loss,val_loss\n0,1.0,2.0\n1,0.5,NA\n"


def test_each_row_is_on_disk_before_training_ends(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    rows = []
    logger.set_model(None)
    logger.on_train_begin()
    for epoch, logs in enumerate(LOGS):
        logger.on_epoch_end(epoch, logs)
        rows.append(path.read_text())  # as a crash now would leave it
    assert rows == [
        HEADER + "0,0.5,1.0,1.5\n",
        HEADER + "0,0.5,1.0,1.5\n1,0.625,0.75,1.25\n",
    ]
    logger.on_train_end()
