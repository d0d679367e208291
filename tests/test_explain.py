"""`gradc explain`: the lecture's numbers stage by stage, and the first
stage whose value or gradient is not finite."""

from __future__ import annotations

import ast
import math
import re

import pytest

from compiler.cli import main
from compiler.driver import adjoint_ir
from compiler.tools.explain import explanation
from compiler.loader import module_from_source
from compiler.emit.context import context
from compiler.tools.trace import trace
from conftest import EXAMPLES, GENERATED, ROOT

STAGED = EXAMPLES / "staged.txt"


def explain(capsys, source, *point):
    status = main(["explain", str(source), "--at", *point])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def formula(tmp_path, text: str):
    path = tmp_path / "formula.txt"
    path.write_text(text, encoding="utf-8")
    return path


def table(out: str, title: str) -> list[list[str]]:
    """The rows under a table's header line, split at runs of 2+ spaces."""
    lines = out.split(f"{title}\n\n", 1)[1].split("\n\n")[0].splitlines()
    return [re.split(r"  +", line) for line in lines[1:]]


def lecture(x: float, y: float) -> tuple[dict, dict]:
    """The lecture's own staged forward and backward pass, as it writes them."""
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den**2)) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    dsigy = (1) * dnum
    return ({"sigy": sigy, "num": num, "sigx": sigx, "xpy": xpy, "xpysqr": xpysqr,
             "den": den, "invden": invden, "f": f},
            {"dnum": dnum, "dinvden": dinvden, "dden": dden, "dsigx": dsigx,
             "dxpysqr": dxpysqr, "dxpy": dxpy, "dsigy": dsigy})


def test_forward_rows_are_the_lecture_stages_with_their_values(capsys):
    status, out, err = explain(capsys, STAGED, "x=3", "y=-4")
    assert status == 0 and err == ""
    rows = table(out, "forward at x = 3.0, y = -4.0")
    assert [row[:3] for row in rows] == [
        ["sigy", "σ(y)", "2:16"], ["num", "x + sigy", "2:11"], ["sigx", "σ(x)", "2:25"],
        ["xpy", "x + y", "2:32"], ["xpysqr", "xpy^2", "2:32"], ["den", "sigx + xpysqr", "2:24"],
        ["invden", "1/den", "2:11"], ["f", "num × invden", "2:11"]]
    values, _ = lecture(3.0, -4.0)
    for name, _, _, value in rows:
        # gradc's σ is the lecture's up to rounding (it is evaluated stably).
        assert float(value) == pytest.approx(values[name], rel=1e-15, abs=0), name
    assert rows[-1][3] == "1.5456448841066441"


def test_values_are_exactly_the_generated_modules():
    module = module_from_source((GENERATED / "staged.py").read_text(encoding="utf-8"),
                                "explained_staged", "staged.py")
    value, cache = module.forward(3.0, -4.0)
    ir = adjoint_ir(STAGED.read_text(encoding="utf-8"))
    traced = trace(ir, (3.0, -4.0))
    assert traced.values["f"] == value
    assert tuple(traced.values[name] for name in cached_names(ir)) == tuple(cache)
    assert (traced.adjoints["dx"], traced.adjoints["dy"]) == module.backward(cache)


def cached_names(ir) -> tuple[str, ...]:
    """The names forward caches, read from the cache tuple the module's
    emitter writes."""
    display = ast.parse(context(ir).cache_tuple, mode="eval").body
    return tuple(name.id for name in display.elts)


def test_backward_rows_are_local_times_upstream_in_the_lectures_order(capsys):
    status, out, _ = explain(capsys, STAGED, "x=3", "y=-4")
    rows = table(out, "backward from df = 1.0")
    assert [row[:3] for row in rows] == [
        ["f", "dnum =", "invden"], ["f", "dinvden =", "num"],
        ["invden", "dden =", "-1.0 / (den**2)"], ["den", "dsigx =", "1"],
        ["den", "dxpysqr =", "1"], ["xpysqr", "dxpy =", "2 * xpy"], ["xpy", "dx =", "1"],
        ["xpy", "dy =", "1"], ["sigx", "dx +=", "(1 - sigx) * sigx"], ["num", "dx +=", "1"],
        ["num", "dsigy =", "1"], ["sigy", "dy +=", "(1 - sigy) * sigy"]]
    _, gradients = lecture(3.0, -4.0)
    for _, into, _, local, upstream, product in rows:
        name, seen = upstream.split(" = ")
        assert float(product) == float(local) * float(seen)
        target = into.split()[0]
        if target in gradients:
            assert float(product) == pytest.approx(gradients[target], rel=1e-15, abs=0)
    assert rows[2][3:] == ["-0.26229193647725", "dinvden = 3.0179862099620918",
                           "-0.7915934472725935"]
    assert out.endswith("f = 1.5456448841066441\n"
                        "gradient: dx = 2.0595697955721652, dy = 1.5922327514838093\n")


