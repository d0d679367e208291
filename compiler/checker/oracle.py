"""Program + sizes -> Oracle: the formula's value and gradient by SymPy.

`gradc check` compares the generated module against this.  The oracle is
built from the resolved AST, not from the staged IR, with each gate's
meaning from mathematics (`meaning.py`), never from the gate table.  A
number is an array of rank 0: at the sizes the check runs with, every
entry of every input is a SymPy symbol of its own, a number input one
symbol.

An array output (a layer) is checked through its vector-Jacobian product:
the oracle's number is `sum(U * Z)` for an upstream `U` of the output's
shape, whose entries are symbols too, given their values at each point.
Its gradient with respect to the inputs is then the VJP the module's
`backward(cache, U)` must return.

Gates that are smooth only piece by piece (abs, relu, max, min) become a
`Piecewise` whose branches are chosen by selector symbols.  At a point the
branch in force is picked from the operands' float64 values, the values the
generated module itself branches on, and at a tie the pick follows gradc's
convention, written here independently of the table: the first of tied
arguments, and slope 0 for abs and relu at 0.  So SymPy differentiates
exactly the piece the module is on, and never needs Heaviside(0).

`time_budget` bounds SymPy's work, which grows quickly with formula size.
"""

from __future__ import annotations

import math
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable

import mpmath
import sympy as sp

from compiler.checker.meaning import (ARRAY, CONSTANTS, EXTREMA, PIECEWISE, REDUCTIONS, SMOOTH,
                                      TAKES_AXIS, Tensor, aligned, broadcast, matmul,
                                      onehot, reduction)
from compiler.errors import Span
from compiler.front.resolve import Program
from compiler.front.syntax import Apply, Expr, Keyword, Number, fold, follows_transpose, is_implicit

PRECISION = 40
"""Decimal digits the oracle starts with; float64 carries about 16."""
MAX_PRECISION = 1280
"""Digits the oracle may raise its precision to: 1 - σ(745) needs more
than 330, and float64's whole range spans about 630."""

class OutOfTime(BaseException):
    """SymPy did not finish within its time budget.  A BaseException, as
    KeyboardInterrupt is, so that SymPy's own `except Exception` blocks
    cannot swallow it and finish the work past its budget."""


@dataclass(frozen=True)
class Switch:
    """One piecewise gate of the formula, located by its call's span."""

    span: Span
    rule: Pieces
    args: tuple[sp.Expr, ...]
    selectors: tuple[sp.Symbol, ...]
    """One per piece but the last, which holds when no selector does."""


@dataclass(frozen=True)
class Oracle:
    inputs: tuple[str, ...]
    symbols: tuple[sp.Symbol, ...]
    """Every input entry, in INPUTS order and row-major (one for a number),
    then the upstream's entries."""
    value: sp.Expr
    """The output, or for a layer sum(U * Z)."""
    switches: tuple[Switch, ...]
    """Inner before outer, so an outer switch's operands can be evaluated
    once the inner ones are chosen."""
    entries: int = 0
    """How many of the symbols are input entries (the rest are upstream)."""
    output: Tensor = None

    def evaluate(self, compiled: Callable, point, chosen: dict[sp.Symbol, bool]):
        """The compiled expressions at `point`, each switch on the piece
        `chosen` picks (`choose`).  None when the expressions cannot be
        evaluated there."""
        flags = [chosen[selector] for selector in self._selectors()]
        return settled(lambda: compiled(*map(mpmath.mpf, point), *flags))

    def compile_entries(self) -> Callable:
        """One mpmath function of the symbols and the selectors that returns
        the output's entries, then the gradient by every input entry."""
        shared, gradient = differentiate(self.value, self.symbols[:self.entries])
        return sp.lambdify(self.symbols + self._selectors(),
                           list(self.output.entries + gradient), modules="mpmath",
                           cse=lambda exprs: (shared, exprs))

    def compile_directional(self, directed: list[bool]) -> Callable:
        """One mpmath function of the symbols, a tangent per directed input
        entry, then the selectors, that returns the gradient times the
        tangents, ∇f · v, then the gradient of ∇f · v by every symbol: by
        the input entries, the Hessian times v; by a layer's upstream
        entries, the output's derivative along v (the value being linear
        in the upstream)."""
        inputs = self.symbols[:self.entries]
        shared, gradient = differentiate(self.value, inputs)
        tangents = [sp.Symbol(f"_v{k}", real=True) for k in range(sum(directed))]
        along = iter(tangents)
        directional = sp.Add(*(g * next(along) for g, chosen in zip(gradient, directed)
                               if chosen))
        steps, second = reverse(shared, directional, self.symbols, "_e")
        return sp.lambdify(self.symbols + tuple(tangents) + self._selectors(),
                           [directional, *second], modules="mpmath",
                           cse=lambda exprs: (steps, exprs))

    def _selectors(self) -> tuple[sp.Symbol, ...]:
        return tuple(s for switch in self.switches for s in switch.selectors)

    def choose(self, point, operand_values: dict[Span, list[float]]) -> dict[sp.Symbol, bool]:
        """The piece in force for every switch at `point`.  `operand_values`
        holds the float64 operands of the module's own piecewise stages over
        numbers, by span; a switch the module folded away or merged, or one
        entry of an array's, is decided from its operands evaluated here."""
        at = {symbol: sp.Rational(value) for symbol, value in zip(self.symbols, point)}
        chosen: dict[sp.Symbol, bool] = {}
        for switch in self.switches:
            values = operand_values.get(switch.span)
            if values is None or len(values) != len(switch.args):
                flags = {s: sp.true if chosen[s] else sp.false for s in chosen}
                values = [_float(arg.xreplace({**flags, **at}).evalf(PRECISION))
                          for arg in switch.args]
            active = switch.rule.active(list(values))
            chosen.update((s, i == active) for i, s in enumerate(switch.selectors))
        return chosen


