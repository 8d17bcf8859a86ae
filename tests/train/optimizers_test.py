"""Optimizers: the same updates as optax's own, clipping, decay, accumulation, and
a learning rate that changes between steps without recompiling."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.datasets import load_digits

import nn
from nn import layers
from train import optimizers

PARAMS = {"w": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array(0.5)}
GRADS = [
    {"w": jnp.array([0.1, 0.2, -0.3]), "b": jnp.array(1.0)},
    {"w": jnp.array([-0.5, 0.1, 0.0]), "b": jnp.array(-2.0)},
    {"w": jnp.array([0.3, 0.3, 0.3]), "b": jnp.array(0.1)},
]


def _run(tx, params=PARAMS, grads=GRADS):
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
    return params


@pytest.mark.parametrize(
    "ours, reference",
    [
        (optimizers.SGD(0.1), optax.sgd(0.1)),
        (optimizers.SGD(0.1, momentum=0.9, nesterov=True), optax.sgd(0.1, 0.9, True)),
        (optimizers.Adam(0.01), optax.adam(0.01, eps=1e-7)),
        (
            optimizers.AdamW(0.01, weight_decay=0.1),
            optax.chain(optax.adam(0.01, eps=1e-7), optax.add_decayed_weights(-0.001)),
        ),
        (optimizers.RMSprop(0.01), optax.rmsprop(0.01, 0.9, 1e-7)),
        (optimizers.Adagrad(0.1), optax.adagrad(0.1, 0.1, 1e-7)),
        # Keras's Lion has no weight decay; optax's decays by 1e-3 unless told
        (optimizers.Lion(0.01), optax.lion(0.01, 0.9, 0.99, weight_decay=0.0)),
    ],
    ids=["sgd", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "lion"],
)
def test_updates_match_optax(ours, reference):
    chex.assert_trees_all_close(_run(ours.transform()), _run(reference), rtol=1e-6)


def test_clipping_options():
    big = [{"w": jnp.array([3.0, 4.0, 0.0]), "b": jnp.array(10.0)}]
    by_value = _run(optimizers.SGD(1.0, clipvalue=1.0).transform(), grads=big)
    np.testing.assert_allclose(by_value["w"], PARAMS["w"] - jnp.array([1.0, 1.0, 0.0]))
    by_norm = _run(optimizers.SGD(1.0, clipnorm=1.0).transform(), grads=big)
    np.testing.assert_allclose(by_norm["w"], PARAMS["w"] - jnp.array([0.6, 0.8, 0.0]))
    np.testing.assert_allclose(by_norm["b"], PARAMS["b"] - 1.0)
    by_global = _run(optimizers.SGD(1.0, global_clipnorm=1.0).transform(), grads=big)
    norm = np.sqrt(9 + 16 + 100)
    np.testing.assert_allclose(by_global["b"], PARAMS["b"] - 10.0 / norm, rtol=1e-6)


def test_gradient_accumulation_applies_the_mean_every_k_steps():
    tx = optimizers.SGD(1.0, gradient_accumulation_steps=2).transform()
    after_one = _run(tx, grads=GRADS[:1])
    chex.assert_trees_all_close(after_one, PARAMS)  # nothing applied yet
    after_two = _run(tx, grads=GRADS[:2])
    mean = jax.tree.map(lambda a, b: (a + b) / 2, GRADS[0], GRADS[1])
    chex.assert_trees_all_close(
        after_two, jax.tree.map(lambda p, g: p - g, PARAMS, mean)
    )


def test_learning_rate_changes_in_the_state_without_recompiling():
    tx = optimizers.SGD(0.1).transform()
    state = tx.init(PARAMS)
    step = jax.jit(lambda g, s: tx.update(g, s, PARAMS))
    first, state = step(GRADS[0], state)
    state = optimizers.with_learning_rate(state, 0.01)
    assert float(optimizers.learning_rate_of(state)) == pytest.approx(0.01)
    second, _ = step(GRADS[0], state)
    np.testing.assert_allclose(second["w"], first["w"] / 10, rtol=1e-6)
    assert step._cache_size() == 1
    accumulating = optimizers.Adam(gradient_accumulation_steps=3).transform()
    state = optimizers.with_learning_rate(accumulating.init(PARAMS), 0.5)
    assert float(optimizers.learning_rate_of(state)) == 0.5


def test_schedules_are_evaluated_per_step():
    schedule = optax.linear_schedule(1.0, 0.0, transition_steps=2)
    params = _run(optimizers.SGD(schedule).transform(), grads=GRADS[:2])
    want = PARAMS["w"] - 1.0 * GRADS[0]["w"] - 0.5 * GRADS[1]["w"]
    np.testing.assert_allclose(params["w"], want, rtol=1e-6)


def test_names_and_errors():
    assert isinstance(optimizers.get("AdamW"), optimizers.AdamW)
    assert optimizers.get("sgd").learning_rate == 0.01
    assert optimizers.get("rm_sprop").name == "rm_sprop"  # Keras's default name
    with pytest.raises(
        ValueError, match="unknown optimizer 'adamx'. Did you mean 'adamax'"
    ):
        optimizers.get("adamx")


def test_a_schedule_trains_saves_as_data_and_cannot_be_overwritten(tmp_path):
    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target
    schedule = optimizers.schedules.CosineDecay(0.0, 100, warmup_target=0.05,
                                                warmup_steps=20)  # fmt: skip
    model = nn.Sequential([layers.Input((64,)), layers.Dense(10)])
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizers.Adam(schedule), loss=loss, metrics=["accuracy"])
    model.fit(x[:1500], y[:1500], batch_size=100, epochs=8, verbose=0)  # 120 steps
    _, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
    assert accuracy > 0.85
    spec = json.loads(json.dumps(optimizers.serialize(model.optimizer)))
    assert spec["config"]["learning_rate"]["class_name"] == "CosineDecay"
    assert optimizers.deserialize(spec).learning_rate == schedule
    model.save(tmp_path / "m.stateless")
    again = nn.load_model(tmp_path / "m.stateless")
    assert again.optimizer.learning_rate == schedule
    with pytest.raises(TypeError, match="follows the schedule CosineDecay"):
        model.optimizer.learning_rate = 0.1


NON_DEFAULT = [
    optimizers.SGD(0.1, momentum=0.5, clipvalue=1.0),
    optimizers.Adam(amsgrad=True, global_clipnorm=2.0, name="adam_1"),
    optimizers.AdamW(weight_decay=0.01, use_ema=True, ema_momentum=0.9),
    optimizers.RMSprop(centered=True, gradient_accumulation_steps=2),
    optimizers.Adagrad(initial_accumulator_value=0.2),
    optimizers.Adadelta(rho=0.9),
    optimizers.Adamax(beta_2=0.99),
    optimizers.Nadam(epsilon=1e-6),
    optimizers.Ftrl(l1_regularization_strength=0.1, beta=0.5),
    optimizers.Lion(beta_1=0.95),
    optimizers.Lamb(clipnorm=1.0),
    optimizers.Adafactor(
        relative_step=False, ema_overwrite_frequency=5, use_ema=True
    ),  # fmt: skip
    optimizers.Muon(exclude_layers=["head", "out.*"], rms_rate=None, ns_steps=3),
    optimizers.ScheduleFreeAdamW(warmup_steps=3, loss_scale_factor=64.0),
    optimizers.LossScaleOptimizer(
        optimizers.Adam(1e-2, gradient_accumulation_steps=2), initial_scale=256.0
    ),  # fmt: skip
    optimizers.MultiOptimizer(
        optimizers.OptimizerMap(
            optimizers.SGD(), {"b.*": optimizers.Adam(use_ema=True)}
        ),
        loss_scale_factor=8.0,
    ),  # fmt: skip
]


def test_every_class_round_trips_through_its_config_as_json():
    assert {type(o) for o in NON_DEFAULT} == set(optimizers.CLASSES)
    for optimizer in NON_DEFAULT:
        spec = json.loads(json.dumps(optimizers.serialize(optimizer)))
        again = optimizers.deserialize(spec)
        assert type(again) is type(optimizer)
        assert again.get_config() == optimizer.get_config()


@pytest.mark.parametrize(
    "build, message",
    [(lambda: optimizers.Adam(use_ema=True, ema_momentum=1.5),
      r"ema_momentum must lie in \[0, 1\]"),
     (lambda: optimizers.SGD(ema_overwrite_frequency=0),
      "ema_overwrite_frequency must be an int >= 1"),
     (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0),
      "set at most one of clipnorm, clipvalue and global_clipnorm"),
     (lambda: optimizers.Ftrl(learning_rate_power=0.5),
      "learning_rate_power must be a number <= 0"),
     (lambda: optimizers.Adam(loss_scale_factor=0.0),
      r"loss_scale_factor must be a finite number in \(0.0, inf\)"),
     (lambda: optimizers.LossScaleOptimizer(optimizers.Adam(), clipnorm=1.0),
      "LossScaleOptimizer does not take clipnorm=1.0. Hint: set clipnorm on the "
      "inner optimizer"),
     (lambda: optimizers.LossScaleOptimizer(
         optimizers.LossScaleOptimizer(optimizers.Adam())),
      "inner_optimizer must be a train.optimizers optimizer other than a "
      "LossScaleOptimizer"),
     (lambda: optimizers.Muon(exclude_layers=[3]),
      "Muon: exclude_layers must be a list of strings"),
     (lambda: optimizers.Muon(ns_steps=2.5), "Muon: ns_steps must be an integer"),
     (lambda: optimizers.ScheduleFreeAdamW(beta_1=0.0),
      r"ScheduleFreeAdamW: beta_1 must lie in \(0, 1\)")],
)  # fmt: skip
def test_bad_keywords_are_refused_by_name(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_fit_with_use_ema_ends_on_the_average_of_the_weights():
    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target
    seen = {}

    class Watch(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen["last_step"] = jax.tree.map(np.array, self.model.variables["params"])

    model = nn.Sequential([layers.Input((64,)), layers.Dense(10)])
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = optimizers.Adam(2e-2, use_ema=True, ema_momentum=0.9)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    model.fit(x[:1500], y[:1500], batch_size=100, epochs=6, verbose=0,
              callbacks=[Watch()])  # fmt: skip
    final = model.variables["params"]
    chex.assert_trees_all_close(final, optimizers.ema_of(model.train_state.opt_state))
    assert not np.allclose(
        final["dense"]["kernel"], seen["last_step"]["dense"]["kernel"]
    )
    _, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
    assert accuracy > 0.85


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_validates_with_the_average(swap_on_epoch):
    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target
    seen = {"test": [], "epoch_end": []}

    class Watch(nn.callbacks.Callback):  # after SwapEMAWeights in the list
        def on_test_begin(self, logs=None):
            seen["test"].append(jax.tree.map(np.array, self.model.variables))

        def on_epoch_end(self, epoch, logs=None):
            seen["epoch_end"].append(jax.tree.map(np.array, self.model.variables))

    model = nn.Sequential([layers.Input((64,)), layers.Dense(10)])
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = optimizers.Adam(2e-2, use_ema=True, ema_momentum=0.9)
    model.compile(optimizer=optimizer, loss=loss)
    swap = nn.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch)
    history = model.fit(x[:1500], y[:1500], batch_size=100, epochs=3, verbose=0,
                        validation_data=(x[1500:], y[1500:]),
                        callbacks=[swap, Watch()])  # fmt: skip
    # After fit the model holds the average (as Keras's finalize): the last
    # validation, made with the swapped-in average, is what evaluate says now.
    np.testing.assert_allclose(history.history["val_loss"][-1],
                               model.evaluate(x[1500:], y[1500:], verbose=0),
                               rtol=1e-6)  # fmt: skip
    chex.assert_trees_all_close(seen["test"][-1], model.variables)
    at_epoch_end = seen["epoch_end"][-1]
    if swap_on_epoch:  # the epoch-end hooks saw the average
        chex.assert_trees_all_close(at_epoch_end, model.variables)
    else:  # the trained weights were back for them
        kernel = at_epoch_end["params"]["dense"]["kernel"]
        assert not np.allclose(kernel, model.variables["params"]["dense"]["kernel"])


@pytest.mark.parametrize("optimizer", NON_DEFAULT, ids=lambda o: type(o).__name__)
def test_no_two_slots_of_a_state_share_a_buffer(optimizer):
    # The fit loop donates the optimizer state: a buffer in two slots of it
    # cannot be donated ("donate the same buffer twice").
    params = {"kernel": jnp.ones((80, 80)), "bias": jnp.ones(80)}
    arrays = [a for a in jax.tree.leaves(optimizer.transform().init(params))
              if a.size > 1]  # fmt: skip
    pointers = {a.unsafe_buffer_pointer() for a in arrays}
    assert len(pointers) == len(arrays)
    assert not pointers & {a.unsafe_buffer_pointer() for a in params.values()}