def test_columns_line_up_and_colour_changes_nothing_else(capsys):
    ir = adjoint_ir(STAGED.read_text(encoding="utf-8"))
    plain = explanation(ir, trace(ir, (3.0, -4.0)))
    painted = explanation(ir, trace(ir, (3.0, -4.0)), colour=True)
    assert "\033[31m-0.7915934472725935\033[0m" in painted and "\033" not in plain
    assert re.sub(r"\033\[[0-9;]*m", "", painted) == plain
    backward = plain.split("backward from df = 1.0\n\n")[1].split("\n\n")[0].splitlines()
    column = backward[0].index("product")
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in backward)
    assert all(line == line.rstrip() for line in plain.splitlines())


def test_the_trace_runs_the_modules_own_backward_lines():
    """A number is traced as an array is: each step is a line of the math
    module's backward pass, its term the product the lecture writes."""
    from compiler.build import build

    formula = build(STAGED.read_text(encoding="utf-8"))
    traced = trace(formula.adjoint, (3.0, -4.0))
    module_text = formula.module("math")
    backward = module_text[module_text.index("def backward"):module_text.index("def grad")]
    assert [step.line for step in traced.steps] == [
        line.strip() for line in backward.splitlines()[1:] if line.strip().startswith("d")]
    assert all(step.term == step.local * step.upstream for step in traced.steps)


def test_a_forward_overflow_is_named_at_its_stage(tmp_path, capsys):
    source = formula(tmp_path, "f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)\n")
    status, out, err = explain(capsys, source, "x=1e200", "y=1")
    assert status == 1 and err == ""
    assert [row[0] for row in table(out, "forward at x = 1e+200, y = 1.0")] == [
        "sigy", "num", "sigx", "xpy"]
    assert "backward" not in out
    assert out.endswith("\nstage xpysqr (1:32) overflowed: xpy = 1e+200\n")


@pytest.mark.parametrize("text, point, last", [
    ("f = sqrt(x)", ["x=0"],
     "stage f (1:5) divided by zero in the backward pass, into dx: "
     "local gradient 0.5 / f at f = 0.0"),
    ("f = x*y*z", ["x=1e300", "y=1e-300", "z=1e300"],
     "stage xy (1:5) overflowed in the backward pass, into dy: "
     "local gradient x = 1e+300 times dxy = 1e+300"),
])
def test_a_backward_failure_is_named_at_its_stage(tmp_path, capsys, text, point, last):
    status, out, _ = explain(capsys, formula(tmp_path, text), *point)
    assert status == 1
    assert out.endswith(f"\n\n{last}\n")


def test_a_value_outside_the_domain_is_named(tmp_path, capsys):
    status, out, _ = explain(capsys, formula(tmp_path, "f = log(x - 2)"), "x=1")
    assert status == 1
    assert out.endswith("\nstage f (1:5) has no real value: shx = -1.0\n")


def test_a_bad_point_is_bad_input(capsys):
    status, out, err = explain(capsys, STAGED, "x=3", "z=1")
    assert status == 2 and out == ""
    assert err == f"{STAGED}: error: 'z' is not an input: the inputs are x, y\n"


def test_the_documented_example_is_current(capsys):
    _, out, _ = explain(capsys, STAGED, "x=3", "y=-4")
    shown = "".join(f"    {line}" if line.strip() else line for line in out.splitlines(True))
    assert shown in (ROOT / "docs" / "draw.md").read_text(encoding="utf-8")
    _, out, _ = explain(capsys, STAGED, "x=1e200", "y=1")
    assert f"    {out.splitlines()[-1]}\n" in (ROOT / "docs" / "draw.md").read_text()


REPEATED = "f(x, y) = (x + y)^2 + (x + y) + 0*y\n"


def test_explain_takes_the_compile_commands_pass_options(tmp_path, capsys):
    source = formula(tmp_path, REPEATED)
    _, merged, _ = explain(capsys, source, "x=1", "y=2")
    assert [row[0] for row in table(merged, "forward at x = 1.0, y = 2.0")] == [
        "xpy", "xpysqr", "xpysqrpxpy", "scy", "f"]
    _, plain, _ = explain(capsys, source, "x=1", "y=2", "-O0")
    assert [row[0] for row in table(plain, "forward at x = 1.0, y = 2.0")] == [
        "xpy", "xpysqr", "xpy2", "sum2", "scy", "f"]
    status, only_y, _ = explain(capsys, source, "x=1", "y=2", "--wrt", "y")
    assert status == 0
    assert only_y.endswith("f = 12.0\ngradient: dy = 7.0\n")
