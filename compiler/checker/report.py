"""CheckReport -> text or JSON, and the `gradc check` command's runner.

Text: a header (for a file with arrays, also the sizes and how central
differences were taken), one aligned table per point with one line per
quantity, notes for kinks, redrawn points and anything left unchecked,
then one line per disagreement and the verdict.  A file with arrays gets
three more columns: each array's shape, how many entries were compared,
and which one the numbers shown are from (the worst).  The random arrays
themselves are in the JSON only.  Colour only on a terminal, and never
when NO_COLOR is set.

JSON: the schema in docs/check.md, one for every file: a number has shape
[] and one entry; null wherever a number is unavailable.
"""

from __future__ import annotations

import json
import math
import os
import sys

from compiler.checker.records import CheckReport, PointReport, Row
from compiler.inputs import dimensions_line, show_point

SCHEMA = "gradc-check/2"
_COLOURS = {"ok": "32", "kink": "33", "unchecked": "33", "FAIL": "1;31"}
_NUMBERS = ("quantity", "generated", "SymPy", "central diff.", "rel. error", "verdict")
_ARRAYS = ("shape", "compared", "worst")
_RIGHT = {"compared", "rel. error"}


def run(formula, args) -> int:
    from compiler.checker.checking import check

    report = check(formula, at=[" ".join(words) for words in args.at] if args.at else None,
                   points=args.points, seed=args.seed or 0, rtol=args.rtol, atol=args.atol,
                   sympy_timeout=args.sympy_timeout, dims=args.dims, at_file=args.at_file)
    if args.json:
        print(to_json(report))
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        sys.stdout.write(to_text(report, colour))
    return 0 if report.ok else 1


# -- text ----------------------------------------------------------------------

def to_text(report: CheckReport, colour: bool = False) -> str:
    against = "SymPy and central differences" if report.sympy == "used" \
        else "central differences"
    plural = "" if len(report.points) == 1 else "s"
    lines = [f"{report.source}: {report.output}({', '.join(report.inputs)}) at "
             f"{len(report.points)} point{plural}, against {against}"]
    if report.shaped:
        lines += _setting(report)
    if report.sympy != "used":
        lines.append(f"SymPy {report.sympy} (--sympy-timeout)")
    for number, point in enumerate(report.points, 1):
        lines += ["", *_point_lines(report, number, point, colour)]
    lines += ["", *_summary(report)]
    return "\n".join(lines) + "\n"


def _setting(report: CheckReport):
    if report.dims:
        yield dimensions_line(dict(report.dims), report.given)
    yield (f"entries drawn from [-3, 3] with seed {report.seed}; central differences: "
           f"{report.differences}")
    if report.output_shape:
        output = report.output
        yield (f"{output} is {_shown(report.output_shape)}: each gradient is "
               f"backward(cache, d{output}) for a random upstream d{output}, "
               f"the gradient of sum(d{output} * {output})")


def _point_lines(report: CheckReport, number: int, point: PointReport, colour: bool):
    yield f"point {number}{_where(report, point, ': ')} ({point.origin})"
    header = _header(report)
    cells = [header] + [_cells(report, row) for row in point.rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(header))]
    for index, cell in enumerate(cells):
        marker = "> " if index and not point.rows[index - 1].ok else "  "
        padded = [text.rjust(w) if title in _RIGHT else text.ljust(w)
                  for title, text, w in zip(header[:-1], cell[:-1], widths)]
        verdict = cell[-1]
        if colour and index:
            verdict = f"\033[{_COLOURS[verdict]}m{verdict}\033[0m"
        yield (marker + "  ".join(padded) + "  " + verdict).rstrip()
    yield from _notes(report, point)


def _where(report: CheckReport, point: PointReport, before: str) -> str:
    numbers = _numbers(point)
    if numbers:
        return before + numbers
    return "" if report.inputs else before + "(no inputs)"


def _numbers(point: PointReport) -> str:
    """The point's number inputs as `x=3 y=-4`; its arrays are in the JSON."""
    numbers = [(name, value) for name, value in point.values if _is_number(value)]
    return show_point(*zip(*numbers)) if numbers else ""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) or getattr(value, "ndim", 1) == 0


def _header(report: CheckReport) -> tuple[str, ...]:
    return _NUMBERS[:1] + _ARRAYS + _NUMBERS[1:] if report.shaped else _NUMBERS


