"""The loss and the metrics honour the masks a model's outputs carry."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from stateless import random
from train import losses, metrics, steps
from train.loss_reduction import fold_mask
from train.output_masks import loss_with_masks, update_with_masks

Y_TRUE = jnp.array([[[0.0], [1.0], [2.0]], [[1.0], [1.0], [1.0]]])
Y_PRED = jnp.array([[[1.0], [1.0], [9.0]], [[3.0], [1.0], [4.0]]])
MASK = jnp.array([[True, True, False], [True, False, False]])
KEPT_ERRORS = np.array([1.0, 0.0, 2.0])  # |y_pred - y_true| where MASK keeps


def test_a_masked_mean_counts_only_the_kept_entries():
    loss = losses.MeanAbsoluteError()
    chex.assert_trees_all_close(loss(Y_TRUE, Y_PRED, mask=MASK), KEPT_ERRORS.mean())
    total = losses.MeanAbsoluteError(reduction="sum")(Y_TRUE, Y_PRED, mask=MASK)
    chex.assert_trees_all_close(total, KEPT_ERRORS.sum())


def test_mask_and_sample_weight_combine():
    step_weights = jnp.array([[1.0, 3.0, 5.0], [2.0, 7.0, 7.0]])
    got = losses.MeanAbsoluteError()(Y_TRUE, Y_PRED, step_weights, mask=MASK)
    # Keras: the sum of the kept weighted values over the number kept.
    chex.assert_trees_all_close(got, (1.0 * 1 + 0.0 * 3 + 2.0 * 2) / 3)
    per_sequence = losses.MeanAbsoluteError()(
        Y_TRUE, Y_PRED, jnp.array([2.0, 10.0]), mask=MASK
    )
    chex.assert_trees_all_close(per_sequence, (1.0 * 2 + 0.0 * 2 + 2.0 * 10) / 3)


def test_the_output_mask_and_ignore_class_both_apply():
    labels = jnp.array([[0, 2, 1], [1, 1, 2]])
    scores = jax.random.normal(jax.random.key(0), (2, 3, 3))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    each = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    values = each(labels, scores)
    kept = MASK & (labels != 2)  # two entries
    chex.assert_trees_all_close(
        loss(labels, scores, mask=MASK), jnp.sum(jnp.where(kept, values, 0.0)) / 2
    )


def test_fold_mask_spreads_per_example_weights_over_the_steps():
    folded = fold_mask(jnp.array([2.0, 10.0]), MASK, "sum")
    chex.assert_trees_all_close(folded, jnp.array([[2, 2, 0], [10, 0, 0.0]]))
    assert fold_mask(None, None, "sum") is None


def test_a_plain_loss_function_gets_the_mask_in_its_weights():
    def mae(y_true, y_pred, sample_weight=None):
        return losses.MeanAbsoluteError()(y_true, y_pred, sample_weight)

    got = loss_with_masks(mae, Y_TRUE, Y_PRED, None, MASK)
    chex.assert_trees_all_close(got, KEPT_ERRORS.mean())


def test_averaging_metrics_read_masks_and_confusion_metrics_do_not():
    mae = metrics.MeanAbsoluteError()
    state = update_with_masks(mae, mae.init(), Y_TRUE, Y_PRED, None, MASK)
    chex.assert_trees_all_close(mae.result(state), KEPT_ERRORS.mean())
    y, p = jnp.array([[1.0, 0.0, 1.0]]), jnp.array([[0.9, 0.8, 0.1]])
    precision = metrics.Precision()
    state = update_with_masks(
        precision, precision.init(), y, p, None, jnp.array([[True, False, True]])
    )
    chex.assert_trees_all_close(precision.result(state), 0.5)  # Keras's too


def _apply(variables, x, training=False, rng=None):
    """A model of one weight whose output keeps the steps where x != 0."""
    return x[..., None] * variables["params"]["w"], variables["state"], x != 0


@pytest.mark.parametrize("replicated", [False, True])
def test_the_built_in_steps_honour_what_apply_returns(replicated):
    tx = optax.sgd(0.1)
    mae = {"mae": metrics.MeanAbsoluteError()}
    variables = {"params": {"w": jnp.ones(())}, "state": {}}
    ts = steps.init_train_state(variables, tx, mae, random.key(0))
    x = jnp.array([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]])
    y = jnp.array([[2.0, 3.0, 50.0], [5.0, 50.0, 50.0]])[..., None]
    keywords = {"returns_masks": True}
    train = steps.make_train_step(_apply, losses.MeanAbsoluteError(), tx, mae,
                                  **keywords)  # fmt: skip
    evaluate = steps.make_eval_step(_apply, losses.MeanAbsoluteError(), mae,
                                    **keywords)  # fmt: skip
    if replicated:  # one replica: the masks are gathered with the batch
        keywords["axis_name"] = "batch"
        replicas = lambda f: jax.pmap(f, axis_name="batch")  # noqa: E731
        ts, x, y = jax.tree.map(lambda v: v[None], (ts, x, y))
        train = replicas(steps.make_train_step(
            _apply, losses.MeanAbsoluteError(), tx, mae, **keywords))  # fmt: skip
        evaluate = replicas(steps.make_eval_step(
            _apply, losses.MeanAbsoluteError(), mae, **keywords))  # fmt: skip
    _, logs = evaluate(ts, (x, y))
    chex.assert_trees_all_close(
        jax.tree.map(jnp.squeeze, logs), {"loss": 4 / 3, "mae": 4 / 3}
    )  # errors 1, 1, 2 on the kept steps
    ts, _ = train(ts, (x, y))
    # d/dw of mean(|x w - y|) over the kept steps: (-1 - 2 - 3) / 3.
    chex.assert_trees_all_close(jnp.squeeze(ts.params["w"]), 1.2)
