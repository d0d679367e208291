"""A compiled formula at a point: every stage's value and every gradient
that flows back, for `gradc explain`, `gradc draw` and `gradc check`.

The trace runs the generated module's own lines (emit/context.py's
lecture-style context), one at a time, in the module's own globals, after
its own input checks: the math target's lines for a file of numbers, the
NumPy target's for a file that declares shapes.  A number is an array of
rank 0, and runs the same way.

A backward line `dW = dW + h.T @ dhW2` is run as its term and its sum,
because a drawing needs each term, the gradient that flows back along one
wire, and the module never keeps it; `a + b` is the same sum whichever way
it is spelled, so the totals are still the module's.  Where the operands
are numbers, a term is the lecture's local gradient times the upstream
gradient (`(1 - sigx) * sigx * dsigx`), and the local gradient is run on
its own too, for the lecture's tables.

`trace_drawn` runs the trace at the first point `gradc check --seed S`
draws (inputs.py), so that a number seen here can be found again in
check's report.

The trace stops at the first stage whose value or gradient is not finite,
and names it (`Failure`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from compiler import inputs
from compiler.emit.terms import Term
from compiler.errors import GradcError
from compiler.inputs import parse_point, point_words
from compiler.passes.adjoint import AdjointIR, Block, Contribution, adjoint_name
from compiler.passes.stage import Ref, Stage


@dataclass(frozen=True)
class Step:
    """One backward contribution at the point: the term one line adds."""

    block: Block
    contribution: Contribution
    line: str
    """As the module writes it: `dW2 = dW2 + h.T @ dhW2`."""
    note: str
    """The line's comment, the shapes that meet in it: `[H, N] @ [N, C] -> [H, C]`."""
    term: object
    """What the line adds: the gradient along one wire, in the operand's shape."""
    code: str = ""
    """Over numbers, the local gradient's code (`(1 - sigx) * sigx`) ..."""
    local: float | None = None
    """... its value ..."""
    upstream: float | None = None
    """... and the upstream gradient's: the term is their product."""


@dataclass(frozen=True)
class Failure:
    stage: Stage
    phase: str
    """"forward" or "backward"."""
    message: str
    """What went wrong, with the numbers it went wrong at:
    `overflowed: xpy = 1e+200`."""
    contribution: Contribution | None = None
    """The backward contribution that failed."""
    broken: bool = False
    """The line raised what no value explains (a shape that does not fit):
    the module's code is wrong, not the point."""

    def describe(self) -> str:
        """`stage xpysqr (1:32) overflowed: xpy = 1e+200`."""
        return f"stage {self.stage.name} ({self.stage.span}) {self.message}"


@dataclass
class Trace:
    ir: AdjointIR
    upstream: object = None
    """A layer's upstream gradient; None when the output is a number."""
    values: dict[str, object] = field(default_factory=dict)
    adjoints: dict[str, object] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    failure: Failure | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    given: tuple[str, ...] = ()
    """The dimensions whose sizes were given."""
    seed: int = 0
    origin: str = "given"
    """"random" when the inputs were drawn, "given" when --at or --at-file
    gave any of them."""

    def shape(self, name: str) -> tuple:
        """A value's shape in the file's dimension names; () for a number."""
        staged = self.ir.staged
        stages = {stage.name: stage.shape for stage in staged.stages}
        return stages.get(name, staged.declared.get(name, ()))


class Lines:
    """The module's lines, printed once, for tracing at any number of points."""

    def __init__(self, ir: AdjointIR, module=None):
        # Imported here: `gradc compile` shares the command line with the tools.
        from compiler.emit.context import context
        from compiler.emit.render import render
        from compiler.loader import module_from_source

        target = "numpy" if ir.staged.shaped else "math"
        self.ir = ir
        # Python's math raises where a value is not finite or not real; NumPy,
        # its warnings ignored, returns inf or nan instead, and raises only
        # for code that is wrong.
        self.raises = (ArithmeticError, ValueError) if target == "math" else ()
        self.compiled: dict = {}
        self.context = context(ir, "lecture", target, with_terms=True)
        self.module = module or module_from_source(render(self.context, target), "traced",
                                                   "<gradc trace>")

    def at(self, point, upstream=None) -> Trace:
        """The trace at `point` (a value per input, in INPUTS order); a
        layer's upstream gradient is `upstream`."""
        import numpy as np

        result = Trace(self.ir, upstream)
        scope = dict(zip(self.ir.staged.inputs, point))
        with np.errstate(all="ignore"):
            _run(self.context, _Scope(vars(self.module), scope, self.raises, self.compiled),
                 result)
        return result


