"""A compiled formula at a point -> stage-by-stage tables: `gradc explain`.

The forward table has one row per stage in forward order: its name, its
gate in math notation (the row's `notation`), where the source writes it,
and its value.  The backward table has one row per contribution in the
order the backward pass runs.

For a file of numbers, a backward row shows the stage, the gradient it
adds into, the local gradient (code and value), the upstream gradient and
their product, which is what the lecture's tables show.  Numbers are exact
reprs, so they can be compared with the generated module's.

For a file that declares shapes, an inputs table comes first (each input's
shape in the file's dimension names, and its value), the forward table
adds each stage's shape, and a backward row is a line of the module's
backward pass as the module writes it, with the shapes that meet in it
(the lecture's dimension analysis, `[H, N] @ [N, C] -> [H, C]`) and the
value it adds, the gradient that flows back along one wire.  A small array
(SMALL entries or fewer) is shown entry by entry, a larger one by its min,
max and norm; numbers have four significant digits, so that the text is
the same wherever NumPy's BLAS sums in another order (`gradc check`
compares the gradient in full).

When a value or gradient is not finite, the tables stop at the first stage
where that happens and a last line names it with the values it saw.
Exit status: 0 when every value and gradient is finite, 1 when one is not,
2 on bad input (as every command).
"""

from __future__ import annotations

import os
import sys

from compiler.build import Build
from compiler.gates.snippets import fill
from compiler.inputs import dimensions_line
from compiler.passes.adjoint import AdjointIR, adjoint_name
from compiler.passes.shapes import shown
from compiler.tools.trace import Trace, given_point, takes_arrays, trace, trace_drawn

FORWARD = ("stage", "gate", "at", "value")
BACKWARD = ("stage", "into", "local gradient", "local", "upstream", "product")
SMALL = 6
DIGITS = ".4g"
INPUTS = ("input", "shape", "value")
SHAPED_FORWARD = ("stage", "gate", "at", "shape", "value")
LINES = ("stage", "line", "shapes", "adds")
# ANSI colours, on a terminal only: values green and gradients red, as in
# the lecture's figures.
BOLD, GREEN, RED = "1", "32", "31"


def run(formula: Build, args) -> int:
    colour = _wants_colour(sys.stdout)
    if takes_arrays(formula, args):
        result = trace_drawn(formula, args.dims, args.seed, args.at, args.at_file)
        text = shaped_explanation(result, colour)
    else:
        result = trace(formula.adjoint, given_point(formula, args))
        text = explanation(formula.adjoint, result, colour)
    sys.stdout.write(text)
    return 0 if result.failure is None else 1


def _wants_colour(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


# -- a file of numbers -----------------------------------------------------------

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
                     f"{contribution.upstream} = {step.upstream!r}", repr(step.term)))
    return rows



# -- a file that declares shapes -------------------------------------------------

def shaped_explanation(result: Trace, colour: bool = False) -> str:
    lines = [*_heading(result), "", *_table(INPUTS, _input_rows(result), {2: GREEN}, colour),
             "", "forward", "",
             *_table(SHAPED_FORWARD, _shaped_forward_rows(result), {4: GREEN}, colour)]
    if result.failure is None or result.failure.stage.name in result.values:
        lines += ["", _seed_line(result), "",
                  *_table(LINES, _line_rows(result), {3: RED}, colour)]
    if result.failure is not None:
        return "\n".join(lines + ["", _paint(result.failure.describe(), RED, colour)]) + "\n"
    return "\n".join(lines + ["", *_result_lines(result)]) + "\n"


def _heading(result: Trace):
    staged = result.ir.staged
    inputs = "random inputs" if result.origin == "random" else \
        "the given inputs (any others random)"
    yield f"{staged.output}({', '.join(staged.inputs)}) at {inputs}"
    if result.sizes:
        yield dimensions_line(result.sizes, result.given)
    yield (f"entries drawn from [-3, 3] with seed {result.seed}, as gradc check's first "
           f"point; numbers to {DIGITS[1]} significant digits")


def _input_rows(result: Trace):
    return [(name, shown(result.shape(name)), summary(result.values[name]))
            for name in result.ir.staged.inputs]


def _shaped_forward_rows(result: Trace):
    return [(stage.name, fill(stage.gate.notation, stage.gate, stage.operands, stage.constant),
             str(stage.span), shown(stage.shape), summary(result.values[stage.name]))
            for stage in result.ir.staged.stages if stage.name in result.values]


def _seed_line(result: Trace) -> str:
    output = result.ir.staged.output
    seed = adjoint_name(output)
    if result.upstream is None:
        return f"backward from {seed} = 1"
    return (f"backward from {seed}, a random upstream gradient of {output}'s shape "
            f"{shown(result.shape(output))} (seed {result.seed}): {summary(result.upstream)}; "
            f"the gradient is that of sum({seed} * {output})")


def _line_rows(result: Trace):
    return [(step.block.stage.name, step.line, step.note, summary(step.term))
            for step in result.steps]


def _result_lines(result: Trace):
    staged = result.ir.staged
    yield f"{staged.output} = {summary(result.values[staged.output])}"
    yield "gradient:"
    rows = [(adjoint_name(name), shown(result.shape(name)),
             summary(result.adjoints[adjoint_name(name)]))
            for name in staged.gradient_inputs]
    yield from ("  " + line for line in _table(None, rows, {}, False))


def summary(value) -> str:
    """Entries for a small array, else its min, max and (Euclidean) norm."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return _number(array)
    if array.size <= SMALL:
        return _entries(array)
    return (f"min {_number(array.min())}, max {_number(array.max())}, "
            f"norm {_number(np.linalg.norm(array))}")


def _entries(array) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(map(_number, array)) + "]"
    return "[" + ", ".join(map(_entries, array)) + "]"


def _number(value) -> str:
    # -0.0 prints as 0: the sign of a zero gradient says nothing here.
    return format(float(value) + 0.0, DIGITS)


# -- both ---------------------------------------------------------------------

def _table(header: tuple[str, ...] | None, rows: list[tuple[str, ...]],
           colours: dict[int, str], colour: bool) -> list[str]:
    """Left-aligned columns two spaces apart, no header when it is None;
    the last column is not padded, so no line ends in spaces.  Colour goes
    on after padding, so escape codes never disturb the alignment."""
    every = ([header] if header else []) + list(rows)
    if not every:
        return []
    widths = [max(len(row[i]) for row in every) for i in range(len(every[0]) - 1)] + [0]
    lines = [_paint(_line(header, widths), BOLD, colour)] if header else []
    for row in rows:
        if not colour:
            lines.append(_line(row, widths))
            continue
        lines.append("  ".join(_paint(cell.ljust(width), colours.get(i, ""), colour)
                               for i, (cell, width) in enumerate(zip(row, widths))))
    return lines


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour and code else text
