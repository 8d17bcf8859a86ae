"""The same JAX graph on JAX, PyTorch and TensorFlow: training and inference speed.

Two tables (issue 7's benchmark):

1. ``fit`` on each backend: the digits CNN of `examples/main.py`
   (`build_model()`, Rescaling included: conv 32 -> max-pool -> conv 64 ->
   flatten -> dropout -> dense 10) on scikit-learn's 8 x 8 x 1 digits at
   the PNG pipeline's 0-255 scale, batch 64, Adam(3e-3), sparse
   cross-entropy on logits and the accuracy metric, as the demo compiles it.
   Each backend runs in its own process (`STATELESS_BACKEND=jax|torch|
   tensorflow`), one after the other. The time of an epoch (28 steps,
   measured from `on_epoch_begin` to `on_epoch_end`, which reads the logs
   back to the host) divided by its steps, median over the epochs after the
   first (which traces and compiles).
2. Inference throughput, examples/s at batch 256, of what `interop` builds
   against the same network written by hand with the same weights, for the
   digits CNN and an MLP 784-256-256-10 (relu):

   * torch: `interop.torch.to_torch(model, variables)` against a
     `torch.nn.Module` of `nn.Conv2d`/`nn.MaxPool2d`/`nn.Linear` in torch's
     idiomatic NCHW layout, the kernels permuted (HWIO -> OIHW) and the dense
     kernel's rows reordered from NHWC's flatten order to NCHW's. It takes
     the same NHWC batch and permutes it to NCHW (a view: one channel), and
     scales by 1/255 as Rescaling does. Both run under `torch.no_grad()`.
   * TensorFlow: `interop.tensorflow.to_tf(model, variables)` (its
     `tf.function` `__call__`) against a hand-written
     `tf.function(autograph=False)` of `tf.nn.conv2d` (NHWC),
     `tf.nn.max_pool2d`, `tf.matmul` and `tf.nn.bias_add` over
     `tf.Variable`s holding the same weights.

   Each pair runs in one process (torch and TensorFlow in separate ones),
   interleaved call block by call block, after a warm-up; the figure is the
   batch over the median time of a call. The ratio is ours over the hand
   written one's time per call (so 1.10 means 10% slower); the target is
   at most 1.1.

Memory: the children run with glibc's malloc told to keep freed memory
(`MALLOC_MMAP_THRESHOLD_`/`MALLOC_TRIM_THRESHOLD_` at 256 MiB) instead of
unmapping and faulting in again the few-MB activations of every call, whose
page faults otherwise swing either contender by up to 1.5x from one process
to the next; `--default-malloc` leaves glibc's settings.

Threads: torch gets `torch.set_num_threads(os.cpu_count())` and TensorFlow
the same intra-op count, in every process; the count is printed.

Run: `.venv/bin/python bench/backends.py [--quick] [--rounds N]
[--default-malloc]` (or `make bench`). `--rounds` (default 3) runs every
child process N times, interleaved, and keeps the median of the medians. It
exits non-zero if a child fails (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("jax", "torch", "tensorflow")
FIT_BATCH, FIT_STEPS = 64, 28  # 28 full batches of the 1,797 digits
INFER_BATCH = 256
TARGET = 1.1
TIMEOUT_S = 1800
# glibc's malloc returns freed blocks of a few MB to the system and maps them
# again at the next call, so each call pays hundreds of first-touch page faults,
# more or fewer by the accidents of each process's history; that made one
# contender 1.5x slower than the other in one process and the reverse in the
# next. Keeping the freed memory (as jemalloc or tcmalloc would) makes both
# stable; `--default-malloc` leaves glibc's settings.
MALLOC_ARGS = {
    "MALLOC_MMAP_THRESHOLD_": str(256 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
}


def _threads() -> int:
    return os.cpu_count() or 1


def _set_threads(backend: str) -> None:
    """The same thread count for every framework a child runs."""
    if backend == "torch":
        import torch

        torch.set_num_threads(_threads())
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(_threads())


def _digits_cnn():
    """`examples/main.py`'s `build_model()`."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from main import build_model
    finally:
        sys.path.remove(str(ROOT / "examples"))
    return build_model()


