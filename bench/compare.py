"""stateless against its peers: the same models, data, batch and Adam, one table.

For every model of `bench/models_spec.py` (MLP, CNN, transformer encoder, and a
small dispatch-bound MLP) it
runs each peer in a fresh process, one after the other (so none shares a
core, a JIT cache or an allocator with another), as
`python -m bench.peers.<peer> MODEL VARIANT`, and reads the JSON the child
prints. The rows:

* the floor: a hand-written `jax.jit(step, donate_argnums=0)` + optax loop,
  and the same step `lax.scan`ned over `FUSED_STEPS` stacked batches;
* stateless `model.fit` at `steps_per_execution=1` and fused, and at 1 with
  `verbose=1` (the progress bar);
* Keras 3 on JAX, `model.fit` (`jit_compile=True`) at both settings;
* Flax NNX: `nnx.jit` + `nnx.Optimizer`, and `nnx.split/merge` + `jax.jit`;
* Equinox: `eqx.filter_jit` + optax.

Each child reports the median steps/s over its repeats (the first step
excluded), the first-step time (trace + compile + run) and its peak memory
(see `bench/peers/_common.py`). The ratio column divides by the floor's
steps/s. The tables, the machine and the targets of DESIGN.md go to
`bench/RESULTS.md` and to stdout.

Run: `.venv/bin/python bench/compare.py [--quick] [--rounds 3] [--models
mlp cnn]` (or `make bench`). On a shared or busy machine the load drifts
between processes; `--rounds` runs every row several times, interleaved, and
keeps the median. The raw results go to `bench/RESULTS.json`, from which
`--render bench/RESULTS.json` rewrites the markdown without running anything.
It exits non-zero if a peer failed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("mlp", "cnn", "transformer", "small_mlp")  # as bench/models_spec.py
FLOOR = ("jax_optax", "step")
ROWS = (
    FLOOR,
    ("jax_optax", "scan"),
    ("stateless_fit", "spe1"),
    ("stateless_fit", "fused"),
    ("stateless_fit", "spe1_verbose"),
    ("keras_jax", "spe1"),
    ("keras_jax", "fused"),
    ("flax_nnx", "nnx_jit"),
    ("flax_nnx", "split_merge"),
    ("equinox_optax", "filter_jit"),
)
TIMEOUT_S = 3600
NOTES = [
    "## Notes",
    "",
    "- Fused rows: the floor and stateless run one `lax.scan` over the stacked"
    " batches per call; Keras's `steps_per_execution` on JAX is a Python loop"
    " over its one jitted step (fewer callback calls, as many dispatches).",
    "- On CPU, XLA compiles a convolution inside a loop body (`lax.scan`) to a"
    " much slower kernel than the same convolution at top level"
    " (jax-ml/jax#12868), so the floor's CNN scan row measures that, not"
    " dispatch. stateless unrolls the fused loop on CPU when the step"
    " convolves (`train.steps.make_multi_step`), paying for it in compile"
    " time (its first-step column).",
    "- Max pooling: the floor, Keras, Flax and Equinox differentiate"
    " `lax.reduce_window` through `select_and_scatter_add`, which XLA:CPU runs"
    " slowly; stateless keeps that forward but gives non-overlapping windows a"
    " tiled gradient (`stateless/ops/_tiled_max.py`), bit-equal to it, so its"
    " CNN step is a different, faster program than the floor's.",
    "- Each row is a separate process run after the previous one: on a"
    " machine whose load changes, compare rows only when the ranges are"
    " tight, or rerun with `--rounds 3`.",
    "",
]


def run_peer(peer: str, model: str, variant: str, quick: bool) -> dict:
    """One peer in its own process; its JSON result, or `{"error": ...}`."""
    command = [sys.executable, "-m", f"bench.peers.{peer}", model, variant]
    command += ["--quick"] if quick else []
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {TIMEOUT_S} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {done.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def combine(runs: list[dict]) -> dict:
    """One row from the same peer's runs in several rounds: the median of the
    rounds' medians, every repeat's rate, the median first step, the peak."""
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    row = dict(runs[-1])

    def peak(name):
        values = [r[name] for r in runs if r.get(name) is not None]
        return max(values) if values else None

    row.update(
        steps_per_s=statistics.median(r["steps_per_s"] for r in runs),
        rates=[rate for r in runs for rate in r["rates"]],
        first_step_s=statistics.median(r["first_step_s"] for r in runs),
        peak_rss_mb=peak("peak_rss_mb"),
        device_peak_mb=peak("device_peak_mb"),
        rounds=len(runs),
    )
    return row


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _row(result: dict, floor: dict | None, device_memory: bool) -> str:
    if "error" in result:
        return f"| {result['label']} | failed: {result['error']} |"
    ratio = result["steps_per_s"] / floor["steps_per_s"] if floor else None
    rates = result["rates"]
    cells = [
        result["label"],
        _cell(result["steps_per_s"], ".1f"),
        _cell(ratio, ".2f"),
        f"{min(rates):.1f}-{max(rates):.1f}",
        _cell(result["first_step_s"], ".2f"),
        _cell(result["peak_rss_mb"], ".0f"),
    ]
    if device_memory:
        cells.append(_cell(result["device_peak_mb"], ".0f"))
    return "| " + " | ".join(cells) + " |"


def _targets(model: str, by_row: dict) -> list[str]:
    """Issue 26's targets for stateless, checked on this table."""

    def field(row, name="steps_per_s"):
        return by_row.get(row, {}).get(name)

    ours, fused = field(("stateless_fit", "spe1")), field(("stateless_fit", "fused"))
    floor, scan = field(FLOOR), field(("jax_optax", "scan"))
    keras = ("keras_jax", "spe1")
    share = 1.0 if model in ("mlp", "small_mlp") else 0.95
    verbose = field(("stateless_fit", "spe1_verbose"))
    checks = [
        (f"spe=1 >= {share:.2f} x floor", ours, floor and share * floor),
        ("spe=1 > Keras 3 (JAX) spe=1", ours, field(keras)),
        ("spe=1 > Flax NNX (nnx.jit)", ours, field(("flax_nnx", "nnx_jit"))),
        ("fused >= 0.95 x the floor's lax.scan", fused, scan and 0.95 * scan),
        ("verbose=1 >= 0.97 x verbose=0", verbose, ours and 0.97 * ours),
    ]
    lines = []
    for name, value, bound in checks:
        if value is None or not bound:
            lines.append(f"- {name}: not measured")
        else:
            mark = "met" if value >= bound else "NOT met"
            lines.append(f"- {name}: {mark} ({value:.1f} vs {bound:.1f} steps/s)")
    ours_s, keras_s = (
        field(("stateless_fit", "spe1"), "first_step_s"),
        field(keras, "first_step_s"),
    )
    if ours_s is None or keras_s is None:
        lines.append("- first step <= Keras 3 (JAX)'s: not measured")
    else:
        mark = "met" if ours_s <= keras_s else "NOT met"
        lines.append(
            f"- first step <= Keras 3 (JAX)'s: {mark} ({ours_s:.2f} vs {keras_s:.2f} s)"
        )
    return lines


