"""What every framework in the peer benchmark trains: shapes, data, budget.

Four models, each built the same way by every peer (`bench/peers/*`):

* ``mlp``: MNIST-shaped vectors, Dense 784 -> 256 (relu) -> 256 (relu) -> 10.
* ``small_mlp``: Dense 64 -> 64 (relu) -> 10 at batch 32: a step takes a few
  microseconds of compute, so it measures each loop's per-step host work
  (dispatch-bound).
* ``cnn``: 28 x 28 x 1 images (NHWC), Conv 3x3 32 (relu, valid) -> max-pool 2
  -> Conv 3x3 64 (relu, valid) -> max-pool 2 -> flatten (5*5*64) -> Dense 10.
* ``transformer``: token ids (vocab 1000, 64 steps) -> token embedding plus a
  learned position embedding (64 x 64) -> 2 post-norm encoder blocks
  (self-attention with 4 heads of 16, biases on all projections; residual;
  LayerNorm; Dense 128 relu -> Dense 64; residual; LayerNorm) -> mean over
  steps -> Dense 10.

All train on the same seeded synthetic arrays (`make_data`) with the mean
sparse softmax cross-entropy on logits and Adam(1e-3), batch 128 (32 for
``small_mlp``), without dropout or metrics. Only NumPy is imported here, so a
peer's peak memory is its own.

Example:
  >>> x, y = make_data("cnn", steps=2, batch=4)
  >>> x.shape, x.dtype, y.shape, y.dtype
  ((8, 28, 28, 1), dtype('float32'), (8,), dtype('int32'))
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

MODELS = ("mlp", "cnn", "transformer", "small_mlp")
BATCH = 128
BATCHES = {"small_mlp": 32}  # the others take BATCH
MLPS = {"mlp": (784, (256, 256)), "small_mlp": (64, (64,))}  # inputs, hidden
LEARNING_RATE = 1e-3
FUSED_STEPS = 16  # steps per execution in the fused rows
CLASSES = 10
IMAGE = (28, 28, 1)
VOCAB, SEQ, D_MODEL, HEADS, FFN, BLOCKS = 1000, 64, 64, 4, 128, 2
KEY_DIM = D_MODEL // HEADS

# Timed steps per repeat, full and --quick (multiples of FUSED_STEPS), repeats.
STEPS = {"mlp": (256, 32), "small_mlp": (1024, 64), "cnn": (64, 16),
         "transformer": (64, 16)}  # fmt: skip
REPEATS = (5, 2)

DESCRIPTIONS = {
    "mlp": "MLP 784-256-256-10 on MNIST-shaped vectors (269,322 parameters)",
    "small_mlp": "MLP 64-64-10, batch 32: dispatch-bound (4,810 parameters)",
    "cnn": "CNN 28x28x1: conv32-pool-conv64-pool-dense10 (34,826 parameters)",
    "transformer": (
        f"Transformer encoder: {BLOCKS} blocks, vocab {VOCAB}, seq {SEQ}, "
        f"d_model {D_MODEL}, {HEADS} heads, ffn {FFN}, mean-pool, {CLASSES} classes "
        "(135,690 parameters)"
    ),
}


def batch_of(model: str) -> int:
    """The batch size `model` trains at."""
    return BATCHES.get(model, BATCH)


def budget(model: str, quick: bool) -> tuple[int, int]:
    """`(steps, repeats)` for `model`: timed steps per repeat, and repeats."""
    full, short = STEPS[model]
    return (short, REPEATS[1]) if quick else (full, REPEATS[0])


def make_data(
    model: str, steps: int, batch: int | None = None
) -> tuple[np.ndarray, ...]:
    """`(x, y)`: `steps * batch` seeded examples for `model`, int32 labels.

    Args:
      model: one of `MODELS`.
      steps: how many batches the arrays hold.
      batch: examples per batch (default: `batch_of(model)`).

    Returns:
      `x`: float32 `(N, 784)` (mlp), `(N, 64)` (small_mlp), `(N, 28, 28, 1)`
      (cnn) or int32 token ids
      `(N, 64)` (transformer); `y`: int32 `(N,)` in `[0, 10)`.

    Raises:
      ValueError: an unknown model name.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}; received {model!r}.")
    rng = np.random.default_rng(MODELS.index(model))
    count = steps * (batch_of(model) if batch is None else batch)
    if model in MLPS:
        x = rng.normal(size=(count, MLPS[model][0])).astype(np.float32)
    elif model == "cnn":
        x = rng.normal(size=(count, *IMAGE)).astype(np.float32)
    else:
        x = rng.integers(0, VOCAB, (count, SEQ)).astype(np.int32)
    y = rng.integers(0, CLASSES, count).astype(np.int32)
    return x, y


def batches(
    x: np.ndarray, y: np.ndarray, batch: int = BATCH
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """`(x, y)` slices of `batch` examples, in order (views, no copies).

    Example:
      >>> [xb.shape for xb, _ in batches(np.zeros((6, 2)), np.zeros(6), 3)]
      [(3, 2), (3, 2)]
    """
    for start in range(0, len(x) - batch + 1, batch):
        yield x[start : start + batch], y[start : start + batch]
