"""The timing protocol every peer shares, and the command line of a peer module.

A peer measures one model with one variant in its own process:

1. ``first()`` runs the first execution (one step, or the first ``k`` fused
   steps) from freshly built variables; its wall time, to the loss read back
   on the host, is the *first-step* time (tracing, compiling and running).
2. ``timed()`` then runs ``steps`` more steps and reads the last loss back
   (a host sync, like `fit`'s own logs); it runs ``repeats`` times, each
   timed, and steps/s is the median over the repeats.
3. The peak memory is the process's peak resident set (``ru_maxrss``: the
   interpreter, the framework, the data and the compiled programs), and, on
   an accelerator, JAX's ``peak_bytes_in_use`` of the device.

``python -m bench.peers.<peer> MODEL VARIANT [--quick]`` prints one JSON
object on its last line of output; `bench/compare.py` gathers them.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bench import models_spec


def peak_memory() -> dict[str, float | None]:
    """This process's peak RSS in MB and, where JAX reports it, the device's."""
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    if sys.platform == "darwin":
        rss_kb /= 1024  # bytes there
    device_mb = None
    try:
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            device_mb = stats["peak_bytes_in_use"] / 2**20
    except Exception:  # no device stats is not an error
        device_mb = None
    return {"peak_rss_mb": rss_kb / 1024, "device_peak_mb": device_mb}


def measure(
    first: Callable[[], float],
    timed: Callable[[], float],
    steps: int,
    repeats: int,
) -> dict[str, Any]:
    """Times `first()` once and `timed()` (`steps` steps) `repeats` times.

    Both return the last loss as a Python float, so each has finished on the
    device when it returns.

    Returns:
      `first_step_s`, `steps_per_s` (the median), `rates` (every repeat's),
      `final_loss` and the peak memory (see `peak_memory`).
    """
    start = time.perf_counter()
    loss = first()
    first_s = time.perf_counter() - start
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss = timed()
        rates.append(steps / (time.perf_counter() - start))
    return {
        "first_step_s": first_s,
        "steps_per_s": statistics.median(rates),
        "rates": rates,
        "final_loss": loss,
        **peak_memory(),
    }


class StepLoop:
    """A hand-driven loop: `step(state, x, y) -> (state, loss)` over NumPy batches.

    With `fused=k`, `step` takes `k` batches stacked on a leading axis; the
    stacks are reshaped views of the data, made once, outside the timing.

    Args:
      step: the (compiled) step.
      state: what the step carries (any pytree, or None for a stateful peer).
      x, y: the whole data, `steps * batch` examples.
      batch: examples per step.
      fused: steps per call of `step`.
    """

    def __init__(self, step, state, x, y, batch: int, fused: int = 1):
        self.step, self.state = step, state
        per_call = batch * fused
        calls = len(x) // per_call
        shape = (calls, fused, batch) if fused > 1 else (calls, batch)
        self.xs = x[: calls * per_call].reshape(*shape, *x.shape[1:])
        self.ys = y[: calls * per_call].reshape(shape)

    def first(self) -> float:
        """Runs one call on the first batch (or stack of batches)."""
        self.state, loss = self.step(self.state, self.xs[0], self.ys[0])
        return float(np.asarray(loss).reshape(-1)[-1])

    def timed(self) -> float:
        """Runs one call per batch (or stack) of the data; the last loss."""
        loss = None
        for xb, yb in zip(self.xs, self.ys):
            self.state, loss = self.step(self.state, xb, yb)
        return float(np.asarray(loss).reshape(-1)[-1])


def main(
    run: Callable[..., dict[str, Any]],
    variants: Mapping[str, str],
    framework: str,
    version: str,
) -> None:
    """The command line of a peer module: parse, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=f"{framework} peer benchmark")
    parser.add_argument("model", choices=models_spec.MODELS)
    parser.add_argument("variant", choices=list(variants))
    parser.add_argument("--quick", action="store_true", help="few steps/repeats")
    parser.add_argument("--batch", type=int, default=None, help="default: the model's")
    args = parser.parse_args()
    if args.batch is None:
        args.batch = models_spec.batch_of(args.model)
    steps, repeats = models_spec.budget(args.model, args.quick)
    result = run(args.model, args.variant, args.batch, steps, repeats)

    import jax

    device = jax.devices()[0]
    result.update(
        framework=framework,
        framework_version=version,
        variant=args.variant,
        label=variants[args.variant],
        model=args.model,
        description=models_spec.DESCRIPTIONS[args.model],
        batch=args.batch,
        steps=steps,
        repeats=repeats,
        jax=jax.__version__,
        device=f"{device.platform}: {getattr(device, 'device_kind', device)}",
        python=platform.python_version(),
    )
    print(json.dumps(result))