def table(model: str, results: list[dict]) -> list[str]:
    """The markdown section of one model: its table and target checks."""
    by_row = {(r["peer"], r["variant"]): r for r in results}
    floor = by_row.get(FLOOR)
    floor = None if floor is None or "error" in floor else floor
    ok = [r for r in results if "error" not in r]
    device_memory = any(r.get("device_peak_mb") is not None for r in ok)
    head = ok[0] if ok else {}
    lines = [
        f"## {model}: {head.get('description', '')}",
        "",
        f"Batch {head.get('batch')}, {head.get('steps')} timed steps x "
        f"{head.get('repeats')} repeats x {head.get('rounds', 1)} round(s) per row.",
        "",
        "| framework | steps/s | x floor | range | first step s | peak RSS MB |"
        + (" device peak MB |" if device_memory else ""),
        "|---|---:|---:|---:|---:|---:|" + ("---:|" if device_memory else ""),
    ]
    lines += [_row(r, floor, device_memory) for r in results]
    lines += ["", "Targets (stateless):", *_targets(model, by_row), ""]
    return lines


def summary(results: dict[str, list[dict]]) -> list[str]:
    """One table of every row's `x floor`, a column per model."""
    models = list(results)
    lines = [
        "## Summary: steps/s over the floor",
        "",
        "| framework | " + " | ".join(models) + " |",
        "|---|" + "---:|" * len(models),
    ]
    by_model = {
        model: {(r["peer"], r["variant"]): r for r in rows}
        for model, rows in results.items()
    }
    for peer, variant in ROWS:
        cells, label = [], f"{peer} {variant}"
        for by_row in by_model.values():
            row, floor = by_row.get((peer, variant)), by_row.get(FLOOR)
            label = (row or {}).get("label", label)
            if not row or "error" in row or not floor or "error" in floor:
                cells.append("-")
            else:
                cells.append(f"{row['steps_per_s'] / floor['steps_per_s']:.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def report(run: dict) -> str:
    """The whole RESULTS.md text, from what `main` measured (or its JSON)."""
    results = run["results"]
    ok = [r for rs in results.values() for r in rs if "error" not in r]
    sample = ok[0] if ok else {}
    versions = sorted({(r["framework"], r["framework_version"]) for r in ok})
    command, loads = run["command"], run["loads"]
    lines = [
        "# Peer benchmark: stateless against the floor, Keras 3, Flax NNX, Equinox",
        "",
        f"Written by `{command}` on {run['written']} in {run['wall_s'] / 60:.1f} min"
        + (" (quick: few steps, indicative only)." if "--quick" in command else "."),
        "",
        f"- Machine: {run['cpu']}, {run['cores']} logical cores; "
        f"JAX device: {sample.get('device', '?')}",
        f"- JAX {sample.get('jax', '?')}, Python {sample.get('python', '?')}; "
        + ", ".join(f"{name} {v}" for name, v in versions),
        f"- Load average (1 min) before and after: {loads[0]:.2f}, {loads[1]:.2f}",
        "",
        "Same model, seeded synthetic data, batch and optimizer (Adam 1e-3,"
        " sparse softmax cross-entropy on logits) in every row; each row is its"
        " own process. *steps/s*: the median over the repeats of a run of the"
        " timed steps, after the first step, ended by reading the loss on the"
        " host; *x floor*: over the hand-written `jax.jit` + optax loop at one"
        " step per call; *range*: the slowest and fastest repeat; *first step*:"
        " trace, compile and run of the first execution (the first"
        " `steps_per_execution` steps for fused rows); *peak RSS*: the"
        " process's `ru_maxrss` (interpreter, libraries, data and programs)."
        " The `fit` rows time whole `fit(..., epochs=1, verbose=0,"
        " shuffle=False)` calls, so they include fit's own setup per call.",
        "",
        *summary(results),
    ]
    for model, rows in results.items():
        lines += table(model, rows)
    lines += NOTES
    return "\n".join(lines)


def measure(models: list[str], rounds: int, quick: bool) -> dict[str, list[dict]]:
    """Every row of every model, `rounds` times interleaved, combined per row."""
    results: dict[str, list[dict]] = {}
    for model in models:
        runs: dict[tuple[str, str], list[dict]] = {row: [] for row in ROWS}
        for round_ in range(rounds):
            for peer, variant in ROWS:
                print(
                    f"{model}: {peer} {variant} (round {round_ + 1})",
                    file=sys.stderr, flush=True,
                )  # fmt: skip
                result = run_peer(peer, model, variant, quick)
                result.setdefault("label", f"{peer} {variant}")
                result.update(peer=peer, variant=variant)
                runs[peer, variant].append(result)
        results[model] = [combine(r) for r in runs.values()]
    return results


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text)
    partial.replace(path)  # never a half-written file in its place


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps/repeats")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="run every row this many times, interleaved, and take the median "
        "(evens out a machine whose load drifts)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "RESULTS.md",
        help="where to write the markdown (default bench/RESULTS.md); the raw "
        "results go beside it, with the suffix .json",
    )  # fmt: skip
    parser.add_argument(
        "--render", type=Path, metavar="JSON",
        help="run nothing: rewrite the markdown from results saved by a run",
    )  # fmt: skip
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1; received {args.rounds}.")
    if args.render:
        run = json.loads(args.render.read_text())
    else:
        start, load = time.perf_counter(), _load()
        results = measure(args.models, args.rounds, args.quick)
        written = datetime.datetime.now().astimezone()
        run = {
            "command": " ".join(["python bench/compare.py", *sys.argv[1:]]),
            "written": written.strftime("%Y-%m-%d %H:%M %Z"),
            "wall_s": time.perf_counter() - start,
            "loads": [load, _load()],
            "cpu": _cpu_name(),
            "cores": os.cpu_count(),
            "results": results,
        }
        _write(args.output.with_suffix(".json"), json.dumps(run, indent=1) + "\n")
    text = report(run)
    _write(args.output, text + "\n")
    print(text)
    failed = [r for rs in run["results"].values() for r in rs if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