def _cells(report: CheckReport, row: Row) -> tuple[str, ...]:
    arrays = (_shown(row.shape), str(row.entries), row.worst or "-") if report.shaped else ()
    return (quantity(report.output, row), *arrays, repr(float(row.generated)),
            _number(row.sympy, repr), _number(row.fd, lambda v: f"{v:.10g}"),
            _error(report, row), row.verdict)


def _error(report: CheckReport, row: Row) -> str:
    """The relative error; where two numbers near 0 agree within atol but
    not relatively, their absolute difference, marked `abs`."""
    if row.error is None:
        return "-"
    if row.error == 0:
        return "0"
    against = row.sympy if row.sympy is not None else row.fd
    difference = abs(row.generated - against) if against is not None else math.inf
    if row.ok and row.error > report.rtol and difference <= report.atol:
        return f"{difference:.1e} abs"
    return f"{row.error:.1e}"


def _notes(report: CheckReport, point: PointReport):
    at_kink = ", ".join(row.name for row in point.rows if row.verdict == "kink")
    for kink in point.kinks:
        yield f"  kink: {kink}"
    if point.kinks:
        yield f"  central differences are not compared for {at_kink or 'any input'}"
    for row in point.rows:
        if row.ok and row.reason:
            yield f"  unchecked: {quantity(report.output, row)}: {row.reason}"
    if point.redraws:
        times = "once" if len(point.redraws) == 1 else f"{len(point.redraws)} times"
        yield f"  redrawn {times}; the last draw was rejected because {point.redraws[-1]}"


def quantity(output: str, row: Row) -> str:
    return row.name if row.is_value else f"d{output}/d{row.name}"


def _number(value, shown) -> str:
    return "-" if value is None else shown(value)


def _shown(shape: tuple) -> str:
    """`[N, D]`; a number has no brackets to show."""
    return f"[{', '.join(map(str, shape))}]" if shape else ""


def _summary(report: CheckReport):
    for number, point in enumerate(report.points, 1):
        for row in point.rows:
            if not row.ok:
                numbers = _numbers(point)
                where = f" ({numbers})" if numbers else ""
                yield (f"FAIL: {quantity(report.output, row)} at point {number}{where}: "
                       f"{row.reason}")
    if not report.ok:
        return
    tolerance = f"(rtol {report.rtol:g}, atol {report.atol:g})"
    entries = ", entry by entry" if report.shaped else ""
    unchecked = [row for point in report.points for row in point.rows if row.reason]
    if unchecked:
        yield (f"ok, but not everything was checked: {len(unchecked)} of "
               f"{sum(len(point.rows) for point in report.points)} quantities are "
               f"unchecked, in part or whole (see above); the rest agree{entries} "
               f"{tolerance}")
    else:
        yield f"ok: value and gradient agree at every point{entries} {tolerance}"


# -- JSON ----------------------------------------------------------------------

def to_json(report: CheckReport) -> str:
    return json.dumps({
        "schema": SCHEMA, "source": report.source, "output": report.output,
        "inputs": list(report.inputs), "ok": report.ok, "sympy": report.sympy,
        "tolerance": {"rtol": report.rtol, "atol": report.atol}, "seed": report.seed,
        "dims": dict(report.dims),
        "dims_given": list(report.given),
        "shapes": {name: list(shape) for name, shape in report.shapes},
        "output_shape": list(report.output_shape),
        "differences": report.differences,
        "points": [_point_json(report.output, point) for point in report.points],
    }, indent=2, ensure_ascii=False, allow_nan=False)


def _point_json(output: str, point: PointReport) -> dict:
    return {
        "values": {name: _plain(value) for name, value in point.values},
        "upstream": None if point.upstream is None else _plain(point.upstream),
        "origin": point.origin,
        "redraws": list(point.redraws),
        "kinks": list(point.kinks),
        "ok": point.ok,
        "rows": [{
            "quantity": quantity(output, row),
            "input": None if row.is_value else row.name,
            "shape": list(row.shape),
            "compared": row.entries,
            "failing": row.failing,
            "worst": row.worst,
            "generated": _finite(row.generated),
            "sympy": _finite(row.sympy),
            "fd": _finite(row.fd),
            "error": _finite(row.error),
            "verdict": row.verdict,
            "reason": row.reason,
        } for row in point.rows],
    }


def _plain(value):
    """A number or nested lists of numbers, as JSON has them."""
    return value.tolist() if hasattr(value, "tolist") else float(value)


def _finite(value):
    return float(value) if value is not None and math.isfinite(value) else None
