"""Array formula + sizes -> CheckReport: `gradc check` for §8 files.

The NumPy module `gradc compile` writes is run at random arrays, and every
entry of its value and of every input's gradient is compared with SymPy
(`oracle.py`, one symbol per entry) and with central differences of
the module's own forward pass: entry by entry while the inputs have at
most FD_ENTRIES entries in all, else along FD_DIRECTIONS random unit
directions per input, which catch a wrong entry just as well at a cost
that does not grow with the arrays.

A layer (an array output Z) is checked through a random upstream U, drawn
with each point: the module's `backward(cache, U)` must be the gradient of
sum(U * Z), and its value must match SymPy entry by entry.

Each comparison is judged as the scalar check judges one (`checking.judge`),
with the SymPy side's scale being the largest entry of the same array: an
entry that cancels to nearly 0 is as accurate as its array's magnitude
allows, no more.  The report keeps one row per input: how many entries
were compared, the worst of them, and the verdict.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from compiler import inputs
from compiler.inputs import Point, forward_sum, shape_of
from compiler.checker.records import CheckReport, PointReport, Row
from compiler.checker.checking import (RANDOM_POINTS, central_difference, judge,
                                       sympy_budget, without_sympy)
from compiler.errors import GradcError
from compiler.loader import module_from_source
from compiler.front.resolve import Program

FD_ENTRIES = 200
"""Inputs with more entries than this in all are differenced along directions."""
FD_DIRECTIONS = 3


@dataclass(frozen=True)
class _Setup:
    program: Program
    staged: object
    module: object
    sizes: dict
    output_shape: tuple
    returned: dict[int, int]


def check_arrays(formula, *, at, at_file, dims, points, seed, rtol, atol,
                 sympy_timeout) -> CheckReport:
    """`checking.check` for a file that declares shapes."""
    program, staged = formula.program, formula.staged
    if points == 0:
        raise GradcError("expected at least one point: --points N with N of 1 or more")
    chosen = inputs.given(program, dims, at, at_file)
    sizes = chosen.sizes
    output_shape = next(s.shape for s in staged.stages if s.name == staged.output)
    module = module_from_source(formula.module(), "checked", "<gradc check>")
    setup = _Setup(program, staged, module, sizes, output_shape, _returned(staged))
    rng = random.Random(seed)
    count = points if points is not None else (0 if chosen.points else RANDOM_POINTS)
    drawn = [inputs.draw(module, program, sizes, rng, _sized(output_shape, sizes), fixed)
             for fixed in [*chosen.points, *[{}] * count]]
    status, exact = sympy_budget(sympy_timeout, lambda: _sympy(program, sizes, drawn),
                                 len(drawn))
    every = sum(int(np.size(v)) for v in drawn[0].values)
    why = without_sympy(status)
    reports = tuple(_compare(setup, d, e, every > FD_ENTRIES, rng, rtol, atol, why)
                    for d, e in zip(drawn, exact))
    if formula.second_order:
        from compiler.checker.second_order import array_second_order

        reports, second = array_second_order(setup, drawn, reports, rng, rtol, atol,
                                             sympy_timeout)
        status = status if status != "used" else second
    names = tuple(n.id for n in program.inputs)
    return CheckReport(
        formula.label, staged.output, names, reports, status, rtol, atol, seed,
        dims=tuple(sizes.items()), given=chosen.dims,
        shapes=tuple((n, tuple(program.shapes.get(n, ()))) for n in names),
        output_shape=output_shape,
        differences=f"{FD_DIRECTIONS} random directions per input (more than "
                    f"{FD_ENTRIES} entries)" if every > FD_ENTRIES else "every entry")


def _returned(staged) -> dict[int, int]:
    """Input index -> where backward returns its gradient (`--wrt` chooses)."""
    return {staged.inputs.index(name): k for k, name in enumerate(staged.gradient_inputs)}


def _sized(shape: tuple, sizes: dict) -> tuple[int, ...]:
    return tuple(sizes.get(d, d) for d in shape)


def _sympy(program: Program, sizes: dict, drawn: list[Point]) -> list:
    """For each point: (output entries, gradient entries, tied switches)."""
    # Imported here: SymPy takes half a second to import (see checking.py).
    from compiler.checker import oracle as oracles

    oracle = oracles.build(program, sizes)
    compiled = oracle.compile_entries()
    results = []
    for point in drawn:
        flat = _flat(point.values) + ([] if point.upstream is None
                                      else list(point.upstream.ravel()))
        chosen, tied = oracle.choose(flat, {})
        numbers = oracle.evaluate(compiled, flat, {}, chosen)
        size = len(oracle.output.entries)
        owners = [(n.id, math.prod(shape_of(program, n.id, sizes))) for n in program.inputs]
        results.append(None if numbers is None else
                       (numbers[:size], numbers[size:], oracle.kinks(tied, owners)))
    return results


def _flat(values) -> list[float]:
    return [float(v) for value in values for v in np.ravel(value)]


def _where(shape: tuple[int, ...], flat: int) -> str:
    return "[" + ", ".join(map(str, np.unravel_index(flat, shape))) + "]" if shape else ""


# -- comparing one point -------------------------------------------------------

def _compare(setup: _Setup, point: Point, exact, directions: bool,
             rng: random.Random, rtol, atol, why: str) -> PointReport:
    program = setup.program
    outputs, gradient, (kinks, affected) = exact if exact else (None, None, ((), frozenset()))
    rows = [_value_row(setup, point, outputs, rtol, atol, why)]
    offset = 0
    for index, name in enumerate(n.id for n in program.inputs):
        count = math.prod(shape_of(program, name, setup.sizes))
        sympy = gradient[offset:offset + count] if gradient else [None] * count
        offset += count
        if index in setup.returned:
                rows.append(_input_row(setup, point, index, sympy, name in affected,
                                   _Judging(directions, rng, _magnitude(point), rtol, atol,
                                            why)))
    values = tuple((n.id, v) for n, v in zip(program.inputs, point.values))
    return PointReport(values, point.origin, point.redraws, kinks, tuple(rows),
                            upstream=point.upstream)


@dataclass(frozen=True)
class _Judging:
    directions: bool
    rng: random.Random
    magnitude: float
    """The largest number the forward pass holds: it rounds at that size."""
    rtol: float
    atol: float
    why: str
    """Why an entry has no SymPy number, when it has none."""


def _input_row(setup: _Setup, point: Point, index: int, sympy: list, kink: bool,
               how: _Judging) -> Row:
    """Every entry of one input's gradient against SymPy (and central
    differences), or along directions, summed up in one row."""
    name = setup.program.inputs[index].id
    written = setup.program.shapes.get(name, ())
    shape = shape_of(setup.program, name, setup.sizes)
    broken = _broken(point, setup.returned[index], shape)
    if broken:
        return Row(name, False, math.nan, None, None, None, "FAIL", broken,
                        shape=written, entries=0, failing=len(sympy))
    fd = None if how.directions else _entries(setup, point, index, how.magnitude)
    judged = [(_where(shape, k), judge(name, False, float(g), s, fd and fd[k], _scale(sympy),
                                       kink, how.rtol, how.atol, how.why))
              for k, (g, s) in enumerate(zip(np.ravel(point.gradient[setup.returned[index]]),
                                             sympy))]
    if how.directions:
        # Entries SymPy could not check are checked along the directions.
        judged = [item for item in judged if item[1].verdict != "unchecked"]
        judged += _directions(setup, point, index, shape, kink, how)
    return _summary(name, written, judged)


def _broken(point: Point, index: int, shape: tuple[int, ...]) -> str:
    """Why the module's gradient of input `index` cannot be compared, if it cannot."""
    if point.broken:
        return point.broken
    if index >= len(point.gradient):
        return f"backward returns {len(point.gradient)} gradients, one short"
    got = np.shape(point.gradient[index])
    if got != shape:
        return f"backward returns an array of shape {got}, but the input's shape is {shape}"
    return ""


