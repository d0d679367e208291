"""Build + module -> the points `gradc check` compares at, each with its trace.

A point is usable when the module's trace runs to the end with every value
and gradient finite (tools/trace.py), and the module's forward and backward
give a finite value and gradient there.  Points given with --at or
--at-file must be usable (otherwise the input is bad); anything not given
is drawn as `inputs.draw` draws it, again until usable, keeping the reason
for each redraw.  A number is an array of rank 0: it is drawn, traced and
run as an array is.

Also here: what the trace says about a point, namely which stages sit on a
kink (asked of each row's `kink_at`, run as the module's own code) and the
operands of the piecewise stages over numbers, on which the oracle picks
its pieces.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property

from compiler import inputs
from compiler.build import Build
from compiler.errors import Span
from compiler.gates.snippets import fill
from compiler.inputs import Point
from compiler.passes.adjoint import AdjointIR
from compiler.passes.stage import Ref, Stage
from compiler.tools.trace import Lines, Trace


@dataclass(frozen=True)
class Drawn:
    point: Point
    trace: Trace

    @cached_property
    def magnitude(self) -> float:
        """The largest number the forward pass holds (for a layer, with the
        upstream-weighted output): it rounds at that size."""
        point = self.point
        weighted = [] if point.upstream is None else [point.upstream * point.value]
        return largest([*self.trace.values.values(), *weighted])


def largest(values) -> float:
    """The largest magnitude of any entry of `values` (numbers or arrays)."""
    import numpy as np

    return max((abs(v) if type(v) is float else float(np.max(np.abs(np.asarray(v, dtype=float))))
                for v in values if type(v) is float or np.size(v)), default=0.0)


@dataclass(frozen=True)
class Setup:
    """What every point of one check shares."""

    formula: Build
    module: object
    sizes: dict[str, int]

    @cached_property
    def lines(self) -> Lines:
        return Lines(self.formula.adjoint, self.module)

    @property
    def program(self):
        return self.formula.program

    @property
    def staged(self):
        return self.formula.staged

    @property
    def names(self) -> tuple[str, ...]:
        """The inputs as the formula file writes them."""
        return tuple(n.id for n in self.program.inputs)

    @property
    def output_shape(self) -> tuple[int, ...]:
        staged = self.staged
        shape = next((s.shape for s in staged.stages if s.name == staged.output), ())
        return tuple(self.sizes.get(d, d) for d in shape)

    @property
    def returned(self) -> dict[int, int]:
        """Input index -> where backward returns its gradient (`--wrt` chooses)."""
        staged = self.staged
        return {staged.inputs.index(name): k for k, name in enumerate(staged.gradient_inputs)}

    def shape(self, index: int) -> tuple[int, ...]:
        return inputs.shape_of(self.program, self.names[index], self.sizes)


def choose_points(setup: Setup, given: tuple[dict, ...], count: int,
                  rng: random.Random) -> list[Drawn]:
    """The given points (each an {input: value}, the rest drawn), then
    `count` random ones."""
    last: dict = {}

    def usable(values, upstream) -> str:
        """Why the trace cannot run at a point, or '' when it runs to the end
        or finds the module's code wrong, which the comparison reports."""
        try:
            last["values"], last["trace"] = values, setup.lines.at(values, upstream)
        except Exception:  # noqa: BLE001 (the input checks': the module's run names it)
            return ""
        failure = last["trace"].failure
        if failure is None or failure.broken:
            return ""
        return f"stage {failure.stage.name} fails in the {failure.phase} pass: " \
               f"{failure.message}"

    drawn = []
    for fixed in [*given, *[{}] * count]:
        point = inputs.draw(setup.module, setup.program, setup.sizes, rng, setup.output_shape,
                            fixed, usable, setup.staged.output)
        # The trace of the point drawn was the last one `usable` ran.
        traced = last["trace"] if last.get("values") is point.values else \
            setup.lines.at(point.values, point.upstream)
        drawn.append(Drawn(point, traced))
    return drawn


def _live_stages(ir: AdjointIR):
    live = {block.stage.name for block in ir.blocks}
    return [stage for stage in ir.staged.stages if stage.name in live]


def _kink_globals():
    import numpy as np

    return {"np": np, "__builtins__": {}}


def _kink_condition(stage: Stage, test: str, values: dict) -> tuple[str, dict]:
    """The condition's code and the values it reads, each under a name of
    its own (`v0`, `v1`, `out`) rather than the file's: a value the file
    calls `np` would otherwise hide NumPy from the condition."""
    operands = [Ref(f"v{index}") if isinstance(op, Ref) else op
                for index, op in enumerate(stage.operands)]
    scope = {ref.name: values[op.name]
             for ref, op in zip(operands, stage.operands) if isinstance(op, Ref)}
    scope["out"] = values[stage.name]
    return fill(test, stage.gate, operands, stage.constant, out="out"), scope


def kinks_at(setup: Setup, result: Trace) -> tuple[tuple[str, ...], frozenset[str]]:
    """A message per stage that sits on its gate's kink at this point, and
    the inputs those stages depend on (by their names in the module)."""
    import numpy as np

    ir = setup.formula.adjoint
    found, affected = [], set()
    depends = _dependencies(ir)
    for stage in _live_stages(ir):
        test = stage.gate.kink_at
        if not test or stage.name not in result.values:  # a trace the code broke
            continue
        # The row's own condition, run as the module's code runs: on arrays,
        # it holds where any entry is on it.
        code, scope = _kink_condition(stage, test, result.values)
        with np.errstate(all="ignore"):
            on_kink = np.any(eval(code, _kink_globals(), scope))
        if on_kink:
            where, _, convention = stage.gate.kink.partition(": ")
            found.append(f"{where} at stage {stage.name}: {convention}")
            affected |= depends[stage.name]
    return tuple(found), frozenset(affected)


def _dependencies(ir: AdjointIR) -> dict[str, set[str]]:
    depends = {name: {name} for name in ir.staged.inputs}
    depends.update((name, set()) for name in ir.staged.dims)
    for stage in ir.staged.stages:
        depends[stage.name] = set().union(
            *(depends[op.name] for op in stage.operands if isinstance(op, Ref)))
    return depends


def _operands(stage: Stage, values: dict) -> list:
    return [values[op.name] if isinstance(op, Ref) else op.value for op in stage.operands]


def operand_values(ir: AdjointIR, result: Trace) -> dict[Span, list[float]]:
    """The float64 operands of every piecewise stage over numbers, by its
    source span.  Over arrays one span is many switches of the oracle, each
    decided from its own operands."""
    import numpy as np

    found = {}
    for stage in _live_stages(ir):
        operands = _operands(stage, result.values) \
            if stage.gate.kink is not None and stage.name in result.values else []
        if operands and all(np.ndim(value) == 0 for value in operands):
            found[stage.span] = [float(value) for value in operands]
    return found
