"""A compiled formula at a point: every stage's value and every gradient
that flows back, for `gradc explain`, `gradc draw` and `gradc check`.

A file of numbers (`trace`) runs the very snippets the math target emits,
one stage at a time, and each backward contribution as the lecture writes
it: local gradient times upstream gradient.

A file that declares shapes (`module_trace`) runs the module's own lines
(emit/context.py's context), one at a time, in the module's own globals,
after its own input checks, at the first point `gradc check --seed S`
draws (inputs.py), so a number seen here can be found again in check's
report.  A backward line `dW = dW + h.T @ dhW2` is run as its term and its
sum, because a drawing needs each term, the gradient that flows back
along one wire, and the module never keeps it; `a + b` is the same sum
whichever way it is spelled, so the totals are still the module's.

Both stop at the first stage whose value or gradient is not finite, and
name it (`Failure`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from compiler import gates, inputs
from compiler.emit.stages import Local, local_gradient
from compiler.errors import GradcError
from compiler.gates.snippets import fill
from compiler.inputs import parse_point, point_words
from compiler.passes.adjoint import AdjointIR, Block, Contribution, adjoint_name
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


def takes_arrays(formula, args) -> bool:
    """True when the file declares shapes.  A file of numbers refuses the
    options that choose arrays, rather than ignoring them."""
    if not formula.shaped and (args.dims or args.seed is not None):
        raise GradcError("--dims and --seed choose an array formula's inputs, but this "
                         "formula declares no shapes: give the point with --at")
    return formula.shaped


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


# -- a file that declares shapes: the module's own lines -----------------------

@dataclass(frozen=True)
class Line:
    """One backward line of the module, at the point."""

    block: Block
    contribution: Contribution
    code: str
    """As the module writes it: `dW2 = dW2 + h.T @ dhW2`."""
    note: str
    """Its comment, the shapes that meet in it: `[H, N] @ [N, C] -> [H, C]`."""
    term: object
    """What this line adds: the gradient along one wire, in the operand's shape."""


@dataclass
class ModuleTrace:
    ir: AdjointIR
    sizes: dict[str, int]
    given: tuple[str, ...]
    seed: int
    upstream: object
    """A layer's random upstream gradient; None when the output is a number."""
    origin: str = "random"
    """"given" when --at or --at-file gave some of the inputs."""
    values: dict[str, object] = field(default_factory=dict)
    adjoints: dict[str, object] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    failure: Failure | None = None

    def shape(self, name: str) -> tuple:
        """A value's shape in the file's dimension names; a dimension is a number."""
        staged = self.ir.staged
        stages = {stage.name: stage.shape for stage in staged.stages}
        return stages.get(name, staged.declared.get(name, ()))


def module_trace(formula, dims=None, seed: int | None = None, at=None,
                at_file=None) -> ModuleTrace:
    """At the point `inputs.given` fixes, the rest drawn as check draws its
    first point with `seed`."""
    program = formula.program
    chosen = inputs.given(program, dims, at, at_file)
    sizes = chosen.sizes
    ir = formula.adjoint
    # Imported here: only a file that declares shapes runs the array module.
    import numpy as np

    from compiler.emit.context import context as module_context
    from compiler.emit.render import render
    from compiler.loader import module_from_source

    context = module_context(ir, "lecture", "numpy")
    module = module_from_source(render(context, "numpy"), "explained", "<gradc explain>")
    seed = 0 if seed is None else seed
    output = next(s.shape for s in ir.staged.stages if s.name == ir.staged.output)
    point = inputs.draw(module, program, sizes, random.Random(seed),
                        tuple(sizes.get(d, d) for d in output),
                        chosen.points[0] if chosen.points else None)
    result = ModuleTrace(ir, sizes, chosen.dims, seed, point.upstream, point.origin)
    scope = dict(zip(ir.staged.inputs, point.values))
    with np.errstate(all="ignore"):
        _run(context, _Module(module, scope), result)
    return result


class _Module:
    """The module's lines, run in its globals over a scope of its locals."""

    def __init__(self, module, scope: dict):
        self.globals, self.scope = vars(module), scope

    def run(self, line: str, name: str | None = None):
        exec(line, self.globals, self.scope)
        return None if name is None else self.scope[name]

    def value(self, code: str):
        return eval(code, self.globals, self.scope)


def _run(context, module: _Module, result: ModuleTrace) -> None:
    for line in context.bind_lines:
        module.run(line)
    result.values.update((name, module.scope[name]) for name in result.ir.staged.inputs)
    for stage, line in zip(result.ir.staged.stages, context.forward_lines):
        value = module.run(line, stage.name)
        if not _finite(value):
            result.failure = Failure(stage, "forward", _not_finite(value, ""))
            return
        result.values[stage.name] = value
    seed = adjoint_name(result.ir.staged.output)
    module.scope[seed] = result.adjoints[seed] = \
        1.0 if result.upstream is None else result.upstream
    blocks = [block for block in result.ir.blocks if block.contributions]
    for block, emitted, terms in zip(blocks, context.blocks, context.terms):
        for contribution, line, term in zip(block.contributions, emitted.lines, terms):
            if not _backward(module, block, contribution, line, term, result):
                return
    for line in context.zero_lines:
        name = line.partition(" = ")[0]
        result.adjoints[name] = module.run(line, name)


def _backward(module: _Module, block: Block, contribution: Contribution, line: str,
              printed: tuple[str, str], result: ModuleTrace) -> bool:
    """Runs one backward line as its term and its sum, so that the drawing
    has the gradient each wire carries; the module keeps only the sum."""
    code, note = line.rpartition("  # ")[0], printed[1]
    name = adjoint_name(contribution.target)
    term = module.value(printed[0])
    if not _finite(term):
        result.failure = Failure(block.stage, "backward", _not_finite(
            term, f" in the backward pass, into {name}"), contribution)
        return False
    total = term if contribution.first else module.scope[name] + term
    module.scope[name] = result.adjoints[name] = total
    result.lines.append(Line(block, contribution, code, note, term))
    return True


def _finite(value) -> bool:
    import numpy as np

    return bool(np.all(np.isfinite(value)))


def _not_finite(value, where: str) -> str:
    """`overflowed (2 of 3 entries)`, or `is not a number` where one is NaN."""
    import numpy as np

    kind = "is not a number" if np.any(np.isnan(value)) else "overflowed"
    bad = np.size(value) - int(np.sum(np.isfinite(value)))
    entries = "" if np.ndim(value) == 0 else f" ({bad} of {np.size(value)} entries)"
    return f"{kind}{where}{entries}"