def trace(ir: AdjointIR, point, upstream=None) -> Trace:
    """The trace at one point; see the module docstring."""
    return Lines(ir).at(point, upstream)


def given_point(formula, args) -> tuple[float, ...]:
    """The one point --at and --at-file give a formula of numbers."""
    words = point_words(formula.program, [" ".join(args.at)] if args.at else None,
                        args.at_file)
    if not words:
        raise GradcError("expected a point: --at NAME=VALUE ..., such as --at x=3 y=-4")
    return parse_point(words[0], tuple(n.id for n in formula.program.inputs))


def takes_arrays(formula, args) -> bool:
    """True when the file declares shapes.  A file of numbers refuses the
    options that choose arrays, rather than ignoring them."""
    if not formula.shaped and (args.dims or args.seed is not None):
        raise GradcError("--dims and --seed choose an array formula's inputs, but this "
                         "formula declares no shapes: give the point with --at")
    return formula.shaped


def trace_drawn(formula, dims=None, seed: int | None = None, at=None,
                at_file=None) -> Trace:
    """At the point `inputs.given` fixes, the rest drawn as check draws its
    first point with `seed`."""
    program = formula.program
    chosen = inputs.given(program, dims, at, at_file)
    lines = Lines(formula.adjoint)
    seed = 0 if seed is None else seed
    staged = formula.adjoint.staged
    output = next(s.shape for s in staged.stages if s.name == staged.output)
    point = inputs.draw(lines.module, program, chosen.sizes, random.Random(seed),
                        tuple(chosen.sizes.get(d, d) for d in output),
                        chosen.points[0] if chosen.points else None)
    result = lines.at(point.values, point.upstream)
    result.sizes, result.given, result.seed = chosen.sizes, chosen.dims, seed
    result.origin = point.origin
    return result


class _Scope:
    """The module's lines, run in its globals over a scope of its locals."""

    def __init__(self, globals_: dict, scope: dict, raises: tuple = (),
                 compiled: dict | None = None):
        self.globals, self.scope, self.raises = globals_, scope, raises
        self.compiled = {} if compiled is None else compiled
        """Each line's code object, compiled once for every point."""

    def _code(self, text: str, mode: str):
        code = self.compiled.get((text, mode))
        if code is None:
            code = self.compiled[text, mode] = compile(text, "<gradc trace>", mode)
        return code

    def run(self, line: str, name: str | None = None):
        exec(self._code(line, "exec"), self.globals, self.scope)
        return None if name is None else self.scope[name]

    def value(self, code: str):
        return eval(self._code(code, "eval"), self.globals, self.scope)


def _run(context, scope: _Scope, result: Trace) -> None:
    staged = result.ir.staged
    for line in context.bind_lines:
        scope.run(line)
    result.values.update((name, scope.scope[name]) for name in staged.inputs)
    for stage, line in zip(staged.stages, context.forward_lines):
        value, problem, broken = _attempt(lambda: scope.run(line, stage.name), scope.raises)
        if problem is not None:
            result.failure = Failure(stage, "forward",
                                     f"{problem}{_operands_text(stage, result.values)}",
                                     broken=broken)
            return
        result.values[stage.name] = value
    seed = adjoint_name(staged.output)
    scope.scope[seed] = result.adjoints[seed] = \
        1.0 if result.upstream is None else result.upstream
    for block, terms in zip(result.ir.blocks, context.backward_terms):
        for contribution, term in zip(block.contributions, terms):
            if not _backward(scope, block, contribution, term, result):
                return
    for line in context.zero_lines:
        name = line.partition(" = ")[0]
        result.adjoints[name] = scope.run(line, name)