def settled(run: Callable[[], list]) -> list[float] | None:
    """`run()`'s results as floats, at a precision where they no longer
    change: from PRECISION digits up, doubled until two precisions give the
    same float64 numbers, or MAX_PRECISION is reached.  A result that
    cancels to nothing or has no real value at one precision may be a
    rounding artefact (1 - σ(-700) is 1 to 300 digits), so it settles only
    at MAX_PRECISION; an exact 0 (SymPy's own) settles at once.  None when
    the expressions raise even at MAX_PRECISION."""
    previous, digits = None, PRECISION
    while True:
        current = _run_at(run, digits)
        if digits >= MAX_PRECISION or (previous is not None and current is not None
                                       and _agree(previous, current)):
            return None if current is None else [_float(r) for r in current]
        previous, digits = current, min(2 * digits, MAX_PRECISION)


def _run_at(run: Callable[[], list], digits: int) -> list | None:
    with mpmath.workdps(digits):
        try:
            return list(run())
        except (ArithmeticError, ValueError):
            return None


def _agree(low: list, high: list) -> bool:
    return all(_exact_zero(a) and _exact_zero(b) or
               (_float(a) == _float(b) and _float(b) != 0.0)
               for a, b in zip(low, high))


def _exact_zero(result) -> bool:
    """SymPy's own 0, which lambdify prints as the integer 0."""
    return isinstance(result, int) and result == 0


def _float(result) -> float:
    """A real, finite number as a float; nan for anything else."""
    try:
        value = complex(result)
    except (TypeError, ValueError):
        return math.nan
    return value.real if value.imag == 0 and math.isfinite(value.real) else math.nan


def _extremum(name: str, a: Tensor, axis, node: Apply, switches, selector) -> Tensor:
    def combine(xs: list) -> sp.Expr:
        return switch(name, node.span, tuple(xs), switches, selector, REDUCTIONS[name])
    return reduction(combine)(a, axis)


def differentiate(value: sp.Expr, wanted) -> tuple[list, tuple]:
    """The derivative of `value` by each of `wanted`, over its common
    subexpressions: SymPy's `cse` shares them, `sp.diff` differentiates
    each once, and the chain rule sums the paths (from the value down).

    Differentiating the whole tree by every entry is quadratic and takes
    SymPy tens of seconds for a two-layer network at sizes 2..5; shared,
    it takes one.  Returns the subexpressions (the values', then the
    derivatives') and the derivatives over them."""
    shared, (root,) = sp.cse([value], symbols=_names("_c"))
    return reverse(shared, root, wanted)


def reverse(shared: list, root: sp.Expr, wanted, prefix: str = "_d") -> tuple[list, tuple]:
    """`differentiate` over subexpressions already shared: `root` and
    each of `shared`'s expressions may use the symbols of those listed
    before it.  The derivatives' subexpressions are named `prefix` and
    the symbol they differentiate by, so that a second pass over the
    first one's output (a prefix of its own) names nothing twice."""
    # A condition (a label's Eq, which cse may share) has no derivative:
    # nothing flows through it.
    known = set(wanted) | {symbol for symbol, expr in shared
                           if not isinstance(expr, sp.logic.boolalg.Boolean)}
    paths: dict[sp.Symbol, list] = {}

    def reach(expr, weight) -> None:
        for symbol in expr.free_symbols & known:
            paths.setdefault(symbol, []).append(weight * sp.diff(expr, symbol))

    reach(root, sp.S.One)
    steps = []
    # cse lists a subexpression after those it uses: reversed, every user
    # of a subexpression comes before it, so its paths are complete.
    for symbol, expr in reversed(shared):
        through = sp.Symbol(f"{prefix}{symbol.name}")
        steps.append((through, sp.Add(*paths.pop(symbol, ()))))
        if symbol in known:
            reach(expr, through)
    return shared + steps, tuple(sp.Add(*paths.get(s, ())) for s in wanted)


