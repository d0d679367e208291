"""`compiler.check`: the generated gradient against SymPy and central differences."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

import compiler
from compiler import gates
from compiler.checker import oracle
from compiler.checker.compare import judge as _row
from compiler.checker.report import to_text
from compiler.inputs import MAX_DRAWS
from compiler.errors import GradcError
from compiler.front.resolve import CONSTANTS
from conftest import EXAMPLES
from gate_math import POINTS


def _rows(report, point=0):
    return {row.name: row for row in report.points[point].rows}


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.txt")))
def test_every_example_passes(example):
    report = compiler.check(EXAMPLES / example)
    assert report.ok and report.sympy == "used"
    assert len(report.points) == 3
    assert all(row.verdict == "ok" for p in report.points for row in p.rows)


def test_staged_example_at_the_lecture_point():
    report = compiler.check(str(EXAMPLES / "staged.txt"), at={"x": 3, "y": -4})
    rows = _rows(report)
    assert report.points[0].values == (("x", 3.0), ("y", -4.0))
    assert rows["f"].generated == pytest.approx(1.5456448841066441, rel=1e-15)
    assert rows["x"].sympy == pytest.approx(2.0595697955721652, rel=1e-14)
    assert rows["y"].fd == pytest.approx(1.5922327514838093, rel=1e-9)
    assert rows["x"].error < 1e-15 and rows["y"].error < 1e-15


@pytest.mark.parametrize("name", sorted(n for n, g in gates.SCALAR_GATES.items() if g.spellings))
def test_oracle_and_module_agree_on_every_spelled_gate(name):
    gate = gates.GATES[name]
    spelling = gate.spellings[-1]
    names = "xyz"[: 3 if gate.variadic else gate.arity]
    formula = f"f = {spelling}({', '.join(names)})" if spelling.isidentifier() \
        else f"f = x {spelling} y"
    report = compiler.check(formula, at=[dict(zip(names, p)) for p in POINTS])
    assert report.ok, report.failures


def test_the_oracle_covers_exactly_the_gates_a_formula_can_spell():
    spelled = {name for name, gate in gates.SCALAR_GATES.items() if gate.spellings}
    # Unary minus has no spelling of its own: '-' spells subtraction.
    assert set(oracle.SMOOTH) | set(oracle.PIECEWISE) == spelled | {"neg"}
    reductions = {row for name in oracle.REDUCTIONS for row in gates.GATES[name].axis_rows}
    assert set(oracle.PIECEWISE) | reductions == {n for n, g in gates.GATES.items() if g.kink}
    assert set(oracle.CONSTANTS) == set(CONSTANTS)


# -- a wrong module is caught ------------------------------------------------------

def _break(monkeypatch, name, **changes):
    row = replace(gates.GATES[name], **changes)
    monkeypatch.setitem(gates.GATES, name, row)
    for spelling in row.spellings:
        monkeypatch.setitem(gates.SPELLINGS, spelling, row)


def test_a_wrong_local_gradient_fails_and_names_the_input(monkeypatch):
    _break(monkeypatch, "sigmoid", local=("{out}",))
    report = compiler.check("f(x, y) = x * σ(y)", at={"x": 2, "y": 0.5})
    assert not report.ok
    (point, row), = report.failures
    assert row.name == "y" and row.verdict == "FAIL"
    assert row.reason.startswith(f"generated {row.generated!r}, but SymPy gives ")
    assert "and central differences give 0.4700" in row.reason
    assert _rows(report)["x"].verdict == "ok"


def test_a_wrong_forward_snippet_fails_on_the_value(monkeypatch):
    _break(monkeypatch, "sin", forward="math.sin({a}) + 1e-6")
    report = compiler.check("f = sin(x)", at={"x": 1})
    assert [row.name for _, row in report.failures] == ["f"]


def test_a_broken_kink_convention_fails_at_the_tie(monkeypatch):
    last = lambda i, count: "1.0" if i == count - 1 else "0.0"  # noqa: E731
    _break(monkeypatch, "max", local=last)
    report = compiler.check("f = max(x, y)", at={"x": 1, "y": 1})
    assert {row.name for _, row in report.failures} == {"x", "y"}


# -- kinks ---------------------------------------------------------------------------

@pytest.mark.parametrize("formula, at, kink, gradient", [
    ("f = max(x, y)", "x=2 y=2",
     "max tie at stage f: the first argument takes the gradient by convention", (1, 0)),
    ("f = min(x, y, z)", "x=3 y=1 z=1",
     "min tie at stage f: the first argument takes the gradient by convention", (0, 1, 0)),
    ("f = 3 * abs(x - y)", "x=0.5 y=0.5",
     "abs at 0 at stage absxmy: the gradient is 0 by convention", (0, 0)),
    ("f = relu(x) + x", "x=0", "relu at 0 at stage relux: the gradient is 0 by convention",
     (1,)),
    ("m = max(x*y, z)\nf = σ(m)", "x=2 y=3 z=6",
     "max tie at stage m: the first argument takes the gradient by convention", None),
])
def test_kinks_are_reported_and_pass(formula, at, kink, gradient):
    report = compiler.check(formula, at=at)
    assert report.ok
    point = report.points[0]
    assert point.kinks == (kink,)
    gradient_rows = [row for row in point.rows if not row.is_value]
    assert all(row.verdict == "kink" for row in gradient_rows)
    if gradient is not None:
        assert tuple(row.generated for row in gradient_rows) == gradient
        assert tuple(row.sympy for row in gradient_rows) == gradient


def test_only_inputs_that_reach_the_kink_skip_central_differences():
    report = compiler.check(EXAMPLES / "circuit.txt", at="x=1 y=2 z=3 w=3")
    verdicts = {row.name: row.verdict for row in report.points[0].rows}
    assert verdicts == {"f": "ok", "x": "ok", "y": "ok", "z": "kink", "w": "kink"}
    assert _rows(report)["z"].generated == 2.0 and _rows(report)["w"].generated == 0.0


def test_no_kink_reported_away_from_ties():
    report = compiler.check("f = max(x, y) + abs(x)", at={"x": 2, "y": 1})
    assert report.points[0].kinks == () and report.ok


def test_central_differences_at_a_tie_disagree_but_are_not_judged():
    row = _rows(compiler.check("f = max(x, y)", at="x=1 y=1"))["x"]
    assert row.fd == pytest.approx(0.5) and row.verdict == "kink"


# -- tolerances ----------------------------------------------------------------------

def test_zero_tolerance_demands_bit_equality():
    at = {"x": 3, "y": -4}
    loose = compiler.check(EXAMPLES / "staged.txt", at=at, rtol=1e-15, atol=0)
    exact = compiler.check(EXAMPLES / "staged.txt", at=at, rtol=0, atol=0)
    assert loose.ok
    # dx is one unit in the last place away from the correctly rounded value.
    assert [row.name for _, row in exact.failures] == ["x"]


@pytest.mark.parametrize("got, exact, scale, rtol, atol, verdict", [
    (1.5, 1.0, 0.0, 0.5, 0.0, "ok"),          # exactly at the bound passes
    (1.5, 1.0, 0.0, 0.49, 0.0, "FAIL"),
    (1e-13, 0.0, 0.0, 0.0, 1e-12, "ok"),      # atol covers a zero gradient
    (1e-13, 0.0, 0.0, 0.0, 1e-14, "FAIL"),
    (1e-7, 0.0, 1e3, 1e-9, 0.0, "ok"),        # terms of 1e3 cancelled to 0
    (1e-5, 0.0, 1e3, 1e-9, 0.0, "FAIL"),
])
def test_tolerance_bounds(got, exact, scale, rtol, atol, verdict):
    assert _row("x", False, got, exact, None, scale, False, rtol, atol).verdict == verdict


def test_central_differences_use_their_own_error_estimate():
    # A steep sigmoid: h^2 f''' is far above 1e-9, yet no false failure.
    report = compiler.check("f = σ(40x)", at=["x=0.01", "x=0.05"], sympy_timeout=0)
    assert report.ok and report.sympy.startswith("skipped")
    assert all(_rows(report, i)["x"].verdict == "ok" for i in range(2))


def test_cancelling_terms_are_judged_against_their_size():
    report = compiler.check("f = (x + 1e8)*y - 1e8*y", at={"x": 1e-3, "y": 2})
    assert report.ok
    rows = _rows(report)
    # Rounding at 2e8 leaves 2e-6 relative error in the value and in dy.
    assert rows["f"].error == pytest.approx(2.03e-6, rel=1e-2)
    assert rows["y"].error == pytest.approx(2.03e-6, rel=1e-2)
    assert rows["x"].fd == pytest.approx(2.0006, rel=1e-4)


# -- points --------------------------------------------------------------------------

def test_random_points_are_seeded_and_redrawn_where_not_finite():
    first = compiler.check("f = log(-x)")
    assert first == compiler.check("f = log(-x)")
    point = first.points[0]
    assert point.origin == "random" and point.values[0][1] < 0
    assert point.redraws[0].startswith("at x=2.067: stage f fails in the forward pass: ")
    assert compiler.check("f = log(-x)", seed=1).points != first.points


def test_a_formula_finite_nowhere_is_bad_input():
    with pytest.raises(GradcError, match=f"in {MAX_DRAWS} random draws from \\[-3, 3\\]: "
                                         "give one with --at"):
        compiler.check("f = sqrt(-1 - x^2)")


def test_a_given_point_outside_the_domain_is_bad_input():
    with pytest.raises(GradcError) as caught:
        compiler.check("f = log(x)", at="x=-1")
    assert caught.value.message.startswith(
        "expected a point where f and its gradient are finite, but at x=-1, stage f fails "
        "in the forward pass: ")


def test_an_input_a_given_point_leaves_out_is_drawn():
    # A number is an array of rank 0: what --at does not give is drawn, as
    # for a file with arrays.
    report = compiler.check("f = x*y", at="x=2")
    (x, given), (y, drawn) = report.points[0].values
    assert (x, given, y) == ("x", 2.0, "y") and -3 <= drawn <= 3 and drawn != round(drawn)
    assert report.points[0].origin == "given" and report.ok


def test_a_formula_finite_nowhere_says_why_the_last_draw_failed():
    with pytest.raises(GradcError) as caught:
        compiler.check("f = sqrt(-1 - x^2)")
    assert caught.value.message.endswith(
        "give one with --at; the last was rejected because stage f fails in the forward "
        "pass: has no real value: shxsqr = -1.006561")


def test_given_and_random_points_together():
    report = compiler.check("f = x*y", at=[{"x": 1, "y": 2}, "x=3 y=4"], points=2)
    assert [p.origin for p in report.points] == ["given", "given", "random", "random"]


def test_at_least_one_point():
    with pytest.raises(GradcError, match="expected at least one point"):
        compiler.check("f = x", points=0)


def test_path_or_source(tmp_path):
    path = tmp_path / "g.grad"
    path.write_text("f = x^2\n", encoding="utf-8")
    assert compiler.check(path, at={"x": 3}).source == str(path)
    assert compiler.check(str(path), at={"x": 3}).source == str(path)
    assert compiler.check("f = x^2", at={"x": 3}).source == "<source>"
    with pytest.raises(GradcError, match="cannot read the formula file"):
        compiler.check(str(tmp_path / "missing.txt"))


# -- SymPy's time budget -------------------------------------------------------------

def _heavy_formula() -> str:
    # Each stage uses the previous one twice, so SymPy's expression trees,
    # which do not share, grow exponentially; the module stays small.
    lines = ["h0 = σ(w*x + b)"]
    lines += [f"h{i} = tanh(w*h{i - 1} + x*h{max(0, i - 2)}) + σ(h{i - 1})" for i in range(1, 9)]
    return "\n".join(lines + ["f = log(1 + h8^2)"])


def test_sympy_over_budget_falls_back_to_central_differences():
    report = compiler.check(_heavy_formula(), points=1, sympy_timeout=0.2)
    assert report.sympy == "skipped: it took longer than 0.2 s"
    assert report.ok
    rows = report.points[0].rows
    assert all(row.sympy is None for row in rows)
    assert rows[0].verdict == "unchecked"
    assert all(row.verdict == "ok" and row.fd is not None for row in rows[1:])


def test_a_wrong_gradient_is_still_caught_without_sympy(monkeypatch):
    _break(monkeypatch, "tanh", local=("1 + {out}**2",))
    report = compiler.check("f = tanh(x) * y", at={"x": 0.5, "y": 2}, sympy_timeout=0)
    assert [row.name for _, row in report.failures] == ["x"]
    assert "central differences give" in report.failures[0][1].reason


def test_the_budget_restores_the_alarm_handler():
    import signal
    before = signal.getsignal(signal.SIGALRM)
    compiler.check("f = x", at={"x": 1}, sympy_timeout=5)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)



BCE = "ŷ = σ(z)\nl = -y*log(ŷ) - (1 - y)*log(1 - ŷ)\n"


@pytest.mark.parametrize("z, value", [(700, 700.0), (-700, math.exp(-700))])
def test_the_oracle_takes_the_digits_an_extreme_point_needs(z, value):
    """1 - σ(-700) is 1 to 300 digits: the oracle raises its precision
    until two precisions agree, instead of answering 0 or nothing."""
    report = compiler.check(BCE, at={"z": z, "y": 0})
    row = report.points[0].rows[0]
    assert (row.verdict, row.generated, row.reason) == ("ok", value, "")
    assert row.sympy == pytest.approx(value, rel=1e-15)


def test_digits_are_doubled_until_two_precisions_agree():
    import mpmath

    def counted(results):
        digits = []
        return digits, lambda: digits.append(mpmath.mp.dps) or results()

    digits, run = counted(lambda: [0, mpmath.mpf(1) - 1 / (1 + mpmath.exp(-700))])
    assert oracle.settled(run) == [0.0, pytest.approx(math.exp(-700), rel=1e-15)]
    assert digits == [40, 80, 160, 320, 640]
    # SymPy's own 0 is exact; a 0 that rounding made may not be.
    digits, run = counted(lambda: [0, mpmath.mpf(2)])
    assert (oracle.settled(run), digits) == ([0.0, 2.0], [40, 80])
    digits, run = counted(lambda: [mpmath.mpf(1) + mpmath.mpf(10) ** -2000 - 1])
    assert (oracle.settled(run), digits) == ([0.0], [40, 80, 160, 320, 640, 1280])


def test_what_goes_unchecked_says_why_and_the_verdict_says_so():
    report = compiler.check(EXAMPLES / "multiply.txt", at={"x": 1, "y": 2}, sympy_timeout=0)
    value = report.points[0].rows[0]
    assert (value.verdict, value.reason) == (
        "unchecked", "SymPy was skipped: it took longer than 0 s, and a value has nothing "
                     "else to compare with")
    text = to_text(report)
    assert "\n  unchecked: f: SymPy was skipped: it took longer than 0 s, and a value has " \
           "nothing else to compare with\n" in text
    assert text.endswith("\nok, but not everything was checked: 1 of 3 quantities are "
                         "unchecked, in part or whole (see above); the rest agree "
                         "(rtol 1e-09, atol 1e-12)\n")


def test_two_numbers_near_zero_that_agree_within_atol_show_their_difference():
    report = compiler.check("f = x", at={"x": 1})
    tiny = replace(report.points[0].rows[0], generated=3.5e-18, sympy=3.4e-43, error=1e25)
    shown = to_text(replace(report, points=(replace(report.points[0], rows=(tiny,)),)))
    assert "3.5e-18 abs  ok" in shown and "e+25" not in shown
