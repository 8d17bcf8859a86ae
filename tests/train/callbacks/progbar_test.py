"""ProgbarLogger: the bar on a terminal, one line per epoch elsewhere."""

import io
import re
import sys

import pytest

from tests.train.callbacks.fakes import FakeClock, fit
from train.callbacks import ProgbarLogger, progbar

END = {"loss": 0.5, "val_loss": 0.25}


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progbar, "time", clock)
    return clock


def _print_run(clock, stream, seconds=(1.0,), epochs=1, batches=5, **params):
    """Fits with `stream`; batch b takes seconds[b] (or the last one) seconds."""

    def each_batch(epoch, batch):
        clock.advance(seconds[min(batch, len(seconds) - 1)])

    fit(
        [ProgbarLogger(stream=stream)],
        epochs=epochs,
        batches=batches,
        batch_logs=lambda e, b: {"loss": 0.5},
        epoch_logs=[END] * epochs,
        each_batch=each_batch,
        **params,
    )
    return stream.getvalue()


def test_terminal_redraws_the_bar_in_place_with_the_eta(clock):
    assert _print_run(clock, FakeTerminal()) == (
        "Epoch 1/1\n"
        "\r1/5 [=====>........................] - ETA: 4s - loss: 0.5000"
        "\r2/5 [===========>..................] - ETA: 3s - loss: 0.5000"
        "\r3/5 [=================>............] - ETA: 2s - loss: 0.5000"
        "\r4/5 [=======================>......] - ETA: 1s - loss: 0.5000"
        "\r5/5 [==============================] - ETA: 0s - loss: 0.5000"
        "\r5/5 [==============================] - 5s 1s/step - loss: 0.5000"
        " - val_loss: 0.2500\n"
    )


def test_elsewhere_one_line_per_epoch_with_time_per_step(clock):
    # The first step (compiling) takes 1 s and is left out of the time per step.
    out = _print_run(clock, io.StringIO(), (1.0, 0.04), epochs=2, batches=50)
    line = "50/50 - 3s 40ms/step - loss: 0.5000 - val_loss: 0.2500\n"
    assert out == "Epoch 1/2\n" + line + "Epoch 2/2\n" + line


def test_verbose_2_prints_one_line_even_on_a_terminal(clock):
    out = _print_run(clock, FakeTerminal(), verbose=2)
    assert out == "Epoch 1/1\n5/5 - 5s 1s/step - loss: 0.5000 - val_loss: 0.2500\n"


def test_verbose_0_prints_nothing(clock):
    assert _print_run(clock, FakeTerminal(), verbose=0) == ""


def test_fast_steps_redraw_at_most_every_50_ms(clock):
    out = _print_run(clock, FakeTerminal(), (0.02,), batches=10)
    assert re.findall(r"\r *(\d+)/10", out) == ["1", "4", "7", "10", "10"]


def test_unknown_steps_count_until_the_first_epoch_ends(clock):
    out = _print_run(clock, FakeTerminal(), epochs=2, batches=2, steps=None)
    assert out == (
        "Epoch 1/2\n"
        "\r1/Unknown - 1s - loss: 0.5000"
        "\r2/Unknown - 2s - loss: 0.5000"
        "\r2/2 [==============================] - 2s 1s/step - loss: 0.5000"
        " - val_loss: 0.2500\n"
        "Epoch 2/2\n"
        "\r1/2 [==============>...............] - ETA: 1s - loss: 0.5000"
        "\r2/2 [==============================] - ETA: 0s - loss: 0.5000"
        "\r2/2 [==============================] - 2s 1s/step - loss: 0.5000"
        " - val_loss: 0.2500\n"
    )


def test_a_shorter_line_blanks_out_the_rest_of_the_longer_one(clock):
    # A redraw shows the previous step's logs (ready, so no wait for the
    # device): the third draw is the first with the second step's short logs.
    logs = [{"loss": 0.5, "a_long_metric_name": 0.5}, {"loss": 0.5}, {"loss": 0.5}]
    stream = FakeTerminal()
    fit(
        [ProgbarLogger(stream=stream)],
        epochs=1,
        batches=3,
        batch_logs=lambda e, b: logs[b],
        epoch_logs=[{"loss": 0.5}],
        each_batch=lambda e, b: clock.advance(1.0),
    )
    _, first, second, third, _ = stream.getvalue().split("\r")
    assert first.endswith(" - a_long_metric_name: 0.5000")
    assert second.endswith(" - a_long_metric_name: 0.5000")
    assert (
        third
        == "3/3 [==============================] - ETA: 0s - loss: 0.5000".ljust(
            len(second)
        )
    )


def test_prints_to_stdout_by_default(clock, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)  # not a notebook
    fit(
        [ProgbarLogger()],
        epochs=1,
        batches=2,
        epoch_logs=[END],
        each_batch=lambda e, b: clock.advance(0.5),
    )
    out = capsys.readouterr().out
    assert out == "Epoch 1/1\n2/2 - 1s 500ms/step - loss: 0.5000 - val_loss: 0.2500\n"


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (0.4, "0s"),
        (59.9, "59s"),
        (65.0, "1:05"),
        (3600.0, "1:00:00"),
        (5000, "1:23:20"),
    ],
)
def test_eta_format(seconds, shown):
    assert progbar._duration(seconds) == shown


@pytest.mark.parametrize(
    "seconds, shown",
    [(0.0, "0s/step"), (2.4, "2s/step"), (0.04, "40ms/step"), (4e-5, "40us/step")],
)
def test_time_per_step_format(seconds, shown):
    assert progbar._per_step(seconds) == shown


def test_small_values_print_in_scientific_notation():
    assert [progbar._number(v) for v in (0.1234567, -2.0, 1e-4, 0.0)] == [
        "0.1235",
        "-2.0000",
        "1.0000e-04",
        "0.0000e+00",
    ]


def test_only_steps_can_be_counted():
    with pytest.raises(ValueError, match="count_mode='samples'"):
        ProgbarLogger(count_mode="samples")
