"""Every `get(identifier)` resolves names through one lookup: a misspelt name
gets the same error everywhere, naming the kind, the nearest names and the
valid ones."""

import pytest

from nn import activations, constraints, initializers, regularizers
from train import losses, metrics, optimizers


@pytest.mark.parametrize(
    "get, kind, typo, meant",
    [(losses.get, "loss", "huberr", "huber"),
     (metrics.get, "metric", "accurcy", "accuracy"),
     (optimizers.get, "optimizer", "adamm", "adam"),
     (initializers.get, "initializer", "he_normall", "he_normal"),
     (activations.get, "activation", "sigmod", "sigmoid"),
     (regularizers.get, "regularizer", "l1l2", "l1_l2"),
     (constraints.get, "constraint", "nonneg", "non_neg")],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
def test_a_misspelt_name_is_answered_alike_by_every_resolver(get, kind, typo, meant):
    with pytest.raises(ValueError) as info:
        get(typo)
    guess, valid = str(info.value).split(" Valid names: ")
    assert guess.startswith(f"unknown {kind} {typo!r}. Did you mean "), guess
    assert repr(meant) in guess
    assert meant in valid.rstrip(".").split(", ")
    assert get(meant) is not None
