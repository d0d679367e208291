"""Formula text + points -> CheckReport: is the generated gradient right?

`check` compiles a formula in memory and compares, at each point, the
generated module's value and gradient with SymPy's (`oracle.py`) and the
gradient with central differences of the module's own forward pass.

    text -> Program -> Oracle (SymPy)          \\
         -> AdjointIR -> module, Trace at point -> Rows -> CheckReport

Tolerances: generated and SymPy agree when |g - s| <= atol + rtol * scale,
where scale is the larger of |s| and the largest single term that was
summed into g (a sum of large terms that cancel cannot be more accurate
than its terms).  Central differences carry their own error, estimated by
comparing steps h and 2h, and agree when |g - d| <= atol + rtol * |d| plus
ten times that estimate.  At a kink (a tied max or min, abs or relu at 0)
central differences and calculus disagree with gradc's convention, so the
gradient is compared with SymPy only, which follows the convention there.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from compiler.build import Build, build, read
from compiler.checker import ATOL, RTOL, SYMPY_TIMEOUT
from compiler.checker.records import CheckReport, PointReport, Row
from compiler.checker.checkpoints import Drawn, Probe, choose_points, kinks_at, operand_values
from compiler.errors import GradcError
from compiler.inputs import point_words
from compiler.loader import module_from_source
from compiler.passes.optimize import Passes

RANDOM_POINTS = 3
FD_SAFETY = 10.0
"""How many times its own error estimate a central difference may be off."""
_EPS = 2.0**-52


def check(formula, at=None, points: int | None = None, *, seed: int = 0,
          rtol: float = RTOL, atol: float = ATOL,
          sympy_timeout: float | None = SYMPY_TIMEOUT, dims=None, at_file=None,
          passes: Passes = Passes(), second_order: tuple[str, ...] = ()) -> CheckReport:
    """Check a formula's generated gradient; see the module docstring.

    `formula` is a Build, a file's path or formula text (compiled with
    `passes`, the switches `gradc compile` takes).  `at` is one point (a
    mapping such as {"x": 3, "y": -4}, or the words "x=3 y=-4") or a list
    of them; `at_file` a NumPy .npz file of inputs by name.  `points`
    random points are added (by default 3 when no point is given, else
    none), drawn with `seed`.  A file that declares shapes is checked by
    `array_checking`, with the sizes `dims` gives (a mapping, or the words
    "N=4 D=3") and, unless given, random arrays.  `second_order` ("jvp",
    "hvp": what `gradc check --hvp` asks) checks the module's jvp, hvp and
    hessian too (second_order.py), unless `formula` is a Build, which says.
    """
    if not isinstance(formula, Build):
        formula = _read(formula, passes, second_order)
    if formula.shaped or dims is not None:
        from compiler.checker.array_checking import check_arrays

        return check_arrays(formula, at=at, at_file=at_file, dims=dims, points=points,
                            seed=seed, rtol=rtol, atol=atol, sympy_timeout=sympy_timeout)
    ir, program = formula.adjoint, formula.program
    module = module_from_source(formula.module("math"), "checked", "<gradc check>")
    probe = Probe(ir, module, tuple(n.id for n in program.inputs))
    words = point_words(program, at, at_file)
    count = points if points is not None else (0 if words else RANDOM_POINTS)
    if not count and not words:
        raise GradcError("expected at least one point: give one with --at, or --points N")
    drawn = choose_points(probe, words, count, random.Random(seed))
    sympy_status, exact = _sympy(program, ir, drawn, sympy_timeout)
    why = without_sympy(sympy_status)
    reports = tuple(_compare(probe, d, e, rtol, atol, why) for d, e in zip(drawn, exact))
    if formula.second_order:
        from compiler.checker.second_order import second_order_reports

        reports, second_status = second_order_reports(probe, program, drawn, reports, seed,
                                                      rtol, atol, sympy_timeout)
        sympy_status = sympy_status if sympy_status != "used" else second_status
    return CheckReport(formula.label, ir.staged.output, probe.names, reports, sympy_status,
                       rtol, atol, seed, shapes=tuple((name, ()) for name in probe.names))


def _read(path_or_source, passes: Passes, second_order: tuple[str, ...] = ()) -> Build:
    if isinstance(path_or_source, os.PathLike) or _looks_like_path(path_or_source):
        return read(path_or_source, passes, second_order)
    return build(path_or_source, passes, second_order=second_order)


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and (Path(text).suffix in (".txt", ".grad") or Path(text).is_file())


def _sympy(program, ir, drawn: Sequence[Drawn], seconds):
    """SymPy's value and gradient at every point, within one time budget."""
    def work():
        # Imported here: SymPy takes half a second to import, and `gradc
        # compile` shares the command line with `check`.
        from compiler.checker import oracle

        formula = oracle.build(program)
        compiled = formula.compile((formula.value,) + formula.gradient())
        return [formula.evaluate(compiled, d.point, operand_values(ir, d.trace))
                for d in drawn]

    return sympy_budget(seconds, work, len(drawn))


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