def _mlp():
    import nn
    from nn import layers

    return nn.Sequential([
        layers.Input((784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(256, activation="relu"),
        layers.Dense(10),
    ])  # fmt: skip


def _digits():
    """`(x, y)`: the first 28 batches of digits, NHWC float32 at 0-255."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    count = FIT_BATCH * FIT_STEPS
    x = (digits.images[:count, :, :, None] * (255 / 16)).astype(np.float32)
    return x, digits.target[:count].astype(np.int32)


# -- child: fit on one backend -------------------------------------------------


def child_fit(epochs: int) -> dict:
    """Per-step ms of `fit` on `STATELESS_BACKEND`, median over the epochs
    after the first."""
    import stateless as sl
    from train import callbacks, losses, optimizers

    backend = sl.backend()
    _set_threads(backend)

    class EpochTimer(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # logs are host floats: synced
            self.times.append(time.perf_counter() - self.start)

    sl.set_random_seed(0)
    x, y = _digits()
    model = _digits_cnn()
    model.compile(
        optimizer=optimizers.Adam(3e-3),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    history = model.fit(
        x, y, batch_size=FIT_BATCH, epochs=epochs, verbose=0, seed=0, callbacks=[timer]
    )
    per_step = [t / FIT_STEPS * 1e3 for t in timer.times[1:]]
    return {
        "backend": backend,
        "ms_per_step": statistics.median(per_step),
        "range": [min(per_step), max(per_step)],
        "first_epoch_s": timer.times[0],
        "final_loss": history.history["loss"][-1],
        "final_accuracy": history.history["accuracy"][-1],
    }


# -- child: inference, ours against hand-written --------------------------------


def _variables(model, shape):
    import jax.numpy as jnp
    import numpy as np

    import stateless as sl

    variables = model.init(sl.random.key(0), jnp.ones((1, *shape), jnp.float32))
    return {
        "params": {
            layer: {name: np.asarray(value) for name, value in leaves.items()}
            for layer, leaves in variables["params"].items()
        },
        "state": variables["state"],
    }


def _inputs(shape, scale):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.uniform(0, scale, (INFER_BATCH, *shape)).astype(np.float32)


def _race(contenders: dict, calls: int, repeats: int) -> dict:
    """Median seconds per call of each contender, interleaved block by block
    (the order alternating between repeats), after a warm-up block each."""
    names = list(contenders)
    for name in names:
        for _ in range(calls):
            contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            fn = contenders[name]
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def _cnn_dense_rows(kernel, channels_last_shape):
    """The dense kernel's rows from NHWC's flatten order to NCHW's."""
    h, w, c = channels_last_shape
    return kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)


def _torch_handwritten(kind, params):
    """The network written in torch, NCHW, holding `params`'s weights."""
    import numpy as np
    import torch
    from torch import nn as tnn

    def set_dense(layer, p, kernel=None):
        kernel = p["kernel"] if kernel is None else kernel
        layer.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
        layer.bias.data.copy_(torch.from_numpy(p["bias"]))

    def set_conv(layer, p):  # HWIO -> OIHW
        kernel = np.ascontiguousarray(p["kernel"].transpose(3, 2, 0, 1))
        layer.weight.data.copy_(torch.from_numpy(kernel))
        layer.bias.data.copy_(torch.from_numpy(p["bias"]))

    if kind == "mlp":

        class MLP(tnn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.fc2 = tnn.Linear(784, 256), tnn.Linear(256, 256)
                self.fc3 = tnn.Linear(256, 10)

            def forward(self, x):
                x = torch.relu(self.fc1(x))
                return self.fc3(torch.relu(self.fc2(x)))

        module = MLP()
        for layer, name in ((module.fc1, "dense"), (module.fc2, "dense_1")):
            set_dense(layer, params[name])
        set_dense(module.fc3, params["dense_2"])
        return module.eval()

    class DigitsCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(1, 32, 3, padding=1)
            self.pool = tnn.MaxPool2d(2)
            self.conv2 = tnn.Conv2d(32, 64, 3, padding=1)
            self.fc = tnn.Linear(64 * 4 * 4, 10)

        def forward(self, x):  # x: NHWC, as the JAX model takes it
            x = x.permute(0, 3, 1, 2) * (1 / 255)
            x = self.pool(torch.relu(self.conv1(x)))
            x = torch.relu(self.conv2(x))
            return self.fc(torch.flatten(x, 1))

    module = DigitsCNN()
    set_conv(module.conv1, params["conv2d"])
    set_conv(module.conv2, params["conv2d_1"])
    rows = _cnn_dense_rows(params["dense"]["kernel"], (4, 4, 64))
    set_dense(module.fc, params["dense"], rows)
    return module.eval()


def _tf_handwritten(kind, params):
    """The network as one `tf.function` of `tf.nn` ops over `tf.Variable`s."""
    import tensorflow as tf

    v = {
        layer: {name: tf.Variable(value) for name, value in leaves.items()}
        for layer, leaves in params.items()
    }

    def dense(x, p):
        return tf.nn.bias_add(tf.matmul(x, p["kernel"]), p["bias"])

    def conv(x, p):
        y = tf.nn.conv2d(x, p["kernel"], strides=1, padding="SAME")
        return tf.nn.relu(tf.nn.bias_add(y, p["bias"]))

    if kind == "mlp":

        def forward(x):
            x = tf.nn.relu(dense(x, v["dense"]))
            return dense(tf.nn.relu(dense(x, v["dense_1"])), v["dense_2"])

    else:

        def forward(x):
            x = conv(x * (1 / 255), v["conv2d"])
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            x = conv(x, v["conv2d_1"])
            return dense(tf.reshape(x, (tf.shape(x)[0], -1)), v["dense"])

    function = tf.function(forward, autograph=False)
    function.variables = v  # keep them alive with the function
    return function


def child_infer(framework: str, calls: int, repeats: int) -> dict:
    """Examples/s of ours and of the hand-written network, per model."""
    import numpy as np

    _set_threads(framework)
    models = {"cnn": (_digits_cnn(), (8, 8, 1)), "mlp": (_mlp(), (784,))}
    results = {}
    for kind, (model, shape) in models.items():
        variables = _variables(model, shape)
        x = _inputs(shape, 255.0 if kind == "cnn" else 1.0)
        expected = np.asarray(model.apply(variables, x, training=False)[0])
        if framework == "torch":
            import torch

            from interop.torch import to_torch

            ours, hand = (
                to_torch(model, variables),
                _torch_handwritten(kind, variables["params"]),
            )
            ours.eval()
            tx = torch.from_numpy(x)

            def run(module, tx=tx):
                with torch.no_grad():
                    return module(tx)

            contenders = {"ours": lambda: run(ours), "hand": lambda: run(hand)}
            outputs = {k: f().numpy() for k, f in contenders.items()}
        else:
            import tensorflow as tf

            from interop.tensorflow import to_tf

            ours = to_tf(model, variables)
            hand = _tf_handwritten(kind, variables["params"])
            tx = tf.constant(x)
            contenders = {"ours": lambda: ours(tx), "hand": lambda: hand(tx)}
            outputs = {k: f().numpy() for k, f in contenders.items()}
        errors = {k: float(np.max(np.abs(o - expected))) for k, o in outputs.items()}
        seconds = _race(contenders, calls, repeats)
        results[kind] = {
            "ours_per_s": INFER_BATCH / seconds["ours"],
            "hand_per_s": INFER_BATCH / seconds["hand"],
            "ratio": seconds["ours"] / seconds["hand"],
            "ours_us": seconds["ours"] * 1e6,
            "hand_us": seconds["hand"] * 1e6,
            "max_error": errors,
        }
    if framework == "torch":
        import torch

        version = torch.__version__
    else:
        import tensorflow as tf

        version = tf.__version__
    return {"framework": framework, "version": version, "models": results}


# -- the parent: children one after the other, and the tables -------------------


def _child(args: list[str], backend: str, malloc: bool) -> dict:
    env = dict(os.environ, STATELESS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if malloc:
        env.update(MALLOC_ARGS)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"bench/backends.py child {args} ({backend}) failed:\n{done.stderr[-4000:]}"
        )
    return json.loads(lines[-1])


def _processor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions(infers: dict[str, list[dict]]) -> str:
    from importlib import metadata

    found = {"jax": metadata.version("jax")}
    found.update({name: runs[-1]["version"] for name, runs in infers.items()})
    return ", ".join(f"{name} {version}" for name, version in found.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--rounds", type=int, default=3, help="runs per child")
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc's malloc trimming as it is (noisier figures)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    epochs, calls, repeats = (4, 10, 5) if args.quick else (8, 20, 15)
    if args.child:
        what = args.child[0]
        if what == "fit":
            result = child_fit(int(args.child[1]))
        else:
            result = child_infer(what, int(args.child[1]), int(args.child[2]))
        print(json.dumps(result))
        return 0

    start, malloc = time.perf_counter(), not args.default_malloc
    fits: dict[str, list[dict]] = {b: [] for b in BACKENDS}
    infers: dict[str, list[dict]] = {"torch": [], "tensorflow": []}
    for _ in range(args.rounds):
        for backend in BACKENDS:
            fits[backend].append(_child(["fit", str(epochs)], backend, malloc))
        for framework in infers:
            infers[framework].append(
                _child([framework, str(calls), str(repeats)], "jax", malloc)
            )

    print(
        f"# stateless on jax, torch and tensorflow ({_processor()}, "
        f"{_threads()} cores; torch.set_num_threads({_threads()}), TF intra-op "
        f"{_threads()}; malloc {'kept' if malloc else 'glibc default'}; "
        f"{_versions(infers)})"
    )
    print(
        f"\n## fit: digits CNN, batch {FIT_BATCH}, Adam, {FIT_STEPS} steps/epoch, "
        f"{epochs - 1} timed epochs x {args.rounds} round(s)\n"
    )
    print("| backend | ms/step | range | first epoch s | final loss |")
    print("|---|---:|---:|---:|---:|")
    for backend, runs in fits.items():
        ms = statistics.median(r["ms_per_step"] for r in runs)
        low = min(r["range"][0] for r in runs)
        high = max(r["range"][1] for r in runs)
        first = statistics.median(r["first_epoch_s"] for r in runs)
        loss = runs[-1]["final_loss"]
        print(f"| {backend} | {ms:.2f} | {low:.2f}-{high:.2f} | {first:.2f} | "
              f"{loss:.4f} |")  # fmt: skip

    print(
        f"\n## inference, batch {INFER_BATCH}: ours against hand-written "
        f"({calls} calls x {repeats} interleaved blocks x {args.rounds} round(s))\n"
    )
    print(
        "| framework | model | ours ex/s | hand-written ex/s | ours/hand time "
        "| target | max abs error ours, hand |"
    )
    print("|---|---|---:|---:|---:|---|---:|")
    met = True
    labels = {"torch": "to_torch vs nn.Module", "tensorflow": "to_tf vs tf.function"}
    for framework, runs in infers.items():
        for kind in ("cnn", "mlp"):
            rows = [r["models"][kind] for r in runs]
            ratio = statistics.median(r["ratio"] for r in rows)
            ours = statistics.median(r["ours_per_s"] for r in rows)
            hand = statistics.median(r["hand_per_s"] for r in rows)
            err = rows[-1]["max_error"]
            ok = ratio <= TARGET
            met &= ok
            print(f"| {labels[framework]} | {kind} | {ours:,.0f} | {hand:,.0f} | "
                  f"{ratio:.2f} | {'met' if ok else 'NOT met'} (<= {TARGET}) | "
                  f"{err['ours']:.1e}, {err['hand']:.1e} |")  # fmt: skip
    print(f"\n(all targets {'met' if met else 'NOT met'}; "
          f"{time.perf_counter() - start:.0f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
