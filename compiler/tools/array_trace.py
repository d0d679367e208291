"""Array formula text + sizes and a seed -> ArrayTrace: every stage's value
and every backward line's contribution, for `gradc explain` and `gradc draw`.

The inputs are the first point `gradc check --seed S` draws (inputs.py):
the same sizes (`--dims`, else distinct small ones) and the same random
entries, so a number seen here can be found again in check's report.

The values are the module's: the lines `gradc compile` writes (emit/context.py's
context) run one at a time, in the module's own globals, after its own
input checks.  A backward line `dW = dW + h.T @ dhW2` is run as its term
and its sum, because a drawing needs each term, the gradient that flows
back along one wire, and the module never keeps it; `a + b` is the same
sum whichever way it is spelled, so the totals are still the module's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from compiler.emit.context import context as module_context
from compiler.passes.adjoint import AdjointIR, Block, Contribution, adjoint_name
from compiler import inputs
from compiler.errors import GradcError
from compiler.loader import module_from_source
from compiler.emit.render import render
from compiler.passes.stage import Stage


def is_array_run(formula, args) -> bool:
    """True when the file declares shapes.  A file of numbers refuses the
    options that choose arrays, rather than ignoring them."""
    if not formula.shaped and (args.dims or args.seed is not None):
        raise GradcError("--dims and --seed choose an array formula's inputs, but this "
                         "formula declares no shapes: give the point with --at")
    return formula.shaped


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


@dataclass(frozen=True)
class Failure:
    stage: Stage
    message: str

    def describe(self) -> str:
        return f"stage {self.stage.name} ({self.stage.span}) {self.message}"


@dataclass
class ArrayTrace:
    ir: AdjointIR
    sizes: dict[str, int]
    given: tuple[str, ...]
    seed: int
    upstream: np.ndarray | None
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


def array_trace(formula, dims=None, seed: int | None = None, at=None,
                at_file=None) -> ArrayTrace:
    """At the point `inputs.given` fixes, the rest drawn as check draws its
    first point with `seed`."""
    program = formula.program
    chosen = inputs.given(program, dims, at, at_file)
    sizes = chosen.sizes
    ir = formula.adjoint
    context = module_context(ir, "lecture", "numpy")
    module = module_from_source(render(context, "numpy"), "explained", "<gradc explain>")
    seed = 0 if seed is None else seed
    output = next(s.shape for s in ir.staged.stages if s.name == ir.staged.output)
    point = inputs.draw(module, program, sizes, random.Random(seed),
                        tuple(sizes.get(d, d) for d in output),
                        chosen.points[0] if chosen.points else None)
    result = ArrayTrace(ir, sizes, chosen.dims, seed, point.upstream, point.origin)
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


def _run(context, module: _Module, result: ArrayTrace) -> None:
    for line in context.bind_lines:
        module.run(line)
    result.values.update((name, module.scope[name]) for name in result.ir.staged.inputs)
    for stage, line in zip(result.ir.staged.stages, context.forward_lines):
        value = module.run(line, stage.name)
        if not _finite(value):
            result.failure = Failure(stage, _not_finite(value, ""))
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
              printed: tuple[str, str], result: ArrayTrace) -> bool:
    """Runs one backward line as its term and its sum, so that the drawing
    has the gradient each wire carries; the module keeps only the sum."""
    code, note = line.rpartition("  # ")[0], printed[1]
    name = adjoint_name(contribution.target)
    term = module.value(printed[0])
    if not _finite(term):
        result.failure = Failure(block.stage, _not_finite(
            term, f" in the backward pass, into {name}"))
        return False
    total = term if contribution.first else module.scope[name] + term
    module.scope[name] = result.adjoints[name] = total
    result.lines.append(Line(block, contribution, code, note, term))
    return True


def _finite(value) -> bool:
    return bool(np.all(np.isfinite(value)))


def _not_finite(value, where: str) -> str:
    """`overflowed (2 of 3 entries)`, or `is not a number` where one is NaN."""
    kind = "is not a number" if np.any(np.isnan(value)) else "overflowed"
    bad = np.size(value) - int(np.sum(np.isfinite(value)))
    entries = "" if np.ndim(value) == 0 else f" ({bad} of {np.size(value)} entries)"
    return f"{kind}{where}{entries}"
