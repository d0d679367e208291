"""AdjointIR + a point -> Trace: every stage's value and gradient.

Runs the very lines the math target emits, one stage at a time, so that
tools which show or check a formula at a point (`explain`, `draw --at`,
`check`) see exactly what the generated module computes, and can name the
first stage whose value or gradient is not finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from compiler import gates
from compiler.passes.adjoint import AdjointIR, Block, Contribution, adjoint_name
from compiler.emit.stages import Local, local_gradient
from compiler.errors import GradcError
from compiler.inputs import parse_point, point_words
from compiler.gates.snippets import fill
from compiler.passes.stage import Ref, Stage

# The code run is gradc's own snippet text, with only the builtins it calls.
_GLOBALS = {"math": math, "__builtins__": gates.SNIPPET_BUILTINS}


@dataclass(frozen=True)
class Step:
    """One backward contribution: local gradient times upstream, at the point."""

    block: Block
    contribution: Contribution
    code: str
    """The local gradient's code, as the math target prints it."""
    local: float
    upstream: float
    product: float


@dataclass(frozen=True)
class Failure:
    stage: Stage
    phase: str
    """"forward" or "backward"."""
    message: str
    """What went wrong, with the values it went wrong at:
    `overflowed: xpy = 1e+200`."""
    contribution: Contribution | None = None
    """The backward contribution that failed."""

    def describe(self) -> str:
        """`stage xpysqr (1:32) overflowed: xpy = 1e+200`."""
        return f"stage {self.stage.name} ({self.stage.span}) {self.message}"


@dataclass
class Trace:
    values: dict[str, float] = field(default_factory=dict)
    adjoints: dict[str, float] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    failure: Failure | None = None


def given_point(formula, args) -> tuple[float, ...]:
    """The one point --at and --at-file give a formula of numbers."""
    words = point_words(formula.program, [" ".join(args.at)] if args.at else None,
                        args.at_file)
    if not words:
        raise GradcError("expected a point: --at NAME=VALUE ..., such as --at x=3 y=-4")
    return parse_point(words[0], tuple(n.id for n in formula.program.inputs))


def trace(adjoint_ir: AdjointIR, point: tuple[float, ...], seed: float = 1.0) -> Trace:
    staged = adjoint_ir.staged
    result = Trace(values=dict(zip(staged.inputs, map(float, point))))
    for stage in staged.stages:
        if not _run_forward(stage, result):
            return result
    result.adjoints[adjoint_name(staged.output)] = seed
    for block in adjoint_ir.blocks:
        for contribution in block.contributions:
            if not _run_backward(block, contribution, result):
                return result
    for name in adjoint_ir.zero:
        result.adjoints[adjoint_name(name)] = 0.0
    return result


def _values_text(names, values: dict[str, float]) -> str:
    return ", ".join(f"{name} = {values[name]!r}" for name in names)


def _operands_text(stage: Stage, values: dict[str, float]) -> str:
    return _values_text([op.name for op in stage.operands if isinstance(op, Ref)], values)


# How a failure is named.  Python raises for some overflows (`**`, math.exp)
# and returns inf for others (`*`, `+`); both are called an overflow.
_PROBLEMS = ((OverflowError, "overflowed"), (ZeroDivisionError, "divided by zero"),
             (ValueError, "has no real value"), (ArithmeticError, "failed"))


def _evaluate(code: str, values: dict[str, float]) -> tuple[float, str | None]:
    """The value of a snippet, and what went wrong when it is not finite."""
    try:
        value = eval(code, _GLOBALS, values)
    except (ArithmeticError, ValueError) as error:
        return math.nan, next(word for kind, word in _PROBLEMS if isinstance(error, kind))
    if isinstance(value, complex):  # a negative number to a fractional power
        return math.nan, "has no real value"
    value = float(value)
    if math.isinf(value):
        return value, "overflowed"
    return value, None if math.isfinite(value) else "is not a number"


def _run_forward(stage: Stage, result: Trace) -> bool:
    code = fill(stage.gate.forward, stage.gate, stage.operands, stage.constant)
    value, problem = _evaluate(code, result.values)
    if problem is not None:
        result.failure = Failure(stage, "forward",
                                 f"{problem}: {_operands_text(stage, result.values)}")
        return False
    result.values[stage.name] = value
    return True


def _run_backward(block: Block, contribution: Contribution, result: Trace) -> bool:
    upstream = result.adjoints[contribution.upstream]
    printed = local_gradient(contribution)
    local, problem = _evaluate(printed.code, result.values)
    product = local * upstream
    if problem is None and not math.isfinite(product):
        problem = "overflowed"
    if problem is not None:
        result.failure = Failure(block.stage, "backward",
                                 _backward_message(problem, contribution, printed, local,
                                                   upstream, result.values), contribution)
        return False
    target = adjoint_name(contribution.target)
    result.adjoints[target] = product if contribution.first else result.adjoints[target] + product
    result.steps.append(Step(block, contribution, printed.code, local, upstream, product))
    return True


def _backward_message(problem: str, contribution: Contribution, printed: Local,
                      local: float, upstream: float, values: dict[str, float]) -> str:
    """Names the local gradient that failed, or the product that overflowed."""
    head = f"{problem} in the backward pass, into {adjoint_name(contribution.target)}: "
    if not math.isfinite(local):
        shown = _values_text(printed.reads, values)
        return head + f"local gradient {printed.code} at {shown}"
    return head + (f"local gradient {printed.code} = {local!r} "
                   f"times {contribution.upstream} = {upstream!r}")
