"""CheckReport -> text or JSON, and the `gradc check` command (argv -> exit status).

Array formulas have their own report (array_check_view.py).

Text: one aligned table per point, notes for kinks and redrawn points, then
one line per disagreement that names the point and the input.  Colour only
on a terminal, and never when NO_COLOR is set.  JSON: the schema in
docs/check.md, with null wherever a number is unavailable.
"""

from __future__ import annotations

import json
import math
import os
import sys

from compiler.checker.array_report import ArrayCheckReport
from compiler.checker.checking import CheckReport, PointReport, Row, check
from compiler.checker.checkpoints import show_point

SCHEMA = "gradc-check/1"
_COLOURS = {"ok": "32", "kink": "33", "unchecked": "33", "FAIL": "1;31"}
_HEADER = ("quantity", "generated", "SymPy", "central diff.", "rel. error", "verdict")


def run(formula, args) -> int:
    at = [" ".join(words) for words in args.at] if args.at else None
    report = check(formula, at=at, points=args.points, seed=args.seed or 0,
                   rtol=args.rtol, atol=args.atol, sympy_timeout=args.sympy_timeout,
                   dims=args.dims)
    if args.json:
        print(to_json(report))
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        sys.stdout.write(to_text(report, colour))
    return 0 if report.ok else 1


# -- text ----------------------------------------------------------------------

def to_text(report: CheckReport, colour: bool = False) -> str:
    if isinstance(report, ArrayCheckReport):
        from compiler.checker import array_check_view  # imports NumPy, which `gradc compile` may not need

        return array_check_view.to_text(report, colour)
    against = "SymPy and central differences" if report.sympy == "used" \
        else "central differences"
    plural = "" if len(report.points) == 1 else "s"
    lines = [f"{report.source}: {report.output}({', '.join(report.inputs)}) at "
             f"{len(report.points)} point{plural}, against {against}"]
    if report.sympy != "used":
        lines.append(f"SymPy {report.sympy} (--sympy-timeout)")
    for number, point in enumerate(report.points, 1):
        lines += ["", *_point_lines(report, number, point, colour)]
    lines += ["", *_summary(report)]
    return "\n".join(lines) + "\n"


def _point_lines(report: CheckReport, number: int, point: PointReport, colour: bool):
    names = [name for name, _ in point.values]
    values = [value for _, value in point.values]
    yield f"point {number}: {show_point(names, values) or '(no inputs)'} ({point.origin})"
    cells = [_HEADER] + [_cells(report.output, row) for row in point.rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(_HEADER))]
    for index, cell in enumerate(cells):
        marker = "> " if index and not point.rows[index - 1].ok else "  "
        padded = [text.ljust(w) if i in (0, 1, 2, 3) else text.rjust(w)
                  for i, (text, w) in enumerate(zip(cell[:-1], widths))]
        verdict = cell[-1]
        if colour and index:
            verdict = f"\033[{_COLOURS[verdict]}m{verdict}\033[0m"
        yield (marker + "  ".join(padded) + "  " + verdict).rstrip()
    yield from _notes(point)


def _notes(point: PointReport):
    at_kink = ", ".join(row.name for row in point.rows if row.verdict == "kink")
    for kink in point.kinks:
        yield f"  kink: {kink}"
    if point.kinks:
        yield f"  central differences are not compared for {at_kink or 'any input'}"
    if point.redraws:
        times = "once" if len(point.redraws) == 1 else f"{len(point.redraws)} times"
        yield f"  redrawn {times}; the last draw was rejected because at {point.redraws[-1]}"


def _cells(output: str, row: Row) -> tuple[str, ...]:
    quantity = row.name if row.is_value else f"d{output}/d{row.name}"
    return (quantity, repr(row.generated), _number(row.sympy, repr),
            _number(row.fd, lambda v: f"{v:.10g}"),
            _number(row.error, lambda v: "0" if v == 0 else f"{v:.1e}"), row.verdict)


def _number(value, shown) -> str:
    return "-" if value is None else shown(value)


def _summary(report: CheckReport):
    for number, (point, row) in enumerate(report.failures, 1):
        names = [name for name, _ in point.values]
        where = show_point(names, [value for _, value in point.values])
        quantity = row.name if row.is_value else f"d{report.output}/d{row.name}"
        index = report.points.index(point) + 1
        yield f"FAIL: {quantity} at point {index} ({where}): {row.reason}"
    unchecked = sum(row.verdict == "unchecked" for p in report.points for row in p.rows)
    if unchecked:
        yield f"note: {unchecked} quantities had nothing to compare with"
    if report.ok:
        yield (f"ok: value and gradient agree at every point "
               f"(rtol {report.rtol:g}, atol {report.atol:g})")


# -- JSON ----------------------------------------------------------------------

def to_json(report: CheckReport) -> str:
    if isinstance(report, ArrayCheckReport):
        from compiler.checker import array_check_view

        return array_check_view.to_json(report)
    from compiler.checker.array_check_view import json_header

    return json.dumps({
        **json_header(report, SCHEMA),
        "points": [_point_json(report.output, point) for point in report.points],
    }, indent=2, ensure_ascii=False, allow_nan=False)


def _point_json(output: str, point: PointReport) -> dict:
    return {
        "values": {name: value for name, value in point.values},
        "origin": point.origin,
        "redraws": list(point.redraws),
        "kinks": list(point.kinks),
        "ok": point.ok,
        "rows": [{
            "quantity": row.name if row.is_value else f"d{output}/d{row.name}",
            "input": None if row.is_value else row.name,
            "generated": _finite(row.generated),
            "sympy": _finite(row.sympy),
            "fd": _finite(row.fd),
            "error": _finite(row.error),
            "verdict": row.verdict,
            "reason": row.reason,
        } for row in point.rows],
    }


def _finite(value):
    return value if value is not None and math.isfinite(value) else None
