"""One point's numbers -> Rows: the value, and each input's gradient,
compared entry by entry with SymPy and with central differences.

Tolerances: generated and SymPy agree when |g - s| <= atol + rtol * scale,
where scale is the largest of |s|, the largest SymPy entry of the same
array (an entry that cancels to nearly 0 is as accurate as its array's
magnitude allows, no more), and the largest term that was summed into g
(a sum of large terms that cancel cannot be more accurate than its terms;
for the value, the largest value the forward pass holds).  Central
differences carry their own error, estimated by comparing steps h and 2h,
and agree when |g - d| <= atol + rtol * |d| plus ten times that estimate.
At a kink (a tied max or min, abs or relu at 0) central differences and
calculus disagree with gradc's convention, so the gradient is compared
with SymPy only, which follows the convention there.

Central differences are taken entry by entry while the inputs have at most
FD_ENTRIES entries in all, else along FD_DIRECTIONS random unit directions
per input, which catch a wrong entry just as well at a cost that does not
grow with the arrays.  A row sums up one quantity: how many entries were
compared, the worst of them, and the verdict; a number is one entry.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from compiler.checker.checkpoints import Drawn, Setup, largest
from compiler.checker.records import Row
from compiler.inputs import forward_sum

FD_ENTRIES = 200
"""Inputs with more entries than this in all are differenced along directions."""
FD_DIRECTIONS = 3
FD_SAFETY = 10.0
"""How many times its own error estimate a central difference may be off."""
_EPS = 2.0**-52
NO_REAL = "SymPy gives no finite real number here, even with more digits"


@dataclass(frozen=True)
class Judging:
    directions: bool
    """Whether central differences are taken along random directions."""
    rng: random.Random
    rtol: float
    atol: float
    why: str
    """Why an entry has no SymPy number, when it has none."""


def value_row(setup: Setup, drawn: Drawn, outputs, how: Judging) -> Row:
    generated = np.ravel(drawn.point.value)
    exact = outputs if outputs else [None] * len(generated)
    scale = max(largest(drawn.trace.values.values()), _scale(exact))
    judged = [(where(setup.output_shape, k),
               judge("", True, float(g), s, None, scale, False, how.rtol, how.atol, how.why))
              for k, (g, s) in enumerate(zip(generated, exact))]
    output = setup.staged.output
    return summary(output, setup.staged.shapes().get(output, ()), judged, True)


def gradient_row(setup: Setup, drawn: Drawn, index: int, sympy: list, kink: bool,
                 how: Judging) -> Row:
    """Every entry of one input's gradient against SymPy (and central
    differences), or along directions, summed up in one row."""
    name, point = setup.names[index], drawn.point
    written = tuple((setup.program.shapes or {}).get(name, ()))
    shape = setup.shape(index)
    broken = _broken(point, setup.returned[index], shape)
    if broken:
        return Row(name, False, math.nan, None, None, None, "FAIL", broken,
                   shape=written, entries=0, failing=len(sympy))
    magnitude = drawn.magnitude
    fd = None if how.directions else _entries(setup, drawn, index, magnitude)
    terms = np.ravel(np.broadcast_to(_term_scale(drawn, setup.staged.inputs[index]), shape))
    floor = _scale(sympy)
    got = np.ravel(point.gradient[setup.returned[index]])
    judged = [(where(shape, k), judge(name, False, float(g), s, fd and fd[k],
                                      max(float(terms[k]), floor), kink, how.rtol, how.atol,
                                      how.why))
              for k, (g, s) in enumerate(zip(got, sympy))]
    if how.directions:
        # Entries SymPy could not check are checked along the directions.
        judged = [item for item in judged if item[1].verdict != "unchecked"]
        judged += _directions(setup, drawn, index, shape, kink, magnitude, how)
    return summary(name, written, judged)


def _broken(point, index: int, shape: tuple[int, ...]) -> str:
    """Why the module's gradient of input `index` cannot be compared, if it cannot."""
    if point.broken:
        return point.broken
    if index >= len(point.gradient):
        return f"backward returns {len(point.gradient)} gradients, one short"
    got = np.shape(point.gradient[index])
    if got != shape:
        return f"backward returns an array of shape {got}, but the input's shape is {shape}"
    return ""


