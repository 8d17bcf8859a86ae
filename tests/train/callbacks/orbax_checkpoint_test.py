"""OrbaxCheckpoint: Keras's arguments, orbax checkpoints of the live state
that restore bit for bit."""

import chex
import pytest

from tests.train.checkpoint_test import Record, fit, template, trainer
from train.callbacks import OrbaxCheckpoint


def test_each_epoch_is_kept_up_to_max_to_keep_and_restores_exactly(tmp_path):
    t, record = trainer(), Record()
    keep = OrbaxCheckpoint(tmp_path, monitor="loss", max_to_keep=2)
    fit(t, 3, callbacks=[keep, record])  # 4 steps an epoch
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_2", "epoch_3"]
    back = keep.manager.restore(template(t), 2)
    chex.assert_trees_all_equal(back, record.states[8])
    keep.manager.close()


def test_save_freq_in_batches_numbers_checkpoints_by_step(tmp_path):
    t, record = trainer(), Record()
    keep = OrbaxCheckpoint(tmp_path, save_freq=3, max_to_keep=None,
                           save_on_background=False)  # fmt: skip
    fit(t, 2, callbacks=[keep, record])  # 8 steps
    assert keep.manager.checkpoints == [3, 6]
    chex.assert_trees_all_equal(keep.manager.restore(template(t), 6), record.states[6])
    keep.manager.close()


def test_save_best_only_keeps_the_best_epoch(tmp_path):
    t = trainer()
    keep = OrbaxCheckpoint(tmp_path, monitor="loss", save_best_only=True,
                           initial_value_threshold=0.0)  # fmt: skip
    fit(t, 2, callbacks=[keep])
    assert keep.manager.checkpoints == []  # no loss beats 0
    keep.manager.close()


def test_save_weights_only_holds_the_weights_alone(tmp_path):
    t, record = trainer(), Record()
    keep = OrbaxCheckpoint(tmp_path, save_weights_only=True)
    fit(t, 1, callbacks=[keep, record])
    weights_only = template(t)._replace(opt_state=(), metrics={})
    back = keep.manager.restore(weights_only)
    chex.assert_trees_all_equal((back.params, back.state, back.step),
                                (record.states[4].params, record.states[4].state,
                                 record.states[4].step))  # fmt: skip
    assert back.opt_state == () and back.metrics == {}
    with pytest.raises(ValueError):  # a full template does not fit it
        keep.manager.restore(template(t))
    keep.manager.close()
