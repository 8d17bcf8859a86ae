"""Sharded runs on 8 host devices, run by `sharded_test.py` in a subprocess.

`python -m tests.train.distribute.sharded_runs` (with
`XLA_FLAGS=--xla_force_host_platform_device_count=8`) prints one JSON object
of measurements; the tests assert on them. One process runs every scenario so
that the devices are set up (and the models compiled) once.
"""

from __future__ import annotations

import json
import tempfile

import jax
import numpy as np
from jax.sharding import PartitionSpec as P
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers
from train import checkpoint, distribute, losses, optimizers, steps
from train.data import Dataset

EPOCHS, BATCH = 3, 64


def _digits(n=1797):
    x, y = load_digits(return_X_y=True)
    return (x[:n] / 16.0).astype(np.float32), y[:n].astype(np.int32)


def _mlp(hidden="norm_and_dropout"):
    """With BatchNormalization, the Dense before it has no bias: that bias's
    exact gradient is 0, and Adam would blow its rounding noise (which
    differs with the reduction order) up to steps of the learning rate."""
    if hidden == "plain":
        return nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                              layers.Dense(10)])  # fmt: skip
    norm = layers.BatchNormalization(synchronized=hidden == "synchronized_norm")
    extra = [layers.Dropout(0.2)] if hidden == "norm_and_dropout" else []
    return nn.Sequential([
        layers.Input((64,)), layers.Dense(32, use_bias=False), norm,
        layers.Activation("relu"), *extra, layers.Dense(10),
    ])  # fmt: skip


def _train(distribution, hidden="norm_and_dropout", data=None):
    sl.set_random_seed(0)
    model = _mlp(hidden)
    model.compile(
        optimizer=optimizers.Adam(0.01),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["sparse_categorical_accuracy"],
        distribution=distribution,
    )
    arrays = _digits()  # 1797 examples: the last batch of 5 runs unsplit
    fit_data = arrays if data is None else (data,)
    history = model.fit(*fit_data, batch_size=BATCH, epochs=EPOCHS, verbose=0, seed=1)
    evaluated = model.evaluate(*fit_data, batch_size=BATCH, return_dict=True)
    return model, history.history, evaluated


def _max_diff(a, b):
    return max(
        float(np.max(np.abs(np.asarray(u) - np.asarray(v))))
        for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


def _compare(model, history, evaluated, ref):
    ref_model, ref_history, ref_evaluated = ref
    return {
        "params": _max_diff(model.variables, ref_model.variables),
        "loss": _max_diff(history["loss"], ref_history["loss"]),
        "evaluate": _max_diff(evaluated, ref_evaluated),
        "accuracy": evaluated["sparse_categorical_accuracy"],
    }


def _specs(tree):
    return jax.tree.map(lambda a: str(a.sharding.spec), tree)


def run():
    out = {"devices": len(jax.devices())}
    single = _train(None)
    data_parallel = _train(distribute.DataParallel())
    out["data_parallel"] = _compare(*data_parallel, single)
    out["data_parallel"]["kernel_devices"] = len(
        data_parallel[0].variables["params"]["dense"]["kernel"].sharding.device_set
    )

    mesh = distribute.make_mesh({"batch": 2, "model": 4})
    layout = {r"dense/kernel": P(None, "model"), r"dense_1/kernel": P("model", None)}
    model_parallel = _train(distribute.ModelParallel(mesh, layout))
    out["model_parallel"] = _compare(*model_parallel, single)
    out["model_parallel"]["specs"] = _specs(model_parallel[0].variables["params"])
    ts = model_parallel[0].trainer.train_state
    mu = ts.opt_state.inner_state[0][0].mu
    out["model_parallel"]["mu_specs"] = _specs(mu)
    shard = model_parallel[0].variables["params"]["dense"]["kernel"]
    out["model_parallel"]["kernel_shard_shape"] = list(
        shard.addressable_shards[0].data.shape
    )

    plain = _train(None, hidden="plain", data=_even_batches())
    pmapped = _train(distribute.PmapDataParallel(), hidden="plain",
                     data=_even_batches())  # fmt: skip
    out["pmap"] = _compare(*pmapped, plain)
    synced = "synchronized_norm"
    out["pmap_synchronized_norm"] = _compare(
        *_train(distribute.PmapDataParallel(), hidden=synced, data=_even_batches()),
        _train(None, hidden=synced, data=_even_batches()),
    )

    mask = jax.jit(lambda v: sl.random.dropout(v, 0.5, seed=sl.random.key(3)))(
        jax.device_put(np.ones((8, 16), np.float32), distribute.DataParallel()
                       .shardings(P("batch")))
    )  # fmt: skip
    rows = [np.asarray(s.data).ravel().tolist() for s in mask.addressable_shards]
    out["dropout_distinct_replicas"] = len({tuple(r) for r in rows})

    with tempfile.TemporaryDirectory() as tmp:
        manager = checkpoint.CheckpointManager(tmp)
        manager.save(EPOCHS, ts)
        manager.wait()
        four = distribute.make_mesh({"batch": 1, "model": 4}, jax.devices()[:4])
        target = distribute.ModelParallel(four, layout)
        template = target.place_state(jax.tree.map(np.zeros_like, ts))
        restored = manager.restore(template)
        manager.close()
    kernel = restored.params["dense"]["kernel"]
    out["restore"] = {
        "diff": _max_diff(restored, ts),
        "devices": len(kernel.sharding.device_set),
        "spec": str(kernel.sharding.spec),
        "mesh": dict(kernel.sharding.mesh.shape),
    }
    out["jax_pmap"] = _hand_written_pmap()
    return out


def _hand_written_pmap():
    """`make_train_step(axis_name=...)` under a real `jax.pmap`, against the
    same step on one device over the whole batch."""
    x, y = _digits(64)
    model = _mlp("plain")
    variables = model.init(sl.random.key(0), x)
    tx = optimizers.Adam(0.01).transform()
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    ts = steps.init_train_state(variables, tx, {}, sl.random.key(1))
    plain = jax.jit(steps.make_train_step(model.apply, loss, tx, {}))
    per_replica = jax.pmap(
        steps.make_train_step(model.apply, loss, tx, {}, axis_name="batch"),
        axis_name="batch",
    )
    n = jax.device_count()
    replicated = jax.tree.map(lambda v: np.stack([v] * n), ts)
    split = (x.reshape(n, -1, 64), y.reshape(n, -1))
    for _ in range(3):
        ts, _ = plain(ts, (x, y))
        replicated, logs = per_replica(replicated, split)
    first = jax.tree.map(lambda v: v[0], replicated)
    return {"params": _max_diff(first.params, ts.params)}


def _even_batches():
    """Shuffled digits batches that all divide by 8 (the pmap path needs it)."""
    x, y = _digits(1792)
    return Dataset.from_arrays(x, y, batch_size=BATCH, shuffle=True, seed=5,
                               drop_remainder=True)  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(run()))
