"""Where `fit`'s time goes beyond the compiled step, per training step.

`bench/compare.py` shows `fit` against a hand-written loop; this splits the
gap into its parts, with public APIs only, on two models: a one-layer model
too small to take any compute time (so every microsecond is host overhead)
and the MLP of `bench/models_spec.py`.

Per step, in microseconds (median and best of the repeats):

* ``step, all donated``: the pure step `fit` runs
  (`train.steps.make_train_step`), `jax.jit(donate_argnums=0)`, in a bare
  loop over pre-sliced batches: the floor of our own program.
* ``step, params kept``: the same step donating only the optimizer, metric,
  step and key buffers, as `fit` did before it donated the parameters too
  (it now keeps only those it has shown to callbacks: see `train._donation`).
* ``fit``: `model.fit(..., verbose=0, shuffle=False)` over the same data.
* ``Dataset`` / ``prefetch(Dataset)``: iterating the batches `fit` iterates,
  bare and through the prefetch thread, with no training at all.

It also counts minor page faults per step of the two bare loops (fresh
buffers touched for the first time): a step that donates nothing allocates
its outputs anew.

Run: `.venv/bin/python bench/fit_overhead.py`. Figures only, no targets.
"""

from __future__ import annotations

import resource
import statistics
import time

STEPS, REPEATS, BATCH = 128, 7, 128


def _per_step_us(fn, steps: int, repeats: int) -> tuple[float, float]:
    fn()  # warm: compile, and first touch of the buffers
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) / steps * 1e6)
    return statistics.median(times), min(times)


def _faults_per_step(fn, steps: int) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps


def measure(name: str, model, x, y) -> None:
    """Prints the per-step breakdown for `model` (an `nn` model with variables)."""
    import jax
    import jax.numpy as jnp

    from train import data, losses, optimizers
    from train import steps as steps_lib

    steps = len(x) // BATCH
    xs = x.reshape(steps, BATCH, *x.shape[1:])
    ys = y.reshape(steps, BATCH)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizers.Adam(1e-3), loss=loss)
    tx = model.trainer.tx
    step = steps_lib.make_train_step(model.apply, loss, tx, {})
    all_donated = jax.jit(step, donate_argnums=0)

    def split(shown, private, batch):
        (params, state), (count, opt_state, metrics, key) = shown, private
        ts = steps_lib.TrainState(count, params, state, opt_state, metrics, key)
        return step(ts, batch)

    params_kept = jax.jit(split, donate_argnums=1)
    start = steps_lib.init_train_state(model.variables, tx, {}, jax.random.key(0))
    live = {
        "all": jax.tree.map(jnp.copy, start),
        "kept": jax.tree.map(jnp.copy, start),
    }

    def bare_all():
        ts = live["all"]
        for i in range(steps):
            ts, logs = all_donated(ts, (xs[i], ys[i]))
        float(logs["loss"])
        live["all"] = ts

    def bare_kept():
        ts = live["kept"]
        for i in range(steps):
            private = (ts.step, ts.opt_state, ts.metrics, ts.key)
            ts, logs = params_kept((ts.params, ts.state), private, (xs[i], ys[i]))
        float(logs["loss"])
        live["kept"] = ts

    def fit():
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False, seed=0)

    dataset = data.adapt(x, y, batch_size=BATCH)

    def iterate():
        for _ in dataset.batches(0):
            pass

    def iterate_prefetched():
        for _ in data.prefetch(dataset.batches(0)):
            pass

    rows = {
        "step, all donated": bare_all,
        "step, params kept": bare_kept,
        "fit": fit,
        "Dataset": iterate,
        "prefetch(Dataset)": iterate_prefetched,
    }
    print(f"{name}: {steps} steps of batch {BATCH}, us per step (median / best)")
    for label, fn in rows.items():
        median, best = _per_step_us(fn, steps, REPEATS)
        print(f"  {label:28s} {median:9.1f} / {best:9.1f}")
    for label, fn in (("all donated", bare_all), ("params kept", bare_kept)):
        faults = _faults_per_step(fn, steps)
        print(f"  minor page faults per step, {label}: {faults:.1f}")


def main() -> None:
    import jax
    import numpy as np

    import nn
    from nn import layers

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, STEPS * BATCH).astype(np.int32)
    tiny = nn.Sequential([layers.Input((8,)), layers.Dense(10)])
    tiny.variables = tiny.init(jax.random.key(0))
    x = rng.normal(size=(STEPS * BATCH, 8)).astype(np.float32)
    measure("tiny (Dense 8 -> 10)", tiny, x, y)

    mlp = nn.Sequential([  # the MLP of bench/models_spec.py
        layers.Input((784,)),
        layers.Dense(256, activation="relu"), layers.Dense(256, activation="relu"),
        layers.Dense(10),
    ])  # fmt: skip
    mlp.variables = mlp.init(jax.random.key(0))
    x = rng.normal(size=(STEPS * BATCH, 784)).astype(np.float32)
    measure("mlp (784-256-256-10)", mlp, x, y)


if __name__ == "__main__":
    main()
