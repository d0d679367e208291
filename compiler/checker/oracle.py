"""Program -> Oracle: the formula's value and gradient by SymPy.

`gradc check` compares the generated module against this.  The oracle is
built from the resolved AST, not from the staged IR, and it keeps its own
map from gate names to SymPy on purpose: it says what each gate means in
mathematics, so a wrong snippet in the gate table cannot leak into it.  A
test asserts that the map covers every gate a formula can spell.

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
from dataclasses import dataclass
from typing import Callable

import mpmath
import sympy as sp

from compiler import gates
from compiler.errors import Span
from compiler.front.resolve import Program
from compiler.front.syntax import Apply, Expr, Number, fold

PRECISION = 40
"""Decimal digits the oracle starts with; float64 carries about 16."""
MAX_PRECISION = 1280
"""Digits the oracle may raise its precision to: 1 - σ(745) needs more
than 330, and float64's whole range spans about 630."""

# What each smooth gate means, from the mathematics.
SMOOTH: dict[str, Callable[..., sp.Expr]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "cdot": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "pow": lambda a, b: a**b,
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "atan2": sp.atan2,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "log1p": lambda a: sp.log(1 + a),
    "expm1": lambda a: sp.exp(a) - 1,
    "softplus": lambda a: sp.log(1 + sp.exp(a)),
}


@dataclass(frozen=True)
class Pieces:
    """A gate that is smooth piece by piece: `pieces(*args)` lists the
    pieces, `active(values)` picks the one in force at the operands' values."""

    pieces: Callable[..., tuple]
    active: Callable[[list[float]], int]
    tied: Callable[[list[float]], bool]
    """Whether the operands sit on the kink, where the pick is a convention."""


PIECEWISE: dict[str, Pieces] = {
    # At 0 the constant piece is in force: value 0, slope 0.
    "abs": Pieces(lambda a: (a, -a, sp.S.Zero),
                  lambda v: 0 if v[0] > 0 else 1 if v[0] < 0 else 2, lambda v: v[0] == 0),
    "relu": Pieces(lambda a: (a, sp.S.Zero), lambda v: 0 if v[0] > 0 else 1,
                   lambda v: v[0] == 0),
    # list.index finds the first of tied extrema.
    "max": Pieces(lambda *args: args, lambda v: v.index(max(v)),
                  lambda v: v.count(max(v)) > 1),
    "min": Pieces(lambda *args: args, lambda v: v.index(min(v)),
                  lambda v: v.count(min(v)) > 1),
}

CONSTANTS = {"e": sp.E, "pi": sp.pi, "π": sp.pi}


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
    value: sp.Expr
    switches: tuple[Switch, ...]
    """Inner before outer, so an outer switch's operands can be evaluated
    once the inner ones are chosen."""

    def gradient(self) -> tuple[sp.Expr, ...]:
        return tuple(sp.diff(self.value, symbol) for symbol in self.symbols)

    def compile(self, exprs) -> Callable:
        """`exprs` as one mpmath function of the inputs, then the selectors;
        common subexpressions are computed once, as a formula's stages are."""
        return sp.lambdify(self.symbols + self._selectors(), list(exprs),
                           modules="mpmath", cse=True)

    def evaluate(self, compiled: Callable, point, operand_values: dict[Span, list[float]],
                 chosen: dict[sp.Symbol, bool] | None = None):
        """The compiled expressions at `point`, each switch on its piece.

        `operand_values` holds the float64 operands of the module's own
        piecewise stages; a switch the module folded away or merged is
        decided from its operands evaluated here instead.  `chosen`, when
        given, is `choose`'s pick.  None when the expressions cannot be
        evaluated there."""
        if chosen is None:
            chosen = self.choose(point, operand_values)[0]
        flags = [chosen[selector] for selector in self._selectors()]
        return settled(lambda: compiled(*map(mpmath.mpf, point), *flags))

    def _selectors(self) -> tuple[sp.Symbol, ...]:
        return tuple(s for switch in self.switches for s in switch.selectors)

    def choose(self, point, operand_values) -> tuple[dict[sp.Symbol, bool], list[Switch]]:
        """The piece in force for every switch, and the switches on a kink."""
        at = {symbol: sp.Rational(value) for symbol, value in zip(self.symbols, point)}
        chosen: dict[sp.Symbol, bool] = {}
        tied = []
        for switch in self.switches:
            values = operand_values.get(switch.span)
            if values is None or len(values) != len(switch.args):
                flags = {s: sp.true if chosen[s] else sp.false for s in chosen}
                values = [_float(arg.xreplace({**flags, **at}).evalf(PRECISION))
                          for arg in switch.args]
            active = switch.rule.active(list(values))
            chosen.update((s, i == active) for i, s in enumerate(switch.selectors))
            if switch.rule.tied(list(values)):
                tied.append(switch)
        return chosen, tied


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


def build(program: Program) -> Oracle:
    symbols = tuple(sp.Symbol(name.id, real=True) for name in program.inputs)
    scope: dict[str, sp.Expr] = {name.id: s for name, s in zip(program.inputs, symbols)}
    scope.update((name, CONSTANTS[name]) for name in program.constants)
    switches: list[Switch] = []
    for binding in program.bindings:
        scope[binding.name] = _translate(binding.value, scope, switches)
    return Oracle(tuple(n.id for n in program.inputs), symbols,
                  scope[program.bindings[-1].name], tuple(switches))


def _translate(root: Expr, scope: dict, switches: list[Switch]) -> sp.Expr:
    """The SymPy expression of one binding; names come from `scope`."""
    def leaf(node):
        if isinstance(node, Number):
            return sp.Integer(int(node.value)) if node.integral else sp.Rational(node.value)
        return scope[node.id]

    return fold(root, leaf, lambda node, args: _apply(node, tuple(args), switches))


def gate_name(node: Apply) -> str:
    # Operators carry their gate's name; calls carry the spelling written.
    row = gates.lookup(node.func) if node.is_call else None
    return row.name if row is not None else node.func


def _apply(node: Apply, args: tuple, switches: list[Switch]) -> sp.Expr:
    name = gate_name(node)
    if name in SMOOTH:
        return SMOOTH[name](*args)
    if name not in PIECEWISE:
        raise LookupError(f"the oracle has no meaning for the gate '{name}'")
    return switch(name, node.span, args, switches)


def switch(name: str, span: Span, args: tuple, switches: list[Switch],
           selector: Callable[[str], sp.Symbol] = sp.Dummy) -> sp.Expr:
    """The piecewise gate `name` of these arguments, its Switch recorded;
    `selector` makes a selector symbol from a name."""
    rule = PIECEWISE[name]
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