def _backward(scope: _Scope, block: Block, contribution: Contribution, term: Term,
              result: Trace) -> bool:
    """Runs one backward line as its term and its sum, so that the drawing
    has the gradient each wire carries; the module keeps only the sum."""
    name = adjoint_name(contribution.target)
    local = None if term.local is None else \
        _attempt(lambda: scope.value(term.local.code), scope.raises)
    value, problem, broken = local if local and local[1] else \
        _attempt(lambda: scope.value(term.code), scope.raises)
    if problem is not None:
        result.failure = Failure(block.stage, "backward", _backward_message(
            problem, name, term, local and local[0], scope.scope), contribution, broken)
        return False
    total = value if contribution.first else scope.scope[name] + value
    scope.scope[name] = result.adjoints[name] = total
    code, _, note = term.line.partition("  # ")
    result.steps.append(Step(block, contribution, code, note, value,
                             *(() if local is None else
                               (term.local.code, float(local[0]),
                                float(scope.scope[term.upstream])))))
    return True


# How a failure is named.  Python raises for some overflows (`**`, math.exp)
# and returns inf for others (`*`, `+`); both are called an overflow.
_PROBLEMS = ((OverflowError, "overflowed"), (ZeroDivisionError, "divided by zero"),
             (ValueError, "has no real value"), (ArithmeticError, "failed"))


def _attempt(compute, raises: tuple) -> tuple[object, str | None, bool]:
    """A value the module computes, what went wrong when it is not finite
    (`overflowed`, or over arrays `overflowed (2 of 3 entries)`), and
    whether the code raised what `raises`, the target's errors for values,
    does not explain."""
    import numpy as np

    try:
        value = compute()
        if type(value) is float and math.isfinite(value):  # most of a file of numbers
            return value, None, False
    except raises as error:
        return math.nan, next(word for kind, word in _PROBLEMS if isinstance(error, kind)), False
    except Exception as error:  # noqa: BLE001 (any other error is the code's)
        return math.nan, f"raises {type(error).__name__}: {error}", True
    if np.iscomplexobj(value):  # a negative number to a fractional power
        return math.nan, "has no real value", False
    finite = np.isfinite(value)
    if np.all(finite):
        return value, None, False
    kind = "is not a number" if np.any(np.isnan(value)) else "overflowed"
    entries = "" if np.ndim(value) == 0 else \
        f" ({np.size(value) - int(np.sum(finite))} of {np.size(value)} entries)"
    return value, kind + entries, False


def _shown_values(names, values: dict) -> str:
    return ", ".join(f"{name} = {float(values[name])!r}" for name in names)


def _operands_text(stage: Stage, values: dict) -> str:
    """`: xpy = 1e+200`, the operands a failing stage read, where they are
    numbers; an array is too long to be shown in a line."""
    names = [op.name for op in stage.operands if isinstance(op, Ref)]
    if not names or any(_is_array(values[name]) for name in names):
        return ""
    return ": " + _shown_values(names, values)


def _is_array(value) -> bool:
    return hasattr(value, "shape") and value.shape != ()


def _backward_message(problem: str, name: str, term: Term, local, scope: dict) -> str:
    """Names the local gradient that failed, or the product that overflowed;
    over arrays, the gradient the line adds into."""
    if problem.startswith("raises "):
        return f"in the backward pass, into {name}, {problem}"
    kind, _, entries = problem.partition(" (")
    head = f"{kind} in the backward pass, into {name}"
    if term.local is None:
        return head + (f" ({entries}" if entries else "")
    if not _finite(local):
        return head + f": local gradient {term.local.code} at " \
                      f"{_shown_values(term.local.reads, scope)}"
    return head + (f": local gradient {term.local.code} = {float(local)!r} "
                   f"times {term.upstream} = {float(scope[term.upstream])!r}")


def _finite(value) -> bool:
    import numpy as np

    return bool(np.all(np.isfinite(value)))