def _names(prefix: str):
    """Symbols `_c0`, `_c1`, ...: plain names that no formula's entries use,
    so that lambdify need not rename them (it would, for a Dummy, at a
    cost quadratic in the expression's size)."""
    count = 0
    while True:
        yield sp.Symbol(f"{prefix}{count}", real=True)
        count += 1


def build(program: Program, sizes: dict[str, int] | None = None) -> Oracle:
    """The oracle at these dimension sizes (by dimension name; none for a
    file of numbers)."""
    sizes = sizes or {}
    entries = _names("_x")
    scope: dict[str, Tensor] = {}
    symbols: list[sp.Symbol] = []
    for name in program.inputs:
        shape = tuple(sizes.get(d, d) for d in (program.shapes or {}).get(name.id, ()))
        scope[name.id] = Tensor.of(shape, lambda index: next(entries))
        if name.id in (program.labels or {}):
            count = program.labels[name.id]
            scope[name.id] = replace(scope[name.id], classes=sizes.get(count, count))
        symbols.extend(scope[name.id].entries)
    scope.update((n, Tensor.number(CONSTANTS[n])) for n in program.constants)
    scope.update((d, Tensor.number(sp.Integer(sizes[d]))) for d in program.dims)
    switches: list[Switch] = []
    selectors = _names("_s")
    for binding in program.bindings:
        scope[binding.name] = _translate(binding.value, scope, switches,
                                         lambda _: next(selectors), sizes, program)
    output = scope[program.bindings[-1].name]
    upstream = Tensor.of(output.shape, lambda index: next(entries)) if output.shape else None
    value = output.entries[0] if upstream is None else sp.Add(
        *(u * z for u, z in zip(upstream.entries, output.entries)))
    every = tuple(symbols) + (upstream.entries if upstream else ())
    return Oracle(tuple(n.id for n in program.inputs), every, value, tuple(switches),
                  len(symbols), output)


def _translate(root: Expr, scope: dict[str, Tensor], switches: list[Switch],
               selector, sizes: dict[str, int], program: Program) -> Tensor:
    def leaf(node) -> Tensor:
        if isinstance(node, Keyword):  # an axis: a number, or a dimension's size
            value = node.value
            return _Axis(int(value.value) if isinstance(value, Number) else None,
                         sizes.get(getattr(value, "id", None)))
        if isinstance(node, Number):
            return Tensor.number(sp.Integer(int(node.value)) if node.integral
                                 else sp.Rational(node.value))
        return scope[node.id]

    return fold(root, leaf, lambda node, args: _apply(program.gate_name(node), node,
                                                      tuple(args), switches, selector))


@dataclass(frozen=True)
class _Axis:
    index: int | None
    size: int | None
    """For an axis named by its dimension, that dimension's size."""

    def of(self, a: Tensor) -> int:
        return self.index if self.index is not None else a.shape.index(self.size)


def _apply(name: str, node: Apply, args: tuple[Tensor, ...], switches: list[Switch],
           selector) -> Tensor:
    axis = args[-1].of(args[0]) if args and isinstance(args[-1], _Axis) else None
    if axis is not None:
        args = args[:-1]
    if name == "onehot":
        return onehot(args[0], args[0].classes)
    if name in EXTREMA and len(args) == 1:
        return _extremum(name, args[0], axis, node, switches, selector)
    if axis is not None:
        return ARRAY[name](args[0], axis)
    if name == "mul" and is_implicit(node) and follows_transpose(node) \
            and args[0].shape and args[1].shape:
        return matmul(*args)
    if name in ARRAY:
        if name in TAKES_AXIS and len(args) == 2:
            return ARRAY[name](args[0], int(args[1].entries[0]))
        return ARRAY[name](*args)
    if name in SMOOTH:
        return broadcast(SMOOTH[name], aligned(args))
    if name in PIECEWISE:
        return broadcast(lambda *xs: switch(name, node.span, xs, switches, selector),
                         aligned(args))
    raise LookupError(f"the oracle has no meaning for the gate '{name}'")


def switch(name: str, span: Span, args: tuple, switches: list[Switch],
           selector: Callable[[str], sp.Symbol] = sp.Dummy, rule=None) -> sp.Expr:
    """The piecewise gate `name` of these arguments (by PIECEWISE's rule
    unless `rule` is given), its Switch recorded; `selector` makes a
    selector symbol from a name."""
    rule = rule or PIECEWISE[name]
    pieces = rule.pieces(*args)
    selectors = tuple(selector(f"{name}{i}") for i in range(len(pieces) - 1))
    switches.append(Switch(span, rule, args, selectors))
    return sp.Piecewise(*zip(pieces, selectors + (sp.true,)))


@contextmanager
def time_budget(seconds: float | None):
    """Raises OutOfTime in the block after `seconds` of wall time.

    The alarm signal is the only way to stop SymPy midway, and Python
    delivers signals to the main thread only; elsewhere the block runs
    without a budget.  A budget of 0 or less skips SymPy altogether."""
    if seconds is not None and seconds <= 0:
        raise OutOfTime
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