def _value_row(setup: _Setup, point: Point, outputs, rtol, atol, why) -> Row:
    generated = np.ravel(point.value)
    exact = outputs if outputs else [None] * len(generated)
    shape = _sized(setup.output_shape, setup.sizes)
    judged = [(_where(shape, k), judge("", True, float(g), s, None, _scale(exact), False,
                                       rtol, atol, why))
              for k, (g, s) in enumerate(zip(generated, exact))]
    return _summary(setup.program.bindings[-1].name, setup.output_shape, judged, True)


def _scale(exact) -> float:
    known = [abs(s) for s in exact if s is not None and math.isfinite(s)]
    return max(known, default=0.0)


def _magnitude(point: Point) -> float:
    parts = [point.value, *point.cache] + ([] if point.upstream is None
                                           else [point.upstream * point.value])
    return max((float(np.max(np.abs(p))) for p in parts
                if isinstance(p, (float, np.ndarray)) and np.size(p)), default=0.0)


def _entries(setup: _Setup, point: Point, index: int, magnitude: float) -> list:
    """A central difference for every entry of input `index`."""
    values = list(point.values)
    shape = np.shape(values[index])

    def forward(*flat):
        values[index] = np.reshape(np.array(flat), shape) if shape else flat[0]
        return forward_sum(setup.module, values, point.upstream)

    flat = _flat([point.values[index]])
    return [central_difference(forward, flat, k, magnitude) for k in range(len(flat))]


