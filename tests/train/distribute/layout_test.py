"""Layout rules are checked from shapes alone, before anything is allocated."""

import jax
import numpy as np
import pytest
from jax.sharding import AbstractMesh
from jax.sharding import PartitionSpec as P

from train import distribute
from train.distribute.layout import LayoutError, follow_params, layout_specs

MESH = AbstractMesh((2, 4), ("batch", "model"))  # no devices needed to check
PARAMS = {
    "dense": {"kernel": jax.ShapeDtypeStruct((8, 12), np.float32),
              "bias": jax.ShapeDtypeStruct((12,), np.float32)},
    "dense_1": {"kernel": jax.ShapeDtypeStruct((12, 5), np.float32)},
}  # fmt: skip


def test_rules_give_specs_and_unmatched_variables_are_replicated():
    specs = layout_specs(PARAMS, {r"dense/kernel": P(None, "model")}, MESH)
    assert specs["dense"]["kernel"] == P(None, "model")
    assert specs["dense"]["bias"] == P()
    assert specs["dense_1"]["kernel"] == P()


def test_a_dimension_that_does_not_divide_names_variable_shape_and_rule():
    with pytest.raises(LayoutError) as error:
        layout_specs(PARAMS, {r"kernel": P(None, "model")}, MESH)
    message = str(error.value)
    for part in ("dense_1/kernel", "(12, 5)", "dimension 1 (5)", "'model'", "size 4",
                 "'kernel'"):  # fmt: skip
        assert part in message


def test_a_variable_matched_by_two_rules_is_refused():
    rules = {r"dense/kernel": P(None, "model"), r"kernel$": P("model")}
    with pytest.raises(LayoutError, match=r"dense/kernel, shape \(8, 12\): matched "
                       r"by 2 rules \['dense/kernel', 'kernel\$'\]"):  # fmt: skip
        layout_specs(PARAMS, rules, MESH)


def test_strict_mode_refuses_a_variable_no_rule_matches():
    with pytest.raises(LayoutError, match=r"dense/bias, shape \(12,\): matched by no"):
        layout_specs(PARAMS, {r"kernel": P()}, MESH, strict=True)


@pytest.mark.parametrize(
    "spec, expected",
    [(P(None, None, "model"), "3 entries for a variable of rank 2"),
     (P("heads"), "names mesh axis 'heads'")],
)  # fmt: skip
def test_specs_that_cannot_apply_are_refused(spec, expected):
    with pytest.raises(LayoutError, match=expected):
        layout_specs(PARAMS, {r"dense/kernel": spec}, MESH)


def test_optimizer_slots_follow_their_parameter():
    specs = layout_specs(PARAMS, {r"dense/kernel": P(None, "model")}, MESH)
    slots = {"mu": PARAMS, "count": jax.ShapeDtypeStruct((), np.int32)}
    followed = follow_params(slots, specs, PARAMS)
    assert followed["mu"]["dense"]["kernel"] == P(None, "model")
    assert followed["count"] == P()


def test_a_batch_size_that_does_not_divide_is_refused_before_training():
    dist = distribute.Distribution(AbstractMesh((8,), ("batch",)))
    dist.check_batch_size(64)
    with pytest.raises(ValueError, match="batch_size 30 does not divide by the 8"):
        dist.check_batch_size(30)


def test_fit_checks_the_layout_before_initializing():
    import nn
    from nn import layers

    model = nn.Sequential([layers.Input((3,)), layers.Dense(5)])
    mesh = distribute.make_mesh({"model": 1})
    dist = distribute.ModelParallel(mesh, {r"kernel": P()}, batch_axis=None,
                                    strict=True)  # fmt: skip
    model.compile(optimizer="sgd", loss="mse", distribution=dist)
    with pytest.raises(LayoutError, match="dense/bias"):
        model.fit(np.ones((4, 3), np.float32), np.ones((4, 5), np.float32), verbose=0)
    assert model.variables is None  # refused before anything was allocated


def test_host_slice_gives_each_process_an_equal_contiguous_share():
    x = np.arange(10)
    parts = [distribute.host_slice(x, i, 3).tolist() for i in range(3)]
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_a_scope_makes_fit_use_the_distribution():
    import nn
    from nn import layers

    model = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    dist = distribute.DataParallel()
    with dist.scope():
        assert model.trainer.distribution is dist
        model.fit(np.ones((8, 3), np.float32), np.ones((8, 2), np.float32), verbose=0)
    assert model.trainer.distribution is None
    kernel = model.variables["params"]["dense"]["kernel"]
    assert kernel.sharding.mesh.axis_names == ("batch",)
