"""One model written three ways: same variables, same outputs, and pure under
jit, grad, vmap and scan, with BatchNormalization state and Dropout keys
threaded by the framework, not by hand."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers


def sequential():
    return nn.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(8, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.5),
            layers.Dense(3),
        ]
    )


def functional():
    x = layers.Input((6,))
    h = layers.Dense(8, activation="relu")(x)
    h = layers.Dropout(0.5)(layers.BatchNormalization()(h))
    return nn.Model(x, layers.Dense(3)(h))


class Subclassed(nn.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="relu")
        self.norm = layers.BatchNormalization()
        self.drop = layers.Dropout(0.5)
        self.out = layers.Dense(3)

    def call(self, x, training=False):
        return self.out(self.drop(self.norm(self.hidden(x)), training=training))


STYLES = {"sequential": sequential, "functional": functional, "subclassed": Subclassed}
X = jnp.asarray(np.random.default_rng(0).standard_normal((16, 6)), jnp.float32)


def _init(model):
    return model.init(sl.random.key(0), X)


@pytest.fixture(params=STYLES)
def model(request):
    return STYLES[request.param]()


def test_the_three_styles_share_variable_names_and_outputs():
    models = {name: make() for name, make in STYLES.items()}
    variables = _init(models["sequential"])
    assert sorted(variables["params"]) == ["batch_normalization", "dense", "dense_1"]
    assert sorted(variables["state"]) == ["batch_normalization"]
    outputs = {}
    for name, m in models.items():
        chex.assert_trees_all_equal_shapes_and_dtypes(_init(m), variables)
        y, state = m.apply(variables, X)  # inference: no dropout, moving statistics
        y_train, new_state = m.apply(variables, X, training=True, rng=sl.random.key(3))
        outputs[name] = (y, new_state)
        assert not np.allclose(y, y_train)
    for name in ("functional", "subclassed"):
        chex.assert_trees_all_close(outputs[name], outputs["sequential"], rtol=1e-5)


def test_training_updates_batchnorm_state_without_manual_threading(model):
    variables = _init(model)
    _, state = model.apply(variables, X, training=True, rng=sl.random.key(1))
    moving = state["batch_normalization"]["moving_mean"]
    assert not np.allclose(
        moving, variables["state"]["batch_normalization"]["moving_mean"]
    )
    _, same = model.apply(variables, X)
    chex.assert_trees_all_equal(same, variables["state"])


def test_dropout_masks_follow_the_rng(model):
    variables = _init(model)
    a, _ = model.apply(variables, X, training=True, rng=sl.random.key(1))
    b, _ = model.apply(variables, X, training=True, rng=sl.random.key(1))
    c, _ = model.apply(variables, X, training=True, rng=sl.random.key(2))
    chex.assert_trees_all_equal(a, b)
    assert not np.allclose(a, c)


def test_jit_grad_vmap_and_scan_work(model):
    variables = _init(model)
    apply = jax.jit(model.apply, static_argnames="training")
    chex.assert_trees_all_close(apply(variables, X)[0], model.apply(variables, X)[0])

    def loss(params, state, x, key):
        y, new_state = model.apply(
            {"params": params, "state": state}, x, training=True, rng=key
        )
        return jnp.mean(y**2), new_state

    grads, _ = jax.grad(loss, has_aux=True)(
        variables["params"], variables["state"], X, sl.random.key(0)
    )
    chex.assert_tree_all_finite(grads)
    assert any(float(jnp.abs(g).sum()) > 0 for g in jax.tree.leaves(grads))

    per_example = jax.vmap(lambda x: model.apply(variables, x[None])[0][0])(X)
    chex.assert_trees_all_close(per_example, model.apply(variables, X)[0], rtol=1e-5)

    def sgd_step(carry, key):
        params, state = carry
        (value, state), g = jax.value_and_grad(loss, has_aux=True)(
            params, state, X, key
        )
        params = jax.tree.map(lambda p, d: p - 0.1 * d, params, g)
        return (params, state), value

    keys = sl.random.split(sl.random.key(0), 5)
    (_, final_state), losses = jax.jit(lambda c: jax.lax.scan(sgd_step, c, keys))(
        (variables["params"], variables["state"])
    )
    assert losses.shape == (5,) and bool(jnp.isfinite(losses).all())
    assert not np.allclose(
        final_state["batch_normalization"]["moving_variance"],
        variables["state"]["batch_normalization"]["moving_variance"],
    )


def test_two_dropout_layers_never_share_a_mask(model):
    del model
    seq = nn.Sequential([layers.Input((64,)), layers.Dropout(0.5), layers.Dropout(0.5)])
    v = seq.init(sl.random.key(0))
    inner = nn.Sequential([layers.Input((64,)), layers.Dropout(0.5)])
    one, _ = inner.apply(
        inner.init(sl.random.key(0)),
        jnp.ones((4, 64)),
        training=True,
        rng=sl.random.key(5),
    )
    two, _ = seq.apply(v, jnp.ones((4, 64)), training=True, rng=sl.random.key(5))
    # With shared masks the second layer would keep exactly the first's survivors.
    assert float((two > 0).mean()) < 0.4 and not np.array_equal(one > 0, two > 0)


def test_variables_from_another_architecture_name_the_bad_keys(model):
    other = nn.Sequential([layers.Input((6,)), layers.Dense(4), layers.Dense(3)])
    with pytest.raises(ValueError) as info:
        model.apply(other.init(sl.random.key(0)), X)
    message = str(info.value)
    assert "missing: params/batch_normalization/beta (8,)" in message
    assert "mis-shaped: params/dense/bias expected (8,), received (4,)" in message
    wrong = _init(model)
    wrong["params"]["extra_layer"] = {"kernel": jnp.ones((2, 2))}
    with pytest.raises(ValueError, match=r"extra: params/extra_layer/kernel \(2, 2\)"):
        model.apply(wrong, X)
