"""ArrayTrace -> text: `gradc explain` for a formula that declares shapes.

Three tables, then the output and the gradient.  The inputs: each one's
shape in the file's dimension names and its value.  The forward table: one
row per stage, its gate in math notation, where the file writes it, its
shape and its value.  The backward table: one row per line of the module's
backward pass, as the module writes it, with the shapes that meet in it
(the lecture's dimension analysis, `[H, N] @ [N, C] -> [H, C]`) and the
value it adds, the gradient that flows back along one wire.

A small array (SMALL entries or fewer) is shown entry by entry, a larger
one by its min, max and norm: enough to see a scale or a dead unit without
a wall of numbers.  Numbers have four significant digits, so that the text
is the same wherever NumPy's BLAS sums in another order; `gradc check`
compares the gradient in full.
"""

from __future__ import annotations

import sys

import numpy as np

from compiler.passes.adjoint import adjoint_name
from compiler.tools.array_trace import ArrayTrace, array_trace
from compiler.passes.shapes import shown
from compiler.gates.snippets import fill

SMALL = 6
DIGITS = ".4g"
INPUTS = ("input", "shape", "value")
FORWARD = ("stage", "gate", "at", "shape", "value")
BACKWARD = ("stage", "line", "shapes", "adds")


def run(formula, args) -> int:
    result = array_trace(formula, args.dims, args.seed, args.at, args.at_file)
    sys.stdout.write(explanation(result))
    return 0 if result.failure is None else 1


def explanation(result: ArrayTrace) -> str:
    lines = [*_heading(result), "", *_table(INPUTS, _input_rows(result)), "",
             "forward", "", *_table(FORWARD, _forward_rows(result))]
    if result.failure is None or result.failure.stage.name in result.values:
        lines += ["", _seed_line(result), "", *_table(BACKWARD, _backward_rows(result))]
    if result.failure is not None:
        return "\n".join(lines + ["", result.failure.describe()]) + "\n"
    return "\n".join(lines + ["", *_result_lines(result)]) + "\n"


def _heading(result: ArrayTrace):
    staged = result.ir.staged
    inputs = "random inputs" if result.origin == "random" else \
        "the given inputs (any others random)"
    yield f"{staged.output}({', '.join(staged.inputs)}) at {inputs}"
    given = [f"{name}={size}" for name, size in result.sizes.items() if name in result.given]
    chosen = [f"{name}={size}" for name, size in result.sizes.items()
              if name not in result.given]
    parts = ([f"{' '.join(given)} (given)"] if given else []) + \
        ([f"{' '.join(chosen)} (chosen; set with --dims)"] if chosen else [])
    if parts:
        yield f"dimensions: {', '.join(parts)}"
    yield (f"entries drawn from [-3, 3] with seed {result.seed}, as gradc check's first "
           f"point; numbers to {DIGITS[1]} significant digits")


def _input_rows(result: ArrayTrace):
    return [(name, shown(result.shape(name)), summary(result.values[name]))
            for name in result.ir.staged.inputs]


def _forward_rows(result: ArrayTrace):
    return [(stage.name, fill(stage.gate.notation, stage.gate, stage.operands, stage.constant),
             str(stage.span), shown(stage.shape), summary(result.values[stage.name]))
            for stage in result.ir.staged.stages if stage.name in result.values]


def _seed_line(result: ArrayTrace) -> str:
    output = result.ir.staged.output
    seed = adjoint_name(output)
    if result.upstream is None:
        return f"backward from {seed} = 1"
    return (f"backward from {seed}, a random upstream gradient of {output}'s shape "
            f"{shown(result.shape(output))} (seed {result.seed}): {summary(result.upstream)}; "
            f"the gradient is that of sum({seed} * {output})")


def _backward_rows(result: ArrayTrace):
    return [(line.block.stage.name, line.code, line.note, summary(line.term))
            for line in result.lines]


def _result_lines(result: ArrayTrace):
    staged = result.ir.staged
    yield f"{staged.output} = {summary(result.values[staged.output])}"
    yield "gradient:"
    rows = [(adjoint_name(name), shown(result.shape(name)),
             summary(result.adjoints[adjoint_name(name)]))
            for name in staged.gradient_inputs]
    yield from ("  " + line for line in _table(None, rows))


def summary(value) -> str:
    """Entries for a small array, else its min, max and (Euclidean) norm."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return _number(array)
    if array.size <= SMALL:
        return _entries(array)
    return (f"min {_number(array.min())}, max {_number(array.max())}, "
            f"norm {_number(np.linalg.norm(array))}")


def _entries(array: np.ndarray) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(map(_number, array)) + "]"
    return "[" + ", ".join(map(_entries, array)) + "]"


def _number(value) -> str:
    # -0.0 prints as 0: the sign of a zero gradient says nothing here.
    return format(float(value) + 0.0, DIGITS)


def _table(header, rows) -> list[str]:
    """Left-aligned columns two spaces apart; the last is not padded, so no
    line ends in spaces.  No header: rows alone."""
    every = ([header] if header else []) + list(rows)
    if not every:
        return []
    widths = [max(len(row[i]) for row in every) for i in range(len(every[0]) - 1)] + [0]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in every]
