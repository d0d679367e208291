"""Formula + points -> CheckReport: is the generated gradient right?

`check` compiles a formula in memory and compares, at each point, every
entry of the generated module's value and of every input's gradient with
SymPy's (`oracle.py`, one symbol per entry) and the gradient with central
differences of the module's own forward pass (compare.py).  A number is
an array of rank 0: one entry, one symbol, and no upstream.

    text -> Program -> Oracle (SymPy)                               \\
         -> AdjointIR -> module, Trace at each point (checkpoints.py) -> Rows -> CheckReport

The module is the one `gradc compile` writes by default: the math target's
for a file of numbers, NumPy's for a file that declares shapes.

A layer (an array output Z) is checked through a random upstream U, drawn
with each point: the module's `backward(cache, U)` must be the gradient of
sum(U * Z), and its value must match SymPy entry by entry.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

from compiler import inputs
from compiler.build import Build, build, read
from compiler.checker import ATOL, RTOL, SYMPY_TIMEOUT
from compiler.checker.checkpoints import Drawn, Setup, choose_points, kinks_at, operand_values
from compiler.checker.compare import (FD_DIRECTIONS, FD_ENTRIES, NO_REAL, Judging, gradient_row,
                                      value_row)
from compiler.checker.records import CheckReport, PointReport
from compiler.errors import GradcError
from compiler.loader import module_from_source
from compiler.passes.optimize import Passes

RANDOM_POINTS = 3


def check(formula, at=None, points: int | None = None, *, seed: int = 0,
          rtol: float = RTOL, atol: float = ATOL,
          sympy_timeout: float | None = SYMPY_TIMEOUT, dims=None, at_file=None,
          passes: Passes = Passes(), second_order: tuple[str, ...] = ()) -> CheckReport:
    """Check a formula's generated gradient; see the module docstring.

    `formula` is a Build, a file's path or formula text (compiled with
    `passes`, the switches `gradc compile` takes).  `at` is one point (a
    mapping such as {"x": 3, "y": -4}, or the words "x=3 y=-4") or a list
    of them; `at_file` a NumPy .npz file of inputs by name; what they leave
    out is drawn.  `points` random points are added (by default 3 when no
    point is given, else none), drawn with `seed`.  `dims` gives the sizes
    of a file that declares shapes (a mapping, or the words "N=4 D=3"); the
    others are chosen.  `second_order` ("jvp", "hvp": what `gradc check
    --hvp` asks) checks the module's jvp, hvp and hessian too
    (second_order.py), unless `formula` is a Build, which says.
    """
    if not isinstance(formula, Build):
        formula = _read(formula, passes, second_order)
    chosen = inputs.given(formula.program, dims, at, at_file)
    module = module_from_source(formula.module(), "checked", "<gradc check>")
    setup = Setup(formula, module, chosen.sizes)
    rng = random.Random(seed)
    drawn = choose_points(setup, chosen.points, _count(points, chosen), rng)
    status, exact = sympy_budget(sympy_timeout, lambda: _sympy(setup, drawn), len(drawn))
    directions = sum(math.prod(setup.shape(k)) for k in range(len(setup.names))) > FD_ENTRIES
    reports = tuple(_compare(setup, d, e, Judging(directions, rng, rtol, atol,
                                                  without_sympy(status)))
                    for d, e in zip(drawn, exact))
    if formula.second_order:
        from compiler.checker.second_order import second_order_reports

        reports, second = second_order_reports(setup, drawn, reports, seed, rtol, atol,
                                               sympy_timeout)
        status = status if status != "used" else second
    return _report(setup, chosen, reports, status, rtol, atol, seed, directions)


def _count(points: int | None, chosen: inputs.Given) -> int:
    """How many random points to draw: by default 3 when none is given."""
    count = points if points is not None else (0 if chosen.points else RANDOM_POINTS)
    if not count and not chosen.points:
        raise GradcError("expected at least one point: give one with --at, or --points N")
    return count


def _report(setup: Setup, chosen, reports, status: str, rtol, atol, seed: int,
            directions: bool) -> CheckReport:
    program = setup.program
    return CheckReport(
        setup.formula.label, setup.staged.output, setup.names, reports, status, rtol, atol,
        seed, dims=tuple(setup.sizes.items()), given=chosen.dims,
        shapes=tuple((n, tuple((program.shapes or {}).get(n, ()))) for n in setup.names),
        output_shape=next(s.shape for s in setup.staged.stages
                          if s.name == setup.staged.output) if setup.staged.stages else (),
        differences=f"{FD_DIRECTIONS} random directions per input (more than "
                    f"{FD_ENTRIES} entries)" if directions else "every entry")


def _read(path_or_source, passes: Passes, second_order: tuple[str, ...] = ()) -> Build:
    if isinstance(path_or_source, os.PathLike) or _looks_like_path(path_or_source):
        return read(path_or_source, passes, second_order)
    return build(path_or_source, passes, second_order=second_order)


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and (Path(text).suffix in (".txt", ".grad") or Path(text).is_file())


# -- SymPy ---------------------------------------------------------------------

def _sympy(setup: Setup, drawn: list[Drawn]) -> list:
    """For each point: the output's entries and the gradient's, by SymPy."""
    # Imported here: SymPy takes half a second to import, and `gradc
    # compile` shares the command line with `check`.
    from compiler.checker import oracle as oracles

    oracle = oracles.build(setup.program, setup.sizes)
    compiled = oracle.compile_entries()
    size = len(oracle.output.entries)
    results = []
    for d in drawn:
        chosen = oracle.choose(flat(d.point), operand_values(setup.formula.adjoint, d.trace))
        numbers = oracle.evaluate(compiled, flat(d.point), chosen)
        results.append(None if numbers is None else (numbers[:size], numbers[size:]))
    return results


def flat(point: inputs.Point) -> list[float]:
    """The point's entries in the oracle's order: the inputs', then a
    layer's upstream's."""
    import numpy as np

    values = [*point.values, *([] if point.upstream is None else [point.upstream])]
    return [float(v) for value in values for v in np.ravel(value)]


def sympy_budget(seconds, work, count: int):
    """("used", work()) when SymPy's `work` finishes within `seconds`;
    otherwise why not, and `count` Nones."""
    from compiler.checker import oracle

    try:
        with oracle.time_budget(seconds):
            return "used", work()
    except oracle.OutOfTime:
        return f"skipped: it took longer than {seconds:g} s", [None] * count
    except RecursionError:
        return "skipped: the formula is nested too deeply for it", [None] * count


def without_sympy(status: str) -> str:
    """Why a quantity has no SymPy number, given how SymPy was used."""
    return NO_REAL if status == "used" else f"SymPy was {status}"


# -- one point -------------------------------------------------------------------

def _compare(setup: Setup, drawn: Drawn, exact, how: Judging) -> PointReport:
    kinks, affected = kinks_at(setup, drawn.trace)
    outputs, gradient = exact if exact else (None, None)
    rows = [value_row(setup, drawn, outputs, how)]
    inputs_order = setup.staged.inputs
    counts = [math.prod(setup.shape(index)) for index in range(len(inputs_order))]
    # A row per differentiated input, in the order backward returns them.
    for python_name in setup.staged.gradient_inputs:
        index = inputs_order.index(python_name)
        start = sum(counts[:index])
        sympy = gradient[start:start + counts[index]] if gradient else [None] * counts[index]
        rows.append(gradient_row(setup, drawn, index, sympy, python_name in affected, how))
    point = drawn.point
    return PointReport(tuple(zip(setup.names, point.values)), point.origin, point.redraws,
                       kinks, tuple(rows), upstream=point.upstream)
