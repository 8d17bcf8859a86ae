"""Keras 3's optimizers and schedules here under their names: ten steps on
the same weights and gradients, schedule values and signatures compared with
the installed Keras.

Keras runs in a subprocess on its JAX backend (tests/keras_reference.py). Each
case starts a small least-squares model from the same weights, and both
optimizers take ten steps, each on the gradient of the loss at the weights
the optimizer reached (`jax.grad` on both sides, of the loss times the
optimizer's loss scale where it has one); the weights must agree within 1e-5.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import keras_reference
from train import optimizers
from train.optimizers import schedules
from train.precision import LossScaleState

STEPS = 10
# (case, class, keywords); a ("Schedule", {...}) learning rate is built from
# each side's own schedules module.
CASES = [
    ("sgd", "SGD", {"learning_rate": 0.1}),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd_clipvalue", "SGD", {"learning_rate": 0.1, "clipvalue": 0.1}),
    ("adam", "Adam", {"learning_rate": 0.05}),
    ("adam_amsgrad", "Adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("adam_clipnorm", "Adam", {"learning_rate": 0.05, "clipnorm": 0.5}),
    ("adam_global_clipnorm", "Adam", {"learning_rate": 0.05, "global_clipnorm": 0.5}),
    ("adamw", "AdamW", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("rmsprop", "RMSprop", {"learning_rate": 0.01}),
    ("rmsprop_centered_momentum", "RMSprop",
     {"learning_rate": 0.01, "centered": True, "momentum": 0.5}),
    ("adagrad", "Adagrad", {"learning_rate": 0.1}),
    ("adadelta", "Adadelta", {"learning_rate": 1.0}),
    ("adamax", "Adamax", {"learning_rate": 0.05}),
    ("nadam", "Nadam", {"learning_rate": 0.05}),
    ("ftrl", "Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
                      "l2_regularization_strength": 0.01, "beta": 0.1}),
    ("ftrl_shrinkage", "Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.3,
                                "l2_shrinkage_regularization_strength": 0.05}),
    ("lion", "Lion", {"learning_rate": 0.01}),
    ("lamb", "Lamb", {"learning_rate": 0.05}),
    ("adafactor", "Adafactor", {"learning_rate": 0.1}),
    ("adafactor_fixed_step", "Adafactor",
     {"learning_rate": 0.05, "relative_step": False, "clip_threshold": 0.5}),
    ("adam_ema", "Adam", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.8}),
    ("sgd_ema_overwrite", "SGD", {"learning_rate": 0.1, "use_ema": True,
                                  "ema_momentum": 0.5, "ema_overwrite_frequency": 3}),
    ("sgd_exponential", "SGD",
     {"learning_rate": ("ExponentialDecay", {"initial_learning_rate": 0.1,
                                             "decay_steps": 3, "decay_rate": 0.5})}),
    ("adam_cosine_warmup", "Adam",
     {"learning_rate": ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 6,
                                        "warmup_target": 0.05, "warmup_steps": 4})}),
    ("sgd_piecewise", "SGD",
     {"learning_rate": ("PiecewiseConstantDecay",
                        {"boundaries": [2, 5], "values": [0.1, 0.05, 0.01]})}),
    ("rmsprop_polynomial", "RMSprop",
     {"learning_rate": ("PolynomialDecay", {"initial_learning_rate": 0.05,
                                            "decay_steps": 4, "power": 2.0,
                                            "cycle": True})}),
    ("adagrad_inverse_time", "Adagrad",
     {"learning_rate": ("InverseTimeDecay", {"initial_learning_rate": 0.2,
                                             "decay_steps": 2, "decay_rate": 0.5,
                                             "staircase": True})}),
    ("sgd_restarts", "SGD",
     {"learning_rate": ("CosineDecayRestarts",
                        {"initial_learning_rate": 0.1, "first_decay_steps": 3,
                         "t_mul": 2.0, "m_mul": 0.8, "alpha": 0.1})}),
    # Accumulation as Keras counts: the schedule at the batch that completes
    # an update, the moving average after every batch, overwrites by update.
    ("adam_accumulate_schedule_ema", "Adam",
     {"learning_rate": ("ExponentialDecay", {"initial_learning_rate": 0.05,
                                             "decay_steps": 2, "decay_rate": 0.7}),
      "gradient_accumulation_steps": 3, "use_ema": True, "ema_momentum": 0.6,
      "ema_overwrite_frequency": 2}),
    ("sgd_accumulate_clipnorm_decay", "SGD",
     {"learning_rate": 0.1, "momentum": 0.5, "gradient_accumulation_steps": 2,
      "clipnorm": 0.5, "weight_decay": 0.2}),
    ("adam_loss_scale_factor", "Adam",
     {"learning_rate": 0.05, "loss_scale_factor": 8.0}),
    # kernel (4, 3) takes the Muon step (transposed: it is tall), bias AdamW's
    ("muon", "Muon", {"learning_rate": 0.02}),
    ("muon_plain", "Muon", {"learning_rate": 0.02, "nesterov": False, "rms_rate": None,
                            "ns_steps": 3, "momentum": 0.8, "weight_decay": 0.1}),
    ("muon_excluded", "Muon", {"learning_rate": 0.02, "exclude_layers": ["ker"],
                               "adam_lr_ratio": 0.5, "adam_weight_decay": 0.3}),
    ("schedule_free", "ScheduleFreeAdamW", {"learning_rate": 0.05}),
    ("schedule_free_warmup_decay", "ScheduleFreeAdamW",
     {"learning_rate": 0.05, "warmup_steps": 4, "weight_decay": 0.1, "beta_1": 0.8}),
    ("loss_scale", "LossScaleOptimizer",
     {"inner_optimizer": ("Adam", {"learning_rate": 0.05}), "initial_scale": 4.0,
      "dynamic_growth_steps": 3}),
    # 2**127 overflows the scaled gradients to inf: steps are skipped, the
    # scale halved, until they are finite
    ("loss_scale_overflow", "LossScaleOptimizer",
     {"inner_optimizer": ("SGD", {"learning_rate": 0.1, "momentum": 0.5}),
      "initial_scale": 2.0**127, "dynamic_growth_steps": 4}),
    # the kernel (path "kernel") by Adam, the bias by the default SGD
    ("multi", "MultiOptimizer",
     {"optimizer_map": {"default_optimizer": ("SGD", {"learning_rate": 0.1}),
                        "optimizer_map": {"ker.*": ("Adam", {"learning_rate": 0.05})},
                        }}),
    ("multi_loss_scale", "MultiOptimizer",
     {"optimizer_map": {"default_optimizer": ("Nadam", {"learning_rate": 0.05}),
                        "optimizer_map": {"bias": ("Lion", {"learning_rate": 0.01})}},
      "loss_scale_factor": 4.0}),
]  # fmt: skip
SCHEDULES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7,
                          "decay_rate": 0.3, "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [3, 10, 20],
                                "values": [1.0, 0.5, 0.2, 0.1]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 9,
                         "power": 0.5}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 9,
                         "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 4,
                          "decay_rate": 0.7}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 25, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 20,
                     "warmup_target": 0.1, "warmup_steps": 8}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 4,
                             "t_mul": 1.0, "m_mul": 0.5}),
]  # fmt: skip
NOT_OPTIMIZERS = {"legacy"}  # Keras 2's optimizers, kept for old code


def _problem() -> tuple[dict, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    weights = {"kernel": rng.normal(size=(4, 3)).astype(np.float32),
               "bias": rng.normal(size=3).astype(np.float32)}  # fmt: skip
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.normal(size=(16, 3)).astype(np.float32)
    return weights, x, y


def _loss(weights, x, y, scale=1.0):
    return ((x @ weights["kernel"] + weights["bias"] - y) ** 2).mean() * scale


def _built(cls: str, kwargs: dict, module):
    """`module.<cls>(**kwargs)` (Keras's optimizers or ours), a ("Class",
    {...}) learning rate or inner optimizer built from the same module."""
    kwargs = dict(kwargs)
    rate = kwargs.get("learning_rate")
    if isinstance(rate, tuple):
        kwargs["learning_rate"] = getattr(module.schedules, rate[0])(**rate[1])
    if "inner_optimizer" in kwargs:
        kwargs["inner_optimizer"] = _built(*kwargs["inner_optimizer"], module)
    if "optimizer_map" in kwargs:
        spec = kwargs["optimizer_map"]
        by_path = {k: _built(*v, module) for k, v in spec["optimizer_map"].items()}
        default = _built(*spec["default_optimizer"], module)
        kwargs["optimizer_map"] = module.OptimizerMap(default, by_path)
    return getattr(module, cls)(**kwargs)


def _keras_stateless_steps(optimizer, variables, x, y):
    """Keras's steps through `stateless_apply`, the scale read from the
    optimizer's variables (Keras's JAX trainer does the same)."""
    import jax

    at = next(i for i, v in enumerate(optimizer.variables)
              if v is optimizer.dynamic_scale)  # fmt: skip
    state = [v.value for v in optimizer.variables]
    weights = [v.value for v in variables]
    for _ in range(STEPS):
        grads = jax.grad(_loss)(dict(zip(("kernel", "bias"), weights)), x, y,
                                state[at])  # fmt: skip
        weights, state = optimizer.stateless_apply(
            state, [grads["kernel"], grads["bias"]], weights
        )  # fmt: skip
    for variable, value in zip([*variables, *optimizer.variables], [*weights, *state]):
        variable.assign(value)


def _keras_side(path):
    import jax
    import keras

    out = {}
    start, x, y = _problem()
    for case, cls, kwargs in CASES:
        optimizer = _built(cls, kwargs, keras.optimizers)
        variables = [keras.Variable(start[k], name=k) for k in ("kernel", "bias")]
        optimizer.build(variables)
        if cls == "LossScaleOptimizer":  # its eager apply fails on JAX: stateless
            _keras_stateless_steps(optimizer, variables, x, y)
            out[f"{case}/scale"] = np.asarray(optimizer.dynamic_scale.value)
        else:
            for _ in range(STEPS):
                weights = {"kernel": variables[0].value, "bias": variables[1].value}
                grads = jax.grad(_loss)(weights, x, y, optimizer.scale_loss(1.0))
                optimizer.apply_gradients(
                    zip([grads["kernel"], grads["bias"]], variables)
                )  # fmt: skip
        out[f"{case}/kernel"] = np.asarray(variables[0].value)
        out[f"{case}/bias"] = np.asarray(variables[1].value)
        if optimizer.use_ema:
            average = optimizer._model_variables_moving_average
            out[f"{case}/ema/kernel"] = np.asarray(average[0].value)
            out[f"{case}/ema/bias"] = np.asarray(average[1].value)
    for i, (cls, kwargs) in enumerate(SCHEDULES):
        schedule = getattr(keras.optimizers.schedules, cls)(**kwargs)
        out[f"schedule{i}"] = np.array([float(schedule(s)) for s in range(30)])
    names = [n for n in dir(keras.optimizers) if not n.startswith("_")]
    out["names"] = np.array(json.dumps(names))
    out["schedule_names"] = np.array(
        json.dumps(
            [n for n in dir(keras.optimizers.schedules) if not n.startswith("_")]
        )
    )
    found = {n: getattr(keras.optimizers, n) for n in {c[1] for c in CASES}}
    found["OptimizerMap"] = keras.optimizers.OptimizerMap
    found.update({n: getattr(keras.optimizers.schedules, n) for n, _ in SCHEDULES})
    signatures = {n: keras_reference.signature_data(f) for n, f in found.items()}
    out["signatures"] = np.array(json.dumps(signatures))
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras_optimizers") / "numbers.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case, cls, kwargs", CASES, ids=[c[0] for c in CASES])
def test_ten_steps_match_keras(keras, case, cls, kwargs):
    import jax
    import optax

    weights, x, y = _problem()
    tx = _built(cls, kwargs, optimizers).transform()
    state = tx.init(weights)

    def update(w, s):
        scale = s.scale if isinstance(s, LossScaleState) else 1.0  # as the step
        return tx.update(jax.grad(_loss)(w, x, y, scale), s, w)

    update = jax.jit(update)
    for _ in range(STEPS):
        updates, state = update(weights, state)
        weights = optax.apply_updates(weights, updates)
    if cls == "LossScaleOptimizer":
        assert float(state.scale) == float(keras[f"{case}/scale"])
        assert float(state.scale) != kwargs["initial_scale"]
    ema = optimizers.ema_of(state)
    for key in ("kernel", "bias"):
        np.testing.assert_allclose(
            weights[key], keras[f"{case}/{key}"], rtol=1e-5, atol=1e-5, err_msg=case
        )
        if ema is not None:
            np.testing.assert_allclose(
                ema[key], keras[f"{case}/ema/{key}"], rtol=1e-5, atol=1e-5
            )
    assert (ema is not None) == (f"{case}/ema/kernel" in keras)


@pytest.mark.parametrize("index", range(len(SCHEDULES)))
def test_a_schedule_gives_keras_rates(keras, index):
    cls, kwargs = SCHEDULES[index]
    schedule = getattr(schedules, cls)(**kwargs)
    ours = [float(schedule(np.int32(s))) for s in range(30)]
    np.testing.assert_allclose(ours, keras[f"schedule{index}"], rtol=1e-5, atol=1e-7)


def test_keras_optimizer_and_schedule_names_are_here(keras):
    names = json.loads(str(keras["names"]))
    missing = [n for n in names if n not in NOT_OPTIMIZERS
               and not hasattr(optimizers, n)]  # fmt: skip
    assert not missing, f"keras.optimizers names missing here: {missing}"
    names = json.loads(str(keras["schedule_names"]))
    missing = [n for n in names if not hasattr(schedules, n)]
    assert not missing, f"keras.optimizers.schedules names missing here: {missing}"


@pytest.mark.parametrize(
    "name",
    sorted({c[1] for c in CASES} | {s[0] for s in SCHEDULES} | {"OptimizerMap"}),
)
def test_signature_matches_keras(keras, name):
    theirs = json.loads(str(keras["signatures"]))[name]
    ours = getattr(optimizers, name, None) or getattr(schedules, name)
    # The one deliberate difference: Keras's common keywords may be passed by
    # position there; here they are keyword-only (the same names and defaults;
    # the comparison reads names and defaults, not positions).
    keras_reference.assert_signature_matches_keras(ours, theirs)
