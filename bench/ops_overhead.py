"""What `sl.ops` costs over calling `jax.numpy`/`lax` directly.

Two questions, for `matmul` and `conv`:

1. Under `jax.jit`, is the program identical? The StableHLO that `lower`
   emits and the optimized HLO that `compile` emits are compared as text
   (the latter without its debug info: Python file and function names).
2. Called eagerly, how much slower is the op than its JAX twin? Each call is
   timed to completion (`block_until_ready`) on small inputs, where dispatch
   dominates; the two alternate, best of the repeats, ratio ours / twin
   (target: <= 1.5).

Run: `.venv/bin/python bench/ops_overhead.py` (or `make bench`). It exits
non-zero if a program differs or a ratio exceeds the target.
"""

from __future__ import annotations

import re
import sys
import timeit

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from stateless import ops

TARGET_RATIO = 1.5
CALLS, REPEATS = 2000, 15


def _named(fn):
    """Wraps fn under one fixed name, so both HLO modules carry the same name."""

    def program(*args):
        return fn(*args)

    return program


_DEBUG_TABLES = ("FileNames", "FunctionNames", "FileLocations", "StackFrames")


def _without_debug_info(hlo: str) -> str:
    """Optimized HLO minus source locations (file, line, Python function names)."""
    kept, in_table = [], False
    for line in hlo.splitlines():
        in_table = line in _DEBUG_TABLES or (in_table and line != "")
        if not in_table:
            kept.append(re.sub(r",? ?metadata=\{[^}]*\}", "", line))
    return "\n".join(kept)


def _direct_conv(x, k):
    return lax.conv_general_dilated(
        x,
        k,
        (1, 1),
        "SAME",
        rhs_dilation=(1, 1),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=1,
    )


def _ours_conv(x, k):
    return ops.conv(x, k, 1, "same")


def _seconds_per_call(ours, twin, args) -> tuple[float, float]:
    """Per-call seconds of two functions, timed in alternation, best of the repeats.

    Alternating repeats exposes both to the same machine load; the best repeat
    is the one least disturbed by it (the timeit module's own advice).
    """
    timings: tuple[list[float], list[float]] = ([], [])
    for fn in (ours, twin):
        fn(*args).block_until_ready()  # warm the dispatch caches
    for _ in range(REPEATS):
        for fn, runs in zip((ours, twin), timings):
            runs.append(
                timeit.timeit(lambda: fn(*args).block_until_ready(), number=CALLS)
            )
    return min(timings[0]) / CALLS, min(timings[1]) / CALLS


def main() -> int:
    rng = np.random.default_rng(0)
    cases = {
        "matmul": (
            ops.matmul,
            jnp.matmul,
            (jnp.asarray(rng.standard_normal((8, 8)), jnp.float32),) * 2,
        ),
        "conv": (
            _ours_conv,
            _direct_conv,
            (
                jnp.asarray(rng.standard_normal((1, 8, 8, 3)), jnp.float32),
                jnp.asarray(rng.standard_normal((3, 3, 3, 4)), jnp.float32),
            ),
        ),
    }
    ok = True
    print(f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}")
    print(
        f"{'op':8} {'same HLO':>9} {'ours us':>9} {'jax us':>9} {'eager ratio':>12} "
        f"{'jit ratio':>10}"
    )
    for name, (ours, twin, args) in cases.items():
        lowered = [jax.jit(_named(f)).lower(*args) for f in (ours, twin)]
        compiled = [_without_debug_info(low.compile().as_text()) for low in lowered]
        same = (
            lowered[0].as_text() == lowered[1].as_text() and compiled[0] == compiled[1]
        )
        t_ours, t_twin = _seconds_per_call(ours, twin, args)
        j_ours, j_twin = _seconds_per_call(jax.jit(ours), jax.jit(twin), args)
        ratio = t_ours / t_twin
        ok &= same and ratio <= TARGET_RATIO
        print(
            f"{name:8} {str(same):>9} {t_ours * 1e6:9.2f} {t_twin * 1e6:9.2f} "
            f"{ratio:12.3f} {j_ours / j_twin:10.3f}"
        )
    print(
        "PASS"
        if ok
        else f"FAIL: a program differs or an eager ratio exceeds {TARGET_RATIO}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
