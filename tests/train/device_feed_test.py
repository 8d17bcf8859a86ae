"""Arrays on the device for the whole fit: the same training, bit for bit, and
no host-to-device copy per step."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from train import compiling, device_feed, losses, optimizers
from train._donation import donating_step
from train.data import Dataset
from train.fit import Trainer

_rng = np.random.default_rng(4)
X = _rng.standard_normal((100, 3)).astype(np.float32)  # 100 = 3 * 32 + 4
LABELS = (X.sum(-1) > 0).astype(np.int32)
WEIGHTS = _rng.uniform(0.5, 1.5, 100).astype(np.float32)


def apply(variables, x, training=False, rng=None):
    p = variables["params"]
    return x @ p["w"] + p["b"], variables["state"]


def init(key, x):
    return {"params": {"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)}, "state": {}}


def _fit(**options):
    trainer = Trainer(
        apply, losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizers.Adam(0.05),
        weighted_metrics=["accuracy"], init_fn=init,
        steps_per_execution=options.pop("spe", 1),
    )  # fmt: skip
    history = trainer.fit(
        X, LABELS, batch_size=32, epochs=3, verbose=0, seed=1, **options
    )
    return trainer, history.history


@pytest.mark.parametrize("spe", [1, 2])
def test_data_on_the_device_trains_bit_for_bit_as_streamed_data(monkeypatch, spe):
    options = {"class_weight": {1: 2.0}, "sample_weight": WEIGHTS, "spe": spe}
    on_device, device_logs = _fit(**options)
    monkeypatch.setattr(device_feed, "BUDGET_BYTES", 0)  # too big: streamed
    streamed, streamed_logs = _fit(**options)
    chex.assert_trees_all_equal(on_device.variables, streamed.variables)
    # The gather is fused into the step, which may reorder a metric's sums.
    chex.assert_trees_all_close(device_logs, streamed_logs, rtol=1e-6)
    assert device_logs["accuracy"][-1] > 0.85


def test_steps_on_device_or_streamed_data_copy_nothing_from_the_host(monkeypatch):
    def guarded(step):
        run = donating_step(step)

        def strict(ts, batch, shown):
            with jax.transfer_guard_host_to_device("disallow"):
                return run(ts, batch, shown)

        return strict

    monkeypatch.setattr(compiling, "donating_step", guarded)
    trainer, _ = _fit()  # every step's inputs are on the device already
    streamed = Dataset.from_generator(
        lambda: ((X[i : i + 32], LABELS[i : i + 32]) for i in range(0, 100, 32))
    )
    trainer.fit(streamed, epochs=1, verbose=0)  # put on the device ahead
    monkeypatch.setattr(device_feed, "BUDGET_BYTES", 0)
    with pytest.raises(Exception, match="host-to-device"):
        _fit()  # a slice of host arrays is copied in by its step


def test_which_data_stays_on_the_device(monkeypatch):
    arrays = Dataset.from_arrays(X, LABELS, batch_size=32)
    assert device_feed.can_feed(arrays, None, None)
    assert not device_feed.can_feed(arrays, 2, None)  # steps_per_epoch: streamed
    monkeypatch.setattr(device_feed, "ONE_PASS_BYTES", 0)  # a big dataset:
    assert not device_feed.can_feed(arrays, None, None, epochs=1)  # one pass
    assert device_feed.can_feed(arrays, None, None, epochs=2)  # copied once for 2
    generated = Dataset.from_generator(lambda: iter([(X, LABELS)]))
    assert not device_feed.can_feed(generated, None, None)
    kinds = [k.value for k, _ in device_feed.DeviceFeed(arrays).epoch(0, 2)]
    assert kinds == ["train_fused", "train", "train"]  # 3 full batches, 4 left
