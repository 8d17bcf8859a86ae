"""The fit loop on a hand-written pure function: learning, validation, fused steps,
callbacks that change the live run, data sources, weights, reproducibility."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from train import callbacks, optimizers
from train.fit import Trainer

_rng = np.random.default_rng(0)
X = _rng.standard_normal((96, 3)).astype(np.float32)
TRUE_W = np.array([[2.0], [-1.0], [0.5]], np.float32)
Y = X @ TRUE_W + 0.3


def apply(variables, x, training=False, rng=None):
    p = variables["params"]
    return x @ p["w"] + p["b"], variables["state"]


def init(key, x):
    return {
        "params": {"w": jnp.zeros((x.shape[-1], 1)), "b": jnp.zeros((1,))},
        "state": {},
    }


def trainer(**kwargs):
    options = {"optimizer": optimizers.SGD(0.1), "metrics": ["mae"], **kwargs}
    return Trainer(apply, "mse", init_fn=init, **options)


def test_a_pure_function_learns_and_history_records_each_epoch():
    t = trainer()
    history = t.fit(X, Y, batch_size=16, epochs=20, verbose=0, seed=0)
    assert (
        list(history.history) == ["loss", "mae"] and len(history.history["loss"]) == 20
    )
    assert history.history["loss"][-1] < 1e-3 < history.history["loss"][0]
    np.testing.assert_allclose(t.variables["params"]["w"], TRUE_W, atol=0.02)
    loss, mae = t.evaluate(X, Y)
    assert loss < 1e-3 and mae < 0.03
    assert t.evaluate(X, Y, return_dict=True).keys() == {"loss", "mae"}
    np.testing.assert_allclose(t.predict(X, batch_size=10), Y, atol=0.05)


def test_validation_split_and_validation_data():
    t = trainer()
    h = t.fit(X, Y, epochs=2, validation_split=0.25, verbose=0, seed=0).history
    assert {"val_loss", "val_mae"} <= set(h)
    h2 = (
        trainer().fit(X, Y, epochs=2, validation_data=(X[:8], Y[:8]), verbose=0).history
    )
    assert len(h2["val_loss"]) == 2
    with pytest.raises(ValueError, match="not both"):
        trainer().fit(X, Y, validation_split=0.2, validation_data=(X, Y), verbose=0)


def test_fused_steps_give_the_same_weights_bit_for_bit():
    results = []
    for k in (1, 4):
        t = trainer(steps_per_execution=k)
        t.fit(X, Y, batch_size=10, epochs=3, verbose=0, seed=3)  # 96 = 9x10 + 6
        results.append(t.variables)
    chex.assert_trees_all_equal(*results)


class _SetRateToZeroAfter(callbacks.Callback):
    def __init__(self, batch):
        super().__init__()
        self.batch, self.seen = batch, []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(np.asarray(self.model.variables["params"]["w"]).copy())
        if batch == self.batch:
            self.model.optimizer.learning_rate = 0.0


def test_a_callback_changing_the_learning_rate_takes_effect_next_step():
    t = trainer()
    spy = _SetRateToZeroAfter(2)
    t.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[spy], shuffle=False)
    assert not np.allclose(spy.seen[1], spy.seen[2])  # still learning through batch 2
    for later in spy.seen[3:]:
        np.testing.assert_array_equal(later, spy.seen[2])  # frozen from batch 3 on


def test_a_callback_assigning_variables_restarts_the_next_step_from_them():
    class Reset(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            v = self.model.variables
            self.model.variables = jax.tree.map(jnp.zeros_like, v)

    class Watch(callbacks.Callback):
        starts = []

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                self.starts.append(np.asarray(self.model.variables["params"]["w"]))

    t = trainer()
    t.fit(X, Y, batch_size=32, epochs=3, verbose=0, callbacks=[Reset(), Watch()])
    for start in Watch.starts:
        np.testing.assert_array_equal(start, np.zeros((3, 1)))
    np.testing.assert_array_equal(t.variables["params"]["w"], np.zeros((3, 1)))


def test_early_stopping_restores_the_best_weights_through_the_loop():
    t = trainer(optimizer=optimizers.SGD(0.5))
    stop = callbacks.EarlyStopping(
        monitor="loss", patience=1, restore_best_weights=True
    )
    h = t.fit(X, Y * 0, epochs=50, verbose=0, callbacks=[stop], seed=0)
    assert len(h.history["loss"]) < 50


def test_generators_tf_data_and_torch_loaders_train_like_arrays():
    import tensorflow as tf
    import torch

    def batches():
        for i in range(0, 96, 16):
            yield X[i : i + 16], Y[i : i + 16]

    sources = {
        "arrays": (X, Y),
        "generator": (batches(),),
        "tf.data": (tf.data.Dataset.from_tensor_slices((X, Y)).batch(16),),
        "torch": (
            torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)),
                batch_size=16,
            ),
        ),
    }
    finals = {}
    for name, data in sources.items():
        t = trainer()
        t.fit(*data, batch_size=16, epochs=1, shuffle=False, verbose=0, seed=0)
        finals[name] = t.variables
    for name in ("generator", "tf.data", "torch"):
        chex.assert_trees_all_close(finals[name], finals["arrays"], rtol=1e-6)


def test_class_weight_equals_the_matching_sample_weight():
    labels = (X[:, 0] > 0).astype(np.int32)
    a, b = trainer(), trainer()
    a.fit(
        X,
        labels,
        epochs=2,
        class_weight={0: 0.25, 1: 2.0},
        shuffle=False,
        verbose=0,
        seed=1,
    )
    weights = np.where(labels == 1, 2.0, 0.25).astype(np.float32)
    b.fit(X, labels, epochs=2, sample_weight=weights, shuffle=False, verbose=0, seed=1)
    chex.assert_trees_all_close(a.variables, b.variables, rtol=1e-6)


def test_same_seed_same_run_bit_for_bit():
    runs = []
    for _ in range(2):
        sl.set_random_seed(7)
        t = trainer()
        h = t.fit(X, Y, batch_size=8, epochs=3, verbose=0)
        runs.append((h.history, t.variables))
    assert runs[0][0] == runs[1][0]
    chex.assert_trees_all_equal(runs[0][1], runs[1][1])
