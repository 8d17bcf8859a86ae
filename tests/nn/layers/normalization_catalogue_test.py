"""Group, RMS and unit normalization, and synchronized BatchNormalization:
the layer contract (`check_layer`), errors, statistics across replicas, the
weight keywords, and a model that trains to a stated accuracy and survives
the archive."""

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers
from nn.archive import load_model, save_model
from stateless.replica_axis import over_replicas
from tests.nn.harness import check_layer

_rng = np.random.default_rng(0)


def _x(*shape):
    return _rng.normal(size=shape).astype(np.float32)


# (layer, input shape, wrong input shape)
CONTRACT = {
    "group": (layers.GroupNormalization(2), (2, 5, 4), (2, 5, 6)),
    "group_channels_first": (layers.GroupNormalization(-1, axis=1), (2, 3, 4, 4),
                             (2, 5, 4, 4)),
    "rms": (layers.RMSNormalization(), (2, 3, 8), (2, 3, 5)),
    "rms_axes": (layers.RMSNormalization(axis=(1, 2)), (2, 3, 4), (2, 4, 4)),
    "unit": (layers.UnitNormalization(axis=(1, 2)), (2, 3, 4), None),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONTRACT))
def test_the_layer_contract_holds(case):
    layer, shape, wrong = CONTRACT[case]
    wrong_input = None if wrong is None else _x(*wrong)
    check_layer(layer, _x(*shape), expected_shape=shape, wrong_input=wrong_input)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="GroupNormalization: groups must be"):
        layers.GroupNormalization(0)
    with pytest.raises(ValueError, match="RMSNormalization: axis must be an int"):
        layers.RMSNormalization(axis="last")
    with pytest.raises(sl.errors.ShapeError, match=r"3 groups do not divide the 4"):
        layers.GroupNormalization(3).init(sl.random.key(0), _x(2, 5, 4))


def _replicas(layer, variables, x, replicas=4):
    """`layer` in training on `x` split into `replicas` slices run as one
    program per replica (`vmap` with an axis name, as `pmap` runs them)."""

    def one_replica(part):
        with over_replicas("batch"):
            return layer.apply(variables, part, training=True)

    split = x.reshape(replicas, -1, *x.shape[1:])
    y, state = jax.vmap(one_replica, axis_name="batch")(split)
    return y.reshape(x.shape), jax.tree.map(lambda s: s[0], state)


def test_synchronized_batch_norm_uses_the_whole_batch_across_replicas():
    x = _x(16, 3) * 2 + np.arange(16, dtype=np.float32)[:, None]  # slices differ
    whole = layers.BatchNormalization()
    variables = whole.init(sl.random.key(0), x)
    want, want_state = whole.apply(variables, x, training=True)
    synced = layers.BatchNormalization(synchronized=True)
    y, state = _replicas(synced, variables, x)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(state["moving_variance"], want_state["moving_variance"],
                               rtol=1e-5)  # fmt: skip
    local, _ = _replicas(layers.BatchNormalization(), variables, x)
    assert np.abs(np.asarray(local) - np.asarray(want)).max() > 0.1


def test_beta_and_gamma_take_regularizers_and_constraints():
    layer = layers.BatchNormalization(gamma_constraint="non_neg", beta_regularizer="l2")
    params = {"gamma": np.float32([-1.0, 2.0]), "beta": np.float32([1.0, 1.0])}
    np.testing.assert_array_equal(layer.constrain(params)["gamma"], [0.0, 2.0])
    assert float(layer.penalty(params)) == pytest.approx(0.02)
    prelu = layers.PReLU(alpha_constraint="non_neg")
    np.testing.assert_array_equal(
        prelu.constrain({"alpha": np.float32([-0.5, 0.5])})["alpha"], [0.0, 0.5]
    )


def test_a_model_with_these_normalizations_learns_digits_and_survives_the_archive(
    tmp_path,
):
    x, y = load_digits(return_X_y=True)
    images = (x / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    model = nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same"), layers.GroupNormalization(4),
        layers.ReLU(),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same"), layers.GroupNormalization(-1),
        layers.ReLU(),
        layers.GlobalAveragePooling2D(),
        layers.RMSNormalization(),
        layers.Dense(32, activation="relu"), layers.UnitNormalization(),
        layers.Dense(10),
    ])  # fmt: skip
    model.compile(
        optimizer=nn.optimizers.Adam(1e-2),
        loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(images[:1500], y[:1500], batch_size=64, epochs=15, verbose=0, seed=0)
    _, accuracy = model.evaluate(images[1500:], y[1500:], verbose=0)
    assert accuracy >= 0.85  # reached: 0.953
    save_model(model, tmp_path / "normalized.zip")
    again = load_model(tmp_path / "normalized.zip")
    np.testing.assert_array_equal(
        again.predict(images[1500:], verbose=0), model.predict(images[1500:], verbose=0)
    )
