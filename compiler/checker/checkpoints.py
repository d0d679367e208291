"""AdjointIR + module -> the points `gradc check` compares at.

A point is usable when the generated module gives a finite value and a
finite gradient there.  Points given with --at must be usable (otherwise the
input is bad); random points are drawn uniformly from [-3, 3], rounded to
three decimals so that the report shows them exactly, and redrawn until
they are usable, keeping the reason for each redraw.

Also here: what the staged values say about a point, namely which stages
sit on a kink (asked of each row's `kink_at`) and the operands of the
piecewise stages, on which the oracle picks its pieces.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from compiler.passes.adjoint import AdjointIR
from compiler.errors import GradcError, Span
from compiler.inputs import DRAW_RANGE, MAX_DRAWS, parse_point, uniform
from compiler.gates.snippets import fill
from compiler.passes.stage import Ref, Stage
from compiler.tools.trace import Lines, Trace



@dataclass(frozen=True)
class Drawn:
    point: tuple[float, ...]
    origin: str
    redraws: tuple[str, ...]
    trace: Trace
    generated: tuple[float, tuple[float, ...]]
    """What the module's grad() returned."""


class Probe:
    """Runs the generated module and its trace at a point."""

    def __init__(self, ir: AdjointIR, module, names: tuple[str, ...]):
        self.ir = ir
        self.module = module
        self.names = names
        """The inputs as the formula file writes them."""
        self.lines = Lines(ir, module)

    def forward(self, *point: float) -> float:
        return self.module.forward(*point)[0]

    def at(self, point: tuple[float, ...]):
        """(Trace, generated) at a usable point; otherwise why it is not."""
        try:
            result = self.lines.at(point)
        except TypeError:
            # Python's ** gives a complex number for a negative base and a
            # fractional exponent, and the trace cannot make a float of it.
            return "a power of a negative number has no real value there"
        if result.failure is not None:
            failure = result.failure
            return f"stage {failure.stage.name} fails in the {failure.phase} pass: " \
                   f"{failure.message}"
        try:
            value, gradient = self.module.grad(*point)
        except (ArithmeticError, ValueError, TypeError) as error:
            return f"the module raises {type(error).__name__}: {error}"
        numbers = (value, *gradient)
        if not all(isinstance(n, float) and math.isfinite(n) for n in numbers):
            return f"the module returns {value!r}, {gradient!r}"
        return result, (value, tuple(gradient))


def show_point(names, point) -> str:
    return " ".join(f"{name}={show_number(value)}" for name, value in zip(names, point))


def show_number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def choose_points(probe: Probe, given: list[list[str]], count: int,
                  rng: random.Random) -> list[Drawn]:
    chosen = []
    for words in given:
        point = parse_point(words, probe.names)
        outcome = probe.at(point)
        if isinstance(outcome, str):
            raise GradcError(f"expected a point where {probe.ir.staged.output} and its "
                             f"gradient are finite, but at {show_point(probe.names, point)}, "
                             f"{outcome}")
        chosen.append(Drawn(point, "given", (), *outcome))
    chosen.extend(_draw(probe, rng) for _ in range(count))
    return chosen


def _draw(probe: Probe, rng: random.Random) -> Drawn:
    redraws = []
    for _ in range(MAX_DRAWS):
        point = tuple(uniform(rng, ()) for _ in probe.names)
        outcome = probe.at(point)
        if not isinstance(outcome, str):
            return Drawn(point, "random", tuple(redraws), *outcome)
        redraws.append(f"at {show_point(probe.names, point)}: {outcome}")
    raise GradcError(f"found no point where {probe.ir.staged.output} and its gradient are "
                     f"finite in {MAX_DRAWS} random draws from [-{DRAW_RANGE:g}, "
                     f"{DRAW_RANGE:g}]: give one with --at")


def _live_stages(ir: AdjointIR):
    live = {block.stage.name for block in ir.blocks}
    return [stage for stage in ir.staged.stages if stage.name in live]


def _operands(stage: Stage, values: dict[str, float]) -> list[float]:
    return [values[op.name] if isinstance(op, Ref) else op.value for op in stage.operands]


def kinks_at(ir: AdjointIR, result: Trace) -> tuple[tuple[str, ...], frozenset[str]]:
    """A message per stage that sits on its gate's kink at this point, and
    the inputs those stages depend on (by their names in the module)."""
    found, affected = [], set()
    depends = _dependencies(ir)
    for stage in _live_stages(ir):
        test = stage.gate.kink_at
        code = test and fill(test, stage.gate, stage.operands, stage.constant, out=stage.name)
        # The code is the row's own condition filled with stage names.
        if code and eval(code, {"__builtins__": {}}, dict(result.values)):
            where, _, convention = stage.gate.kink.partition(": ")
            found.append(f"{where} at stage {stage.name}: {convention}")
            affected |= depends[stage.name]
    return tuple(found), frozenset(affected)


def _dependencies(ir: AdjointIR) -> dict[str, set[str]]:
    depends = {name: {name} for name in ir.staged.inputs}
    for stage in ir.staged.stages:
        depends[stage.name] = set().union(
            *(depends[op.name] for op in stage.operands if isinstance(op, Ref)))
    return depends


def operand_values(ir: AdjointIR, result: Trace) -> dict[Span, list[float]]:
    """The float64 operands of every piecewise stage, by its source span."""
    return {stage.span: _operands(stage, result.values)
            for stage in _live_stages(ir) if stage.gate.kink is not None}
