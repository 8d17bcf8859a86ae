"""`lower`: a pure JAX function, run on torch or TensorFlow tensors.

The function is traced once per input signature (tree structure, shapes,
dtypes) to a jaxpr, and the jaxpr is interpreted equation by equation with
the target backend's ops. Each backend module (`interop.torch_rules`,
`interop.tf_rules`) supplies a `Backend`: a table of rules, one per primitive
name, and the few conversions the interpreter needs. A rule is

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
(an `iota`, a broadcast literal) are evaluated once.

Since every rule is made of the target's own differentiable ops, the lowered
forward graph is differentiable by torch autograd or `tf.GradientTape`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.extend import core as jcore


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


def backend_named(name: str) -> Backend:
    """The `Backend` of `"torch"` or `"tensorflow"` (importing that framework).

    Example:
      >>> backend_named("torch").name
      'torch'
    """
    if name == "torch":
        from interop import torch_rules

        return torch_rules.BACKEND
    if name == "tensorflow":
        from interop import tf_rules

        return tf_rules.BACKEND
    raise ValueError(
        f"lower: unknown backend {name!r}; expected 'torch' or 'tensorflow'."
    )


def _no_rule(backend: Backend, fn_name: str, name: str) -> LoweringError:
    return LoweringError(
        f"lower({fn_name}) on {backend.name}: no rule for primitive {name!r}. "
        f"Rules exist for: {', '.join(sorted(backend.rules))}."
    )


class _Plan:
    """One jaxpr made ready to run on one device: slots instead of variables,
    the bodies of the backend's `inline` call primitives spliced in."""

    def __init__(self, closed: Any, interpreter: Interpreter):
        self.interpreter, self.backend = interpreter, interpreter.backend
        self.initial: list[Any] = []
        self.fresh: list[tuple[int, np.ndarray]] = []  # made anew at each run
        self.known: set[int] = set()  # slots whose value `initial` holds
        self.steps: list[tuple[Any, ...]] = []
        jaxpr = closed.jaxpr if isinstance(closed, jcore.ClosedJaxpr) else closed
        self.inputs = [self._new_slot() for _ in jaxpr.invars]
        self.outputs = self._emit(closed, self.inputs)
        self.constant = interpreter.constant
        self._free_after_last_use(self.known)

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
            if inline is not None:
                outs = self._emit(eqn.params[inline], ins)
                for var, slot in zip(eqn.outvars, outs):
                    slots[var] = slot
                continue
            for var in eqn.outvars:
                slots[var] = self._new_slot()
            self._add_step(eqn, ins, [slots[v] for v in eqn.outvars])
        return [ref(v) for v in jaxpr.outvars]

    def _add_step(self, eqn: Any, ins: list[int], outs: list[int]) -> None:
        """A step running `eqn`'s rule, or, when its inputs are all constants,
        its result computed now (for backends that cache constants)."""
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
            for slot, value in zip(outs, values if multiple else [values]):
                self.initial[slot] = value
                self.known.add(slot)
            return
        self.steps.append((rule, ctx, ins, outs, eqn.params, multiple, name))

    def _free_after_last_use(self, known: set[int]) -> None:
        last: dict[int, int] = {}
        for n, step in enumerate(self.steps):
            for slot in step[2]:
                last[slot] = n
        keep = known | set(self.outputs)
        frees: list[list[int]] = [[] for _ in self.steps]
        for slot, n in last.items():
            if slot not in keep:
                frees[n].append(slot)
        self.steps = [(*s, f) for s, f in zip(self.steps, frees)]

    def __call__(self, args: Sequence[Any], fn_name: str) -> list[Any]:
        env = list(self.initial)
        for slot, array in self.fresh:
            env[slot] = self.constant(array)
        for slot, value in zip(self.inputs, args):
            env[slot] = value
        for rule, ctx, ins, outs, params, multiple, name, frees in self.steps:
            try:
                result = rule(ctx, *[env[i] for i in ins], **params)
            except LoweringError:
                raise
            except Exception as e:
                e.add_note(f"while running primitive {name!r} of lower({fn_name})")
                raise
            if multiple:
                for slot, value in zip(outs, result):
                    env[slot] = value
            else:
                env[outs[0]] = result
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


class Lowered:
    """A pure JAX function over one backend's tensors; see `lower`."""

    def __init__(self, fn: Callable[..., Any], backend: str):
        self.fn, self.backend = fn, backend_named(backend)
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self._cache: dict[Any, tuple[Any, Any]] = {}
        self._interpreters: dict[Any, Interpreter] = {}

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
        array = np.asarray(leaf)
        return tuple(array.shape), jax.dtypes.canonicalize_dtype(array.dtype)

    def interpreter(self, device: Any = None) -> Interpreter:
        """The interpreter (and its prepared plans) for one device."""
        if device not in self._interpreters:
            self._interpreters[device] = Interpreter(self.backend, self.name, device)
        return self._interpreters[device]

    def prepare(self, *args: Any) -> tuple[Interpreter, Any, list[Any], Callable]:
        """`(interpreter, closed, values, finish)`: the call split in three, so
        that a tracer of the backend (e.g. `torch.compile`) can see the middle,
        `finish(interpreter.run(closed, *values))`, without JAX's pytrees.
        `values` are the flat inputs in the rules' representation."""
        backend = self.backend
        leaves, tree = jax.tree.flatten(args)
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

        def finish(outs: list[Any]) -> Any:
            if backend.release is not None:
                avals = closed.out_avals
                outs = [backend.release(o, a.dtype) for o, a in zip(outs, avals)]
            return jax.tree.unflatten(out_tree, outs)

        return interpreter, closed, values, finish

    def __call__(self, *args: Any) -> Any:
        interpreter, closed, values, finish = self.prepare(*args)
        return finish(interpreter.run(closed, *values))


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
