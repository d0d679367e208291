"""AdjointIR + a point -> a stage-by-stage table: `gradc explain`.

The forward table has one row per stage in forward order: its name, its
gate in math notation (the row's `notation`), where the source writes it,
and its value.  The backward table has one row per contribution in the
order the backward pass runs: the stage, the gradient it adds into, the
local gradient (code and value), the upstream gradient and their product,
which is what the lecture's tables show.  Numbers are exact reprs, so they
can be compared with the generated module's.

When a value or gradient is not finite, the tables stop at the first stage
where that happens and a last line names it with the values it saw.
Exit status: 0 when every value and gradient is finite, 1 when one is not,
2 on bad input (as every command).
"""

from __future__ import annotations

import os
import sys

from compiler.tools import array_explain
from compiler.tools import array_trace
from compiler.build import Build
from compiler.passes.adjoint import AdjointIR, adjoint_name
from compiler.gates.snippets import fill
from compiler.tools.trace import Trace, given_point, trace

FORWARD = ("stage", "gate", "at", "value")
BACKWARD = ("stage", "into", "local gradient", "local", "upstream", "product")
# ANSI colours, on a terminal only: values green and gradients red, as in
# the lecture's figures.
BOLD, GREEN, RED = "1", "32", "31"


def run(formula: Build, args) -> int:
    if array_trace.is_array_run(formula, args):
        return array_explain.run(formula, args)
    ir = formula.adjoint
    result = trace(ir, given_point(formula, args))
    sys.stdout.write(explanation(ir, result, colour=_wants_colour(sys.stdout)))
    return 0 if result.failure is None else 1


def _wants_colour(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def explanation(ir: AdjointIR, result: Trace, colour: bool = False) -> str:
    staged = ir.staged
    point = ", ".join(f"{name} = {result.values[name]!r}" for name in staged.inputs)
    lines = [f"forward at {point}", ""]
    lines += _table(FORWARD, _forward_rows(ir, result), {3: GREEN}, colour)
    failure = result.failure
    if failure is None or failure.phase == "backward":
        seed = adjoint_name(staged.output)
        lines += ["", f"backward from {seed} = {result.adjoints[seed]!r}", ""]
        lines += _table(BACKWARD, _backward_rows(result), {5: RED}, colour)
    if failure is not None:
        lines += ["", _paint(failure.describe(), RED, colour)]
    else:
        gradient = ", ".join(f"{adjoint_name(name)} = {result.adjoints[adjoint_name(name)]!r}"
                             for name in staged.gradient_inputs)
        lines += ["", f"{staged.output} = {result.values[staged.output]!r}",
                  f"gradient: {gradient}"]
    return "\n".join(lines) + "\n"


def _forward_rows(ir: AdjointIR, result: Trace) -> list[tuple[str, ...]]:
    return [(stage.name, fill(stage.gate.notation, stage.gate, stage.operands, stage.constant),
             str(stage.span), repr(result.values[stage.name]))
            for stage in ir.staged.stages if stage.name in result.values]


def _backward_rows(result: Trace) -> list[tuple[str, ...]]:
    rows = []
    for step in result.steps:
        contribution = step.contribution
        into = f"{adjoint_name(contribution.target)} {'=' if contribution.first else '+='}"
        rows.append((step.block.stage.name, into, step.code, repr(step.local),
                     f"{contribution.upstream} = {step.upstream!r}", repr(step.product)))
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], colours: dict[int, str],
           colour: bool) -> list[str]:
    """Left-aligned columns two spaces apart; colour goes on after padding,
    so escape codes never disturb the alignment."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    widths.append(0)  # the last column is not padded, so no line ends in spaces
    lines = [_paint(_line(header, widths), BOLD, colour)]
    for row in rows:
        cells = [_paint(cell.ljust(width), colours.get(i, ""), colour)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells))
    return lines


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths))


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour and code else text
