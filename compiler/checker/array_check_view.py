"""ArrayCheckReport -> text or JSON.

Text: a header with the sizes and how central differences were taken, then
one table per point with one line per array (its shape, how many entries
were compared, the worst entry and its numbers, the verdict), and one line
per disagreeing array under the tables.  The random arrays themselves are
in the JSON only.  JSON: the schema in docs/check.md ("gradc-check-arrays/1").
"""

from __future__ import annotations

import json

import numpy as np

from compiler.checker.array_report import ArrayCheckReport, ArrayPointReport, ArrayRow
from compiler.checker.checkpoints import show_point
from compiler.passes.shapes import shown


def json_header(report, schema: str) -> dict:
    """What every check report's JSON begins with, numbers or arrays."""
    return {"schema": schema, "source": report.source, "output": report.output,
            "inputs": list(report.inputs), "ok": report.ok, "sympy": report.sympy,
            "tolerance": {"rtol": report.rtol, "atol": report.atol}, "seed": report.seed}

SCHEMA = "gradc-check-arrays/1"
_HEADER = ("quantity", "shape", "compared", "worst", "generated", "SymPy", "central diff.",
           "rel. error", "verdict")
_LEFT = {0, 1, 3, 4, 5, 6}
_COLOURS = {"ok": "32", "kink": "33", "unchecked": "33", "FAIL": "1;31"}


def to_text(report: ArrayCheckReport, colour: bool = False) -> str:
    against = "SymPy and central differences" if report.sympy == "used" \
        else "central differences"
    plural = "" if len(report.points) == 1 else "s"
    lines = [f"{report.source}: {report.output}({', '.join(report.inputs)}) at "
             f"{len(report.points)} random point{plural}, against {against}",
             *_setting(report)]
    if report.sympy != "used":
        lines.append(f"SymPy {report.sympy} (--sympy-timeout)")
    for number, point in enumerate(report.points, 1):
        lines += ["", *_point_lines(report, number, point, colour)]
    lines += ["", *_summary(report)]
    return "\n".join(lines) + "\n"


def _setting(report: ArrayCheckReport):
    given = [f"{name}={size}" for name, size in report.dims if name in report.given]
    chosen = [f"{name}={size}" for name, size in report.dims if name not in report.given]
    parts = ([f"{' '.join(given)} (given)"] if given else []) + \
        ([f"{' '.join(chosen)} (chosen; set with --dims)"] if chosen else [])
    if parts:
        yield f"dimensions: {', '.join(parts)}"
    yield (f"entries drawn from [-3, 3] with seed {report.seed}; central differences: "
           f"{report.differences}")
    if report.output_shape:
        yield (f"{report.output} is {shown(report.output_shape)}: each gradient is "
               f"backward(cache, d{report.output}) for a random upstream d{report.output}, "
               f"the gradient of sum(d{report.output} * {report.output})")


def _point_lines(report: ArrayCheckReport, number: int, point: ArrayPointReport,
                 colour: bool):
    numbers = [(name, value) for name, value in point.values if np.ndim(value) == 0]
    scalars = f": {show_point(*zip(*numbers))}" if numbers else ""
    yield f"point {number}{scalars} (random)"
    cells = [_HEADER] + [_cells(report.output, row) for row in point.rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(_HEADER))]
    for index, cell in enumerate(cells):
        marker = "> " if index and not point.rows[index - 1].ok else "  "
        padded = [text.ljust(w) if i in _LEFT else text.rjust(w)
                  for i, (text, w) in enumerate(zip(cell[:-1], widths))]
        verdict = cell[-1]
        if colour and index:
            verdict = f"\033[{_COLOURS[verdict]}m{verdict}\033[0m"
        yield (marker + "  ".join(padded) + "  " + verdict).rstrip()
    for kink in point.kinks:
        yield f"  kink: {kink}"
    at_kink = ", ".join(row.name for row in point.rows if row.verdict == "kink")
    if point.kinks:
        yield f"  central differences are not compared for {at_kink or 'any input'}"
    if point.redraws:
        times = "once" if len(point.redraws) == 1 else f"{len(point.redraws)} times"
        yield f"  redrawn {times}; the last draw was rejected because {point.redraws[-1]}"


def quantity(output: str, row: ArrayRow) -> str:
    return row.name if row.is_value else f"d{output}/d{row.name}"


def _cells(output: str, row: ArrayRow) -> tuple[str, ...]:
    return (quantity(output, row), shown(row.shape), str(row.entries), row.worst or "-",
            repr(float(row.generated)), _number(row.sympy, repr),
            _number(row.fd, lambda v: f"{v:.10g}"),
            _number(row.error, lambda v: "0" if v == 0 else f"{v:.1e}"), row.verdict)


def _number(value, show) -> str:
    return "-" if value is None else show(value)


def _summary(report: ArrayCheckReport):
    # Points are told apart by their place: they hold arrays, which do not
    # compare with ==.
    for index, point in enumerate(report.points, 1):
        for row in point.rows:
            if not row.ok:
                yield f"FAIL: {quantity(report.output, row)} at point {index}: {row.reason}"
    if report.ok:
        yield (f"ok: value and gradient agree at every point, entry by entry "
               f"(rtol {report.rtol:g}, atol {report.atol:g})")


# -- JSON ----------------------------------------------------------------------

def to_json(report: ArrayCheckReport) -> str:
    return json.dumps({
        **json_header(report, SCHEMA),
        "dims": dict(report.dims),
        "dims_given": list(report.given),
        "shapes": {name: list(shape) for name, shape in report.shapes},
        "output_shape": list(report.output_shape),
        "differences": report.differences,
        "points": [_point_json(report.output, point) for point in report.points],
    }, indent=2, ensure_ascii=False, allow_nan=False)


def _point_json(output: str, point: ArrayPointReport) -> dict:
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
    return np.asarray(value, dtype=float).tolist()


def _finite(value):
    return float(value) if value is not None and np.isfinite(value) else None