def _compare(probe: Probe, drawn: Drawn, exact, rtol, atol, why: str) -> PointReport:
    kinks, affected = kinks_at(probe.ir, drawn.trace)
    value, gradient = drawn.generated
    rows = [judge(probe.ir.staged.output, True, value, exact and exact[0], None,
                 _value_scale(drawn.trace), False, rtol, atol, why)]
    staged = probe.ir.staged
    for returned, python_name in enumerate(staged.gradient_inputs):
        index = staged.inputs.index(python_name)
        fd = central_difference(probe.forward, drawn.point, index,
                                 _value_scale(drawn.trace))
        rows.append(judge(probe.names[index], False, gradient[returned],
                          exact and exact[index + 1], fd,
                          _gradient_scale(drawn.trace, python_name),
                          python_name in affected, rtol, atol, why))
    return PointReport(tuple(zip(probe.names, drawn.point)), drawn.origin, drawn.redraws,
                       kinks, tuple(rows))


def _value_scale(trace) -> float:
    return max(abs(v) for v in trace.values.values())


def _gradient_scale(trace, python_name: str) -> float:
    target = python_name
    return max((abs(step.term) for step in trace.steps
                if step.contribution.target == target), default=0.0)


NO_REAL = "SymPy gives no finite real number here, even with more digits"


def judge(name, is_value, got, exact, fd, scale, kink, rtol, atol,
          without_sympy: str = NO_REAL) -> Row:
    """`without_sympy`: why `exact` is None, when it is."""
    exact = None if exact is None or math.isnan(exact) else exact
    # At a kink, central differences straddle two pieces: shown, not judged.
    judged = None if kink and not is_value else fd
    failures = _disagreements(got, exact, judged, scale, rtol, atol)
    against = exact if exact is not None else judged and judged[0]
    error = None if against is None else abs(got - against) / (abs(against) or 1.0)
    if failures:
        verdict = "FAIL"
        reason = f"generated {got!r}, but {' and '.join(failures)}"
    elif against is None:
        verdict = "unchecked"
        reason = _unchecked(is_value, kink, fd, without_sympy)
    else:
        verdict = "kink" if kink and not is_value else "ok"
        reason = ""
    return Row(name, is_value, got, exact, fd and fd[0], error, verdict, reason)


def _unchecked(is_value: bool, kink: bool, fd, without_sympy: str) -> str:
    if is_value:
        return f"{without_sympy}, and a value has nothing else to compare with"
    if kink:
        return f"{without_sympy}, and central differences are not judged at a kink"
    return f"{without_sympy}, and central differences are not finite here"


def _disagreements(got, exact, fd, scale, rtol, atol) -> list[str]:
    found = []
    if exact is not None and abs(got - exact) > atol + rtol * max(abs(exact), scale):
        found.append(f"SymPy gives {exact!r}")
    if fd is not None and abs(got - fd[0]) > atol + rtol * abs(fd[0]) + FD_SAFETY * fd[1]:
        found.append(f"central differences give {fd[0]:.10g} (± {fd[1]:.1e})")
    return found


def central_difference(forward, point, index, magnitude):
    """(estimate, its error) from steps h and 2h, h scaled to the input.

    `magnitude` is the largest stage value at the point: the forward pass
    rounds at that size, however small the output."""
    step = _EPS ** (1 / 3) * max(1.0, abs(point[index]))
    try:
        near, f_near = _difference(forward, point, index, step)
        far, f_far = _difference(forward, point, index, 2 * step)
    except (ArithmeticError, ValueError, TypeError):
        return None
    if not all(map(math.isfinite, (near, far))):
        return None
    # The h/2h difference estimates truncation; eps * magnitude / h, rounding.
    return near, abs(near - far) + 4 * _EPS * max(f_near, f_far, magnitude) / step


def _difference(forward, point, index, step):
    up, down = list(point), list(point)
    up[index] += step
    down[index] -= step
    high, low = float(forward(*up)), float(forward(*down))
    return (high - low) / (up[index] - down[index]), max(abs(high), abs(low))