def where(shape: tuple[int, ...], flat: int) -> str:
    """`[1, 0]`, where an entry sits; '' for a number."""
    return "[" + ", ".join(map(str, np.unravel_index(flat, shape))) + "]" if shape else ""


def _scale(exact) -> float:
    known = [abs(s) for s in exact if s is not None and math.isfinite(s)]
    return max(known, default=0.0)


def _term_scale(drawn: Drawn, python_name: str):
    """The largest term, entry by entry, that was summed into an input's gradient."""
    terms = [np.abs(step.term) for step in drawn.trace.steps
             if step.contribution.target == python_name]
    return np.maximum.reduce(np.broadcast_arrays(*terms)) if terms else 0.0


def judge(name, is_value, got, exact, fd, scale, kink, rtol, atol,
          without_sympy: str = NO_REAL) -> Row:
    """One entry's comparison; `without_sympy`: why `exact` is None, when it is."""
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


def summary(name: str, shape: tuple, judged: list[tuple[str, Row]],
            is_value: bool = False) -> Row:
    """One row for an array: the worst comparison's numbers, and the count."""
    failing = [(at, row) for at, row in judged if not row.ok]
    at, worst = max(failing or judged,
                    key=lambda item: -1.0 if item[1].error is None else item[1].error)
    verdicts = {row.verdict for _, row in judged}
    verdict = ("FAIL" if failing else "unchecked" if verdicts == {"unchecked"}
               else "kink" if "kink" in verdicts else "ok")
    compared = sum(row.verdict != "unchecked" for _, row in judged)
    return Row(name, is_value, worst.generated, worst.sympy, worst.fd, worst.error,
               verdict, _reason(judged, failing, at, worst, compared), shape=tuple(shape),
               entries=compared, failing=len(failing), worst=at)


def _reason(judged, failing, at: str, worst: Row, compared: int) -> str:
    if failing:
        entry = f"at {at}, " if at else ""
        more = f" ({len(failing)} of {compared} disagree)" if compared > 1 else ""
        return f"{entry}{worst.reason}{more}"
    if compared < len(judged):
        first_at, first = next((w, row) for w, row in judged if row.verdict == "unchecked")
        entries = f"{len(judged) - compared} of {len(judged)}, at {first_at} first: " \
            if len(judged) > 1 else ""
        return f"{entries}{first.reason}"
    return ""


# -- central differences -----------------------------------------------------------

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


def _entries(setup: Setup, drawn: Drawn, index: int, magnitude: float) -> list:
    """A central difference for every entry of input `index`."""
    point = drawn.point
    values = list(point.values)
    shape = np.shape(values[index])

    def forward(*entries):
        values[index] = np.reshape(np.array(entries), shape) if shape else entries[0]
        return forward_sum(setup.module, values, point.upstream)

    entries = [float(v) for v in np.ravel(point.values[index])]
    return [central_difference(forward, entries, k, magnitude) for k in range(len(entries))]


def _directions(setup: Setup, drawn: Drawn, index: int, shape, kink, magnitude: float,
                how: Judging) -> list[tuple[str, Row]]:
    """Directional derivatives along random unit directions, against the
    generated gradient's projection on each."""
    point = drawn.point
    name = setup.names[index]
    judged = []
    for number in range(1, FD_DIRECTIONS + 1):
        direction = np.array([how.rng.gauss(0.0, 1.0) for _ in range(math.prod(shape))])
        direction = (direction / np.linalg.norm(direction)).reshape(shape)

        def along(t, direction=direction):
            values = list(point.values)
            values[index] = point.values[index] + t * direction
            return forward_sum(setup.module, values, point.upstream)

        fd = central_difference(along, [0.0], 0, magnitude)
        projected = float(np.sum(point.gradient[setup.returned[index]] * direction))
        judged.append((f"direction {number}",
                       judge(name, False, projected, None, fd, 0.0, kink, how.rtol, how.atol,
                             "SymPy is not asked along a direction")))
    return judged
