"""StatelessScope: explicit values in, assignments collected, nesting, jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from stateless import scope
from stateless.errors import ScopeError


def _moving_mean(x):
    """Stateful-style code: reads a variable, assigns its new value."""
    old = scope.read("bn/mean")
    scope.assign("bn/mean", 0.9 * old + 0.1 * x.mean(0))
    return x - old


def test_assignments_are_collected_and_nothing_else_changes():
    held = {"bn": {"mean": jnp.zeros(3)}}
    with sl.StatelessScope(held) as s:
        y = _moving_mean(jnp.ones((4, 3)))
        assert s.read("bn/mean").tolist() == pytest.approx(
            [0.1] * 3
        )  # reads see writes
    np.testing.assert_array_equal(y, jnp.ones((4, 3)))
    assert list(s.updates) == ["bn/mean"]
    assert held["bn"]["mean"].tolist() == [0.0, 0.0, 0.0]
    assert s.values["bn/mean"] is s.updates["bn/mean"]


def test_works_inside_jit_grad_and_vmap():
    def step(mean, x):
        with sl.StatelessScope({"bn/mean": mean}) as s:
            y = _moving_mean(x)
        return y.sum(), s.updates["bn/mean"]

    loss, new = jax.jit(step)(jnp.zeros(3), jnp.ones((4, 3)))
    assert float(loss) == 12.0 and new.tolist() == pytest.approx([0.1] * 3)
    grad = jax.grad(lambda m: step(m, jnp.ones((4, 3)))[0])(jnp.zeros(3))
    assert grad.tolist() == [-4.0, -4.0, -4.0]
    batched = jax.vmap(step, in_axes=(0, None))(jnp.zeros((5, 3)), jnp.ones((4, 3)))
    assert batched[1].shape == (5, 3)


def test_nested_scopes_read_outward_and_keep_writes_inside():
    with sl.StatelessScope({"w": 1.0, "b": 2.0}) as outer:
        with sl.StatelessScope({"w": 10.0}) as inner:
            assert (scope.read("w"), scope.read("b")) == (10.0, 2.0)
            scope.assign("b", 5.0)
            assert scope.read("b") == 5.0
        assert scope.current_scope() is outer
        assert scope.read("b") == 2.0
    assert inner.updates == {"b": 5.0} and outer.updates == {}
    assert scope.current_scope() is None
    assert "w" in inner and "b" in inner and "x" not in inner


def test_rng_gives_a_fresh_key_per_draw_and_inner_scopes_inherit_it():
    with sl.StatelessScope(rng=sl.random.key(0)) as s:
        a = s.next_key()
        with sl.StatelessScope({}) as inner:
            b = inner.next_key()
    assert not np.array_equal(a, b)
    with pytest.raises(ScopeError, match="holds an rng"):
        sl.StatelessScope().next_key()


def test_missing_names_and_misuse_give_clear_errors():
    with sl.StatelessScope({"dense": {"kernel": 1, "bias": 2}}) as s:
        with pytest.raises(
            ScopeError,
            match="no variable 'dense/kernal'. It holds: dense/bias, dense/kernel.",
        ):
            s.read("dense/kernal")
        with pytest.raises(ScopeError, match="already entered"):
            s.__enter__()
    with pytest.raises(ScopeError, match="needs an entered StatelessScope"):
        scope.read("w")


def test_path_helpers_round_trip():
    tree = {"a": {"b": 1, "c": {"d": 2}}, "e": 3}
    assert scope.unflatten_paths(scope.flatten_paths(tree)) == tree
