"""`lower`: a pure JAX function, run on torch or TensorFlow tensors.

The function is traced once per input signature (tree structure, shapes,
dtypes) to a jaxpr, and the jaxpr is interpreted equation by equation with
the target backend's ops. Each target (`interop.torch.rules`,
`interop.tensorflow.rules`, found by name in `TARGETS`) supplies a
`Backend`: a table of rules, one per primitive name, and the few conversions
the interpreter needs. A rule is

    rule(ctx, *inputs, **eqn.params) -> output (or a list, for primitives
                                         with several results)

where `ctx` gives the equation itself (`ctx.eqn`, its `ctx.out_avals`),
`ctx.run(closed_jaxpr, *values)`, which interprets a sub-jaxpr (the body of
`jit`, `custom_jvp_call`, `scan`, `while`, `cond`...) with the same rules,
`ctx.constant(numpy_array)`, a backend tensor placed like the inputs, and
`ctx.device`.

Each jaxpr is prepared once per device into a plan: variables become slots,
each intermediate value is dropped after its last use, and, for a backend
whose tensors outlive a run (`Backend.cache_constants`), literals and captured
constants become tensors once and equations whose inputs are all constants
(an `iota`, a broadcast literal) are evaluated once. A backend run eagerly
(torch) also specializes its hottest rules to each equation's parameters
ahead of the runs (`Backend.specialize`) and joins common pairs of steps
(`Backend.fuse`: a convolution or matmul and its bias), so that a call costs
little more Python than the ops themselves.

Since every rule is made of the target's own differentiable ops, the lowered
forward graph is differentiable by torch autograd or `tf.GradientTape`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.extend import core as jcore

from interop.custom_rules import needs_rule


class LoweringError(NotImplementedError):
    """A primitive has no rule on the target backend.

    Example of code that raises it::

        interop.lower(fn_using_fft, x, backend="torch")(t)
        # LoweringError: lower(fn_using_fft) on torch: no rule for primitive 'fft'.
    """


@dataclasses.dataclass(frozen=True)
class Backend:
    """What the interpreter needs from a target framework.

    Attributes:
      name: `"torch"` or `"tensorflow"`.
      rules: primitive name -> rule (see the module docstring).
      constant: `(numpy array) -> tensor`, as a caller holds it (the
        interpreter `adopt`s it for literals and captured constants); with
        `device_of` set it is called as `constant(array, device)`.
      signature: `(tensor) -> (shape tuple, numpy dtype)`, read from an input.
      is_tensor: whether a value is already one of the backend's tensors.
      device_of: `(tensor) -> device`, where constants go (None: one place).
      adopt: `(tensor) -> tensor`, a caller's input in the rules' own
        representation (e.g. torch keeps uint32 in int64); None: as is.
      release: `(tensor, numpy dtype) -> tensor`, an output back in the
        caller's representation; None: as is.
      cache_constants: whether constants made once may serve every later run
        (true for eager tensors; false where each run builds a new graph).
        Only then are constant equations folded.
      inline: call primitive -> the parameter holding its body (`{"jit":
        "jaxpr"}`): bodies spliced into the caller's plan instead of run by
        a rule, which saves a call per use and lets constants fold across.
      specialize: primitive name -> `specialize(ctx, **params)`, called once
        per equation when its plan is made: a function of the inputs alone
        with the parameters' work done ahead, an `Alias` (the output is an
        input as it is), or None for the rule itself. It must compute what
        the rule computes.
      fuse: `(steps, uses, constants) -> steps`, run once per plan: may join
        steps into one (e.g. a convolution and the bias added to it) where
        the values between them have no other reader (`uses`: slot -> number
        of readers, plan outputs included; `constants`: slot -> value of the
        slots known before any run).
      fast_key: `(value) -> hashable`: for one of the backend's tensors, a
        key that fixes its signature, its device and what `adopt` does with
        it (e.g. `(shape, dtype, device)`); None for any other value. Lets
        repeated calls skip flattening specs and choosing an interpreter.
      eager: `(run) -> run`, made once per traced signature and device: how
        `run(*values) -> outputs` goes when a `Lowered` is called, for a
        backend whose ops are slow one by one (TensorFlow traces it once into
        a graph when called eagerly). None: as it is.
    """

    name: str
    rules: Mapping[str, Callable[..., Any]]
    constant: Callable[..., Any]
    signature: Callable[[Any], tuple[tuple[int, ...], np.dtype]]
    is_tensor: Callable[[Any], bool]
    device_of: Callable[[Any], Any] | None = None
    adopt: Callable[[Any], Any] | None = None
    release: Callable[[Any, np.dtype], Any] | None = None
    cache_constants: bool = False
    inline: Mapping[str, str] = dataclasses.field(default_factory=dict)
    specialize: Mapping[str, Callable[..., Any]] = dataclasses.field(
        default_factory=dict
    )
    fuse: Callable[..., list[Step]] | None = None
    fast_key: Callable[[Any], Any] | None = None
    eager: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None


@dataclasses.dataclass(frozen=True)
class RuleContext:
    """What a rule sees besides its inputs: the equation and a sub-jaxpr runner."""

    eqn: Any
    run: Callable[..., list[Any]]
    constant: Callable[[np.ndarray], Any] = np.asarray
    device: Any = None

    @property
    def out_avals(self) -> list[Any]:
        return [v.aval for v in self.eqn.outvars]


# The targets by name: the module whose `BACKEND` holds each one's rules. A
# target imports this loop, never the reverse: its module is imported on first
# use (and with it the framework), so the loop runs without either installed.
TARGETS: dict[str, str] = {
    "torch": "interop.torch.rules",
    "tensorflow": "interop.tensorflow.rules",
}


def backend_named(name: str) -> Backend:
    """The `Backend` of a target in `TARGETS` (importing that framework).

    Example:
      >>> backend_named("torch").name
      'torch'
    """
    if name not in TARGETS:
        raise ValueError(
            f"lower: unknown backend {name!r}; expected one of "
            f"{', '.join(map(repr, TARGETS))}."
        )
    return importlib.import_module(TARGETS[name]).BACKEND


def _no_rule(backend: Backend, fn_name: str, name: str) -> LoweringError:
    near = difflib.get_close_matches(name, backend.rules, n=3, cutoff=0.6)
    nearest = f" The nearest rules: {', '.join(near)}." if near else ""
    return LoweringError(
        f"lower({fn_name}) on {backend.name}: no rule for primitive {name!r}."
        f"{nearest}\nHint: compute that part in JAX outside the lowered "
        "function, or write it with other ops."
    )


def check_no_typed_key(leaf: Any, where: str) -> None:
    """Raises `LoweringError` for a typed PRNG key array (`jax.random.key`):
    targets hold no key type, only the raw key data.

    Example:
      >>> check_no_typed_key(jax.random.key(0), "lower(f)")
      Traceback (most recent call last):
      ...
      interop.lowering.LoweringError: lower(f): an argument is a typed PRNG key...
    """
    dtype = getattr(leaf, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        raise LoweringError(
            f"{where}: an argument is a typed PRNG key array ({dtype}), which "
            "torch and TensorFlow cannot hold.\nHint: pass its raw data, "
            "jax.random.key_data(key), and rebuild the key inside the function "
            "with jax.random.wrap_key_data(data); for a Flax NNX model, split "
            "the RNG state out first (nnx.split(model, nnx.RngState, ...))."
        )


@dataclasses.dataclass
class Step:
    """One step of a prepared plan: `fn(*env[ins])` gives `env[outs]` (a list
    of values when `multiple`). `eqn` is the equation it runs (for a step a
    backend's `fuse` made, the last of those it joined)."""

    fn: Callable[..., Any]
    ins: list[int]
    outs: list[int]
    eqn: Any
    multiple: bool = False

    @property
    def name(self) -> str:
        return self.eqn.primitive.name


@dataclasses.dataclass(frozen=True)
class Alias:
    """What a backend's `specialize` returns for an equation whose output is
    its input number `index` as it is (e.g. `x + 0.0`): no step is run."""

    index: int


def _generic(rule: Callable[..., Any], ctx: RuleContext, params: Any) -> Callable:
    if not params:
        return functools.partial(rule, ctx)
    return functools.partial(rule, ctx, **params)


class _Plan:
    """One jaxpr made ready to run on one device: slots instead of variables,
    the bodies of the backend's `inline` call primitives spliced in, each
    equation's rule bound to its parameters (or specialized by the backend),
    and the backend's fusions applied."""

    def __init__(self, closed: Any, interpreter: Interpreter):
        self.interpreter, self.backend = interpreter, interpreter.backend
        self.initial: list[Any] = []
        self.fresh: list[tuple[int, np.ndarray]] = []  # made anew at each run
        self.known: set[int] = set()  # slots whose value `initial` holds
        self.plan: list[Step] = []
        jaxpr = closed.jaxpr if isinstance(closed, jcore.ClosedJaxpr) else closed
        self.inputs = [self._new_slot() for _ in jaxpr.invars]
        self.outputs = self._emit(closed, self.inputs)
        self.constant = interpreter.constant
        if self.backend.fuse is not None:
            self.plan = self.backend.fuse(self.plan, self._uses(), self._known_values())
        self.steps = self._compile()

    def _new_slot(self, value: Any = None) -> int:
        self.initial.append(value)
        return len(self.initial) - 1

    def _constant_slot(self, value: Any) -> int:
        if self.backend.is_tensor(value):
            slot = self._new_slot(value)
        elif self.backend.cache_constants:
            slot = self._new_slot(self.interpreter.constant(np.asarray(value)))
        else:
            slot = self._new_slot()
            self.fresh.append((slot, np.asarray(value)))
            return slot
        self.known.add(slot)
        return slot

    def _emit(self, closed: Any, in_slots: list[int]) -> list[int]:
        """Adds the steps of `closed` reading `in_slots`; returns its output slots."""
        jaxpr = closed.jaxpr if isinstance(closed, jcore.ClosedJaxpr) else closed
        consts = closed.consts if isinstance(closed, jcore.ClosedJaxpr) else ()
        slots = dict(zip(jaxpr.invars, in_slots))
        for var, value in zip(jaxpr.constvars, consts):
            slots[var] = self._constant_slot(value)

        def ref(atom: Any) -> int:
            if isinstance(atom, jcore.Literal):
                return self._constant_slot(np.asarray(atom.val, atom.aval.dtype))
            return slots[atom]

        for eqn in jaxpr.eqns:
            ins = [ref(a) for a in eqn.invars]
            inline = self.backend.inline.get(eqn.primitive.name)
            if inline is not None and not needs_rule(eqn):
                outs = self._emit(eqn.params[inline], ins)
            else:
                outs = self._add_step(eqn, ins)
            for var, slot in zip(eqn.outvars, outs):
                slots[var] = slot
        return [ref(v) for v in jaxpr.outvars]

    def _add_step(self, eqn: Any, ins: list[int]) -> list[int]:
        """A step running `eqn`'s rule, or, when its inputs are all constants,
        its result computed now (for backends that cache constants); returns
        the output slots."""
        interpreter, name = self.interpreter, eqn.primitive.name
        rule = self.backend.rules.get(name)
        if rule is None:
            raise _no_rule(self.backend, interpreter.fn_name, name)
        ctx = RuleContext(
            eqn, interpreter.run, interpreter.constant, interpreter.device
        )
        multiple = eqn.primitive.multiple_results
        foldable = self.backend.cache_constants and not eqn.effects
        if foldable and all(i in self.known for i in ins):
            values = rule(ctx, *(self.initial[i] for i in ins), **eqn.params)
            outs = []
            for value in values if multiple else [values]:
                outs.append(self._new_slot(value))
                self.known.add(outs[-1])
            return outs
        specialize = self.backend.specialize.get(name)
        fn = specialize(ctx, **eqn.params) if specialize is not None else None
        if isinstance(fn, Alias):
            return [ins[fn.index]]
        if fn is None:
            fn = _generic(rule, ctx, eqn.params)
        outs = [self._new_slot() for _ in eqn.outvars]
        self.plan.append(Step(fn, ins, outs, eqn, multiple))
        return outs

    def _uses(self) -> dict[int, int]:
        """How many times each slot is read (by a step, or as an output)."""
        uses: dict[int, int] = {}
        for slot in [*(i for step in self.plan for i in step.ins), *self.outputs]:
            uses[slot] = uses.get(slot, 0) + 1
        return uses

    def _known_values(self) -> dict[int, Any]:
        return {slot: self.initial[slot] for slot in self.known}

    def _compile(self) -> list[tuple[Any, ...]]:
        """The plan as tuples for the run loop, each value dropped after its
        last use."""
        last: dict[int, int] = {}
        for n, step in enumerate(self.plan):
            for slot in step.ins:
                last[slot] = n
        keep = self.known | set(self.outputs)
        frees: list[list[int]] = [[] for _ in self.plan]
        for slot, n in last.items():
            if slot not in keep:
                frees[n].append(slot)
        return [
            (
                s.fn,
                tuple(s.ins),
                s.outs if s.multiple else s.outs[0],
                s.multiple,
                s.name,
                tuple(f),
            )
            for s, f in zip(self.plan, frees)
        ]

    def __call__(self, args: Sequence[Any], fn_name: str) -> list[Any]:
        env = self.initial.copy()
        for slot, array in self.fresh:
            env[slot] = self.constant(array)
        for slot, value in zip(self.inputs, args):
            env[slot] = value
        for fn, ins, out, multiple, name, frees in self.steps:
            try:
                result = fn(*[env[i] for i in ins])
            except LoweringError:
                raise
            except Exception as e:
                e.add_note(f"while running primitive {name!r} of lower({fn_name})")
                raise
            if multiple:
                for slot, value in zip(out, result):
                    env[slot] = value
            else:
                env[out] = result
            for slot in frees:
                env[slot] = None
        return [env[i] for i in self.outputs]


class Interpreter:
    """Runs jaxprs on one backend and device, preparing each jaxpr once.

    Args:
      backend: the target's `Backend`.
      fn_name: named in errors.
      device: where constants are placed (with `backend.device_of` set).
    """

    def __init__(self, backend: Backend, fn_name: str = "fn", device: Any = None):
        self.backend, self.fn_name, self.device = backend, fn_name, device
        self._plans: dict[int, tuple[Any, _Plan]] = {}

    def constant(self, array: np.ndarray) -> Any:
        """`array` as a tensor of the rules' representation, on the device."""
        backend = self.backend
        if backend.device_of is None:
            value = backend.constant(array)
        else:
            value = backend.constant(array, self.device)
        return backend.adopt(value) if backend.adopt else value

    def run(self, closed: Any, *args: Any) -> list[Any]:
        """Interprets `closed` (a `ClosedJaxpr`, or a `Jaxpr` without
        constants) on backend tensors `args`; returns the list of outputs."""
        entry = self._plans.get(id(closed))
        if entry is None:
            entry = self._plans[id(closed)] = (closed, _Plan(closed, self))
        return entry[1](args, self.fn_name)


def eval_jaxpr(
    closed: Any,
    args: Sequence[Any],
    backend: Backend,
    fn_name: str = "fn",
    device: Any = None,
) -> list[Any]:
    """Interprets `closed` (a `ClosedJaxpr`, or a `Jaxpr` without constants) on
    backend tensors `args`; returns the list of its outputs."""
    return Interpreter(backend, fn_name, device).run(closed, *args)


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """A call of a `Lowered` for one input signature, ready to run."""

    interpreter: Interpreter
    closed: Any
    finish: Callable[[list[Any]], Any]
    adopt_at: tuple[int, ...]  # the leaves `Backend.adopt` changes
    run: Callable[..., list[Any]]  # `interpreter.run(closed, *values)`, or
    # as `Backend.eager` wraps it


class Lowered:
    """A pure JAX function over one backend's tensors; see `lower`."""

    def __init__(self, fn: Callable[..., Any], backend: str):
        self.fn, self.backend = fn, backend_named(backend)
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self._cache: dict[Any, tuple[Any, Any]] = {}
        self._interpreters: dict[Any, Interpreter] = {}
        self._prepared: dict[Any, _Prepared] = {}
        self._runs: dict[tuple[int, Any], Callable[..., list[Any]]] = {}

    def trace(self, *args: Any) -> tuple[Any, Any]:
        """The `(closed jaxpr, output tree)` for arguments shaped like `args`
        (backend tensors, NumPy or JAX arrays), traced once per signature."""
        leaves, tree = jax.tree.flatten(args)
        return self._trace(tree, tuple(self._spec(leaf) for leaf in leaves))

    def _trace(self, tree: Any, specs: tuple[Any, ...]) -> tuple[Any, Any]:
        key = (tree, specs)
        if key not in self._cache:
            structs = [jax.ShapeDtypeStruct(s, d) for s, d in specs]
            closed, out_shape = jax.make_jaxpr(self.fn, return_shape=True)(
                *jax.tree.unflatten(tree, structs)
            )
            self._cache[key] = (closed, jax.tree.structure(out_shape))
        return self._cache[key]

    def _spec(self, leaf: Any) -> tuple[tuple[int, ...], np.dtype]:
        if self.backend.is_tensor(leaf):
            return self.backend.signature(leaf)
        check_no_typed_key(leaf, f"lower({self.name})")
        array = np.asarray(leaf)
        return tuple(array.shape), jax.dtypes.canonicalize_dtype(array.dtype)

    def interpreter(self, device: Any = None) -> Interpreter:
        """The interpreter (and its prepared plans) for one device."""
        if device not in self._interpreters:
            self._interpreters[device] = Interpreter(self.backend, self.name, device)
        return self._interpreters[device]

    def _lookup(self, leaves: list[Any], tree: Any) -> tuple[_Prepared, list[Any]]:
        """The prepared call for `leaves` (traced, its interpreter chosen, its
        output handling made), and the leaves as the rules take them. With
        `Backend.fast_key`, calls on tensors of a signature seen before skip
        straight to it."""
        backend, key = self.backend, None
        if backend.fast_key is not None:
            key = (tree, *map(backend.fast_key, leaves))
            entry = self._prepared.get(key)
            if entry is not None:
                if not entry.adopt_at:
                    return entry, leaves
                values = list(leaves)
                for i in entry.adopt_at:
                    values[i] = backend.adopt(values[i])
                return entry, values
        specs = tuple(self._spec(leaf) for leaf in leaves)
        closed, out_tree = self._trace(tree, specs)
        tensors = [leaf for leaf in leaves if backend.is_tensor(leaf)]
        device = None
        if backend.device_of is not None and tensors:
            device = backend.device_of(tensors[0])
        interpreter = self.interpreter(device)
        values = [
            (backend.adopt(leaf) if backend.adopt else leaf)
            if backend.is_tensor(leaf)
            else interpreter.constant(np.asarray(leaf, dtype))
            for leaf, (_, dtype) in zip(leaves, specs)
        ]
        release, avals = backend.release, closed.out_avals

        def finish(outs: list[Any]) -> Any:
            if release is not None:
                outs = [release(o, a.dtype) for o, a in zip(outs, avals)]
            return jax.tree.unflatten(out_tree, outs)

        adopt_at = tuple(
            i for i, (a, b) in enumerate(zip(leaves, values)) if a is not b
        )
        run = self._runs.get((id(closed), device))
        if run is None:
            run = functools.partial(interpreter.run, closed)
            if backend.eager is not None:
                run = backend.eager(run)
            self._runs[id(closed), device] = run
        entry = _Prepared(interpreter, closed, finish, adopt_at, run)
        if key is not None and None not in key[1:]:
            self._prepared[key] = entry
        return entry, values

    def prepare(self, *args: Any) -> tuple[Interpreter, Any, list[Any], Callable]:
        """`(interpreter, closed, values, finish)`: the call split in three, so
        that a tracer of the backend (e.g. `torch.compile`) can see the middle,
        `finish(interpreter.run(closed, *values))`, without JAX's pytrees.
        `values` are the flat inputs in the rules' representation."""
        entry, values = self._lookup(*jax.tree.flatten(args))
        return entry.interpreter, entry.closed, values, entry.finish

    def __call__(self, *args: Any) -> Any:
        entry, values = self._lookup(*jax.tree.flatten(args))
        return entry.finish(entry.run(*values))


def lower(fn: Callable[..., Any], *example_args: Any, backend: str) -> Lowered:
    """Returns `fn` as a callable over `backend`'s tensors.

    `fn` is any pure JAX function of arrays (pytrees of arrays in, pytrees out).
    It is traced to a jaxpr once per input signature and the jaxpr is run with
    the backend's ops, so gradients flow through torch autograd or
    `tf.GradientTape`.

    Args:
      fn: the pure function.
      *example_args: arguments shaped like the real ones (backend tensors,
        NumPy or JAX arrays); the first trace happens here, so an unsupported
        primitive is reported at once. None given: traced at the first call.
      backend: `"torch"` or `"tensorflow"`.

    Raises:
      LoweringError: a primitive has no rule on `backend`, naming it and `fn`.

    Example:
      >>> import torch, interop
      >>> double = interop.lower(lambda x: x * 2.0, np.ones(3, "float32"),
      ...                        backend="torch")
      >>> double(torch.ones(3))
      tensor([2., 2., 2.])
    """
    lowered = Lowered(fn, backend)
    if example_args:
        closed, _ = lowered.trace(*example_args)
        _check_rules(closed.jaxpr, lowered.backend, lowered.name)
    return lowered


def _check_rules(jaxpr: Any, backend: Backend, fn_name: str) -> None:
    """Raises `LoweringError` for the first primitive, at any depth, without a rule."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name not in backend.rules:
            raise _no_rule(backend, fn_name, eqn.primitive.name)
        for sub in jcore.jaxprs_in_params(eqn.params):
            _check_rules(sub, backend, fn_name)