def _directions(setup: _Setup, point: Point, index: int, shape, kink,
                how: _Judging) -> list[tuple[str, Row]]:
    """Directional derivatives along random unit directions, against the
    generated gradient's projection on each."""
    name = setup.program.inputs[index].id
    judged = []
    for number in range(1, FD_DIRECTIONS + 1):
        direction = np.array([how.rng.gauss(0.0, 1.0) for _ in range(math.prod(shape))])
        direction = (direction / np.linalg.norm(direction)).reshape(shape)

        def along(t, direction=direction):
            values = list(point.values)
            values[index] = point.values[index] + t * direction
            return forward_sum(setup.module, values, point.upstream)

        fd = central_difference(along, [0.0], 0, how.magnitude)
        projected = float(np.sum(point.gradient[setup.returned[index]] * direction))
        judged.append((f"direction {number}",
                       judge(name, False, projected, None, fd, 0.0, kink, how.rtol, how.atol,
                             "SymPy is not asked along a direction")))
    return judged


def _summary(name: str, shape: tuple, judged: list[tuple[str, Row]],
             is_value: bool = False) -> Row:
    """One row for an array: the worst comparison's numbers, and the count."""
    failing = [(where, row) for where, row in judged if not row.ok]
    pool = failing or judged
    where, worst = max(pool, key=lambda item: -1.0 if item[1].error is None else item[1].error)
    verdicts = {row.verdict for _, row in judged}
    verdict = ("FAIL" if failing else "unchecked" if verdicts == {"unchecked"}
               else "kink" if "kink" in verdicts else "ok")
    compared = sum(row.verdict != "unchecked" for _, row in judged)
    reason = ""
    if failing:
        entry = f"at {where}, " if where else ""
        more = f" ({len(failing)} of {compared} disagree)" if compared > 1 else ""
        reason = f"{entry}{worst.reason}{more}"
    elif compared < len(judged):
        first = next((w, row) for w, row in judged if row.verdict == "unchecked")
        entries = f"{len(judged) - compared} of {len(judged)}, at {first[0]} first: " \
            if len(judged) > 1 else ""
        reason = f"{entries}{first[1].reason}"
    return Row(name, is_value, worst.generated, worst.sympy, worst.fd, worst.error,
                    verdict, reason, shape=tuple(shape), entries=compared,
                    failing=len(failing), worst=where)
