"""`gradc explain`: the lecture's numbers stage by stage, at the point
given for a file of numbers and at a point drawn or given for a file that
declares shapes; the numbers are the module's own, the first stage whose
value or gradient is not finite is named, and bad input is refused."""

from __future__ import annotations

import ast
import math
import os
import random
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from compiler import gates
from compiler.build import build
from compiler.cli import main
from compiler.driver import adjoint_ir, compile_source
from compiler.emit.context import context
from compiler.front.parse import parse
from compiler.front.resolve import resolve
from compiler.inputs import choose_sizes, draw
from compiler.loader import module_from_source
from compiler.tools.explain import explanation
from compiler.tools.trace import trace, trace_drawn
from conftest import EXAMPLES, GENERATED, ROOT

STAGED = EXAMPLES / "staged.txt"
ARRAYS = sorted((EXAMPLES / "arrays").glob("*.txt"))
TWO_LAYER = EXAMPLES / "arrays" / "two_layer.txt"
GOLDEN = ROOT / "tests" / "golden"
DRAW = ROOT / "docs" / "draw.md"


def explain(capsys, source, *options):
    """`gradc explain source options...`: its status, output and errors."""
    status = main(["explain", str(source), *map(str, options)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def formula(tmp_path, text: str):
    path = tmp_path / "formula.txt"
    path.write_text(text, encoding="utf-8")
    return path


def saved_point(tmp_path, **arrays):
    """An --at-file holding the arrays."""
    path = tmp_path / "point.npz"
    np.savez(path, **arrays)
    return path


def table(out: str, title: str) -> list[list[str]]:
    """The rows under a table's header line, split at runs of 2+ spaces."""
    lines = out.split(f"{title}\n\n", 1)[1].split("\n\n")[0].splitlines()
    return [re.split(r"  +", line) for line in lines[1:]]


def indented(text: str) -> str:
    """Text as the docs show it: each line indented by four spaces, a blank
    line left blank."""
    return "".join(f"    {line}".rstrip() + "\n" for line in text.splitlines())


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


def cached_names(ir) -> tuple[str, ...]:
    """The names forward caches, read from the cache tuple the module's
    emitter writes."""
    display = ast.parse(context(ir).cache_tuple, mode="eval").body
    return tuple(name.id for name in display.elts)


# What explain prints

def test_forward_rows_are_the_lecture_stages_with_their_values(capsys):
    status, out, err = explain(capsys, STAGED, "--at", "x=3", "y=-4")
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


def test_backward_rows_are_local_times_upstream_in_the_lectures_order(capsys):
    status, out, _ = explain(capsys, STAGED, "--at", "x=3", "y=-4")
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


def test_columns_line_up_and_colour_changes_nothing_else():
    ir = adjoint_ir(STAGED.read_text(encoding="utf-8"))
    plain = explanation(ir, trace(ir, (3.0, -4.0)))
    painted = explanation(ir, trace(ir, (3.0, -4.0)), colour=True)
    assert "\033[31m-0.7915934472725935\033[0m" in painted and "\033" not in plain
    assert re.sub(r"\033\[[0-9;]*m", "", painted) == plain
    backward = plain.split("backward from df = 1.0\n\n")[1].split("\n\n")[0].splitlines()
    column = backward[0].index("product")
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in backward)
    assert all(line == line.rstrip() for line in plain.splitlines())


@pytest.mark.parametrize("name", ["softmax_regression", "linear_layer", "two_layer"])
def test_explain_matches_the_golden(capsys, name):
    """Regenerate with: gradc explain examples/arrays/NAME.txt > tests/golden/explain_NAME.txt"""
    status, out, _ = explain(capsys, EXAMPLES / "arrays" / f"{name}.txt")
    assert status == 0
    assert out == (GOLDEN / f"explain_{name}.txt").read_text(encoding="utf-8")


def test_explain_is_the_same_under_another_hash_seed():
    out = subprocess.run([sys.executable, "-m", "compiler", "explain", str(TWO_LAYER)],
                         check=True, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONHASHSEED="12345")).stdout
    assert out == (GOLDEN / "explain_two_layer.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("source", ARRAYS, ids=lambda path: path.stem)
def test_explain_works_on_every_array_example(capsys, source):
    status, out, err = explain(capsys, source)
    assert (status, err) == (0, "")
    assert "gradient:" in out


def test_a_line_shows_the_shapes_of_its_factors(capsys):
    status, out, _ = explain(capsys, EXAMPLES / "arrays" / "matrix_product.txt")
    assert status == 0
    assert "dW = dD @ X.T  [5, 3] @ [3, 10] -> [5, 10]" in out
    assert "dX = W.T @ dD  [10, 5] @ [5, 3] -> [10, 3]" in out


# Its numbers are the module's

def test_values_are_exactly_the_generated_modules():
    module = module_from_source((GENERATED / "staged.py").read_text(encoding="utf-8"),
                                "explained_staged", "staged.py")
    value, cache = module.forward(3.0, -4.0)
    ir = adjoint_ir(STAGED.read_text(encoding="utf-8"))
    traced = trace(ir, (3.0, -4.0))
    assert traced.values["f"] == value
    assert tuple(traced.values[name] for name in cached_names(ir)) == tuple(cache)
    assert (traced.adjoints["dx"], traced.adjoints["dy"]) == module.backward(cache)


@pytest.mark.parametrize("source", ARRAYS, ids=lambda path: path.stem)
def test_the_numbers_are_the_modules_at_checks_first_point(source):
    """The trace runs the module's lines at the point check draws first: its
    values and gradients are the module's, bit for bit."""
    text = source.read_text(encoding="utf-8")
    result = trace_drawn(build(text), seed=3)
    program = resolve(parse(text))
    module = module_from_source(compile_source(text), "explained", "<test>")
    staged = result.ir.staged
    output = next(s.shape for s in staged.stages if s.name == staged.output)
    sizes = choose_sizes(program, {})
    point = draw(module, program, sizes, random.Random(3),
                 tuple(sizes.get(d, d) for d in output))
    assert np.array_equal(result.values[staged.output], point.value)
    for name, gradient in zip(staged.gradient_inputs, point.gradient):
        assert np.array_equal(result.adjoints["d" + name], gradient), name


def test_the_trace_runs_the_modules_own_backward_lines():
    """A number is traced as an array is: each step is a line of the math
    module's backward pass, its term the product the lecture writes."""
    built = build(STAGED.read_text(encoding="utf-8"))
    traced = trace(built.adjoint, (3.0, -4.0))
    module_text = built.module("math")
    backward = module_text[module_text.index("def backward"):module_text.index("def grad")]
    assert [step.line for step in traced.steps] == [
        line.strip() for line in backward.splitlines()[1:] if line.strip().startswith("d")]
    assert all(step.term == step.local * step.upstream for step in traced.steps)


# The point: given, drawn, and the passes that make the module

def test_explain_takes_the_compile_commands_pass_options(tmp_path, capsys):
    source = formula(tmp_path, "f(x, y) = (x + y)^2 + (x + y) + 0*y\n")
    _, merged, _ = explain(capsys, source, "--at", "x=1", "y=2")
    assert [row[0] for row in table(merged, "forward at x = 1.0, y = 2.0")] == [
        "xpy", "xpysqr", "xpysqrpxpy", "scy", "f"]
    _, plain, _ = explain(capsys, source, "--at", "x=1", "y=2", "-O0")
    assert [row[0] for row in table(plain, "forward at x = 1.0, y = 2.0")] == [
        "xpy", "xpysqr", "xpy2", "sum2", "scy", "f"]
    status, only_y, _ = explain(capsys, source, "--at", "x=1", "y=2", "--wrt", "y")
    assert status == 0
    assert only_y.endswith("f = 12.0\ngradient: dy = 7.0\n")


def test_dims_and_seed_choose_the_inputs(capsys):
    source = EXAMPLES / "arrays" / "softmax_regression.txt"
    status, out, _ = explain(capsys, source, "--dims", "N=7", "--seed", "5")
    assert status == 0
    assert "dimensions: N=7 (given), D=2 C=3 (chosen; set with --dims)" in out
    assert "with seed 5" in out
    assert out != explain(capsys, source, "--dims", "N=7")[1]


def test_at_gives_the_number_inputs_of_an_array_file(capsys):
    status, out, _ = explain(capsys, TWO_LAYER, "--at", "reg=0.25")
    assert status == 0
    assert out.startswith("loss(X, W1, b1, W2, b2, Y, reg) at the given inputs "
                          "(any others random)\n")
    assert "\nreg    a number  0.25\n" in out
    random_out = explain(capsys, TWO_LAYER)[1]
    assert [line for line in random_out.splitlines() if line.startswith("X ")] == \
        [line for line in out.splitlines() if line.startswith("X ")]


def test_at_file_gives_arrays_and_fixes_the_sizes_they_span(tmp_path, capsys):
    X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    Y = np.eye(5)[[1, 3]]
    point = saved_point(tmp_path, X=X, Y=Y, reg=np.float64(0.1))
    status, out, _ = explain(capsys, TWO_LAYER, "--at-file", point)
    assert status == 0
    assert "dimensions: N=2 D=3 C=5 (given), H=4 (chosen; set with --dims)" in out
    assert "\nX      [N, D]    [[1, 2, 3], [0.5, -1, 0]]\n" in out
    assert "\nY      [N, C]    min 0, max 1, norm 1.414\n" in out
    assert "\nreg    a number  0.1\n" in out


# The first stage that is not finite, or whose line raises

@pytest.mark.parametrize("text, options, ending", [
    pytest.param("f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)\n", ["--at", "x=1e200", "y=1"],
                 "\nstage xpysqr (1:32) overflowed: xpy = 1e+200\n", id="forward overflow"),
    pytest.param("f = log(x - 2)", ["--at", "x=1"],
                 "\nstage f (1:5) has no real value: shx = -1.0\n", id="outside the domain"),
    pytest.param("f = sqrt(x)", ["--at", "x=0"],
                 "\n\nstage f (1:5) divided by zero in the backward pass, into dx: "
                 "local gradient 0.5 / f at f = 0.0\n", id="backward division by zero"),
    pytest.param("f = x*y*z", ["--at", "x=1e300", "y=1e-300", "z=1e300"],
                 "\n\nstage xy (1:5) overflowed in the backward pass, into dy: "
                 "local gradient x = 1e+300 times dxy = 1e+300\n", id="backward overflow"),
    # Check's draws are redrawn until the module's value and gradient are
    # finite; a stage off the gradient's path (--wrt y) may still overflow.
    pytest.param("x: [D]\ny: [D]\nf = sum(y) + sum(min(exp(1000 * x), 1.0))\n", ["--wrt", "y"],
                 "stage expscx (3:22) overflowed (2 of 2 entries)\n", id="array overflow"),
])
def test_the_first_stage_that_is_not_finite_is_named(tmp_path, capsys, text, options, ending):
    status, out, err = explain(capsys, formula(tmp_path, text), *options)
    assert (status, err) == (1, "")
    assert out.endswith(ending)


def test_a_forward_overflow_ends_the_lecture_at_its_stage(tmp_path, capsys):
    source = formula(tmp_path, "f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)\n")
    _, out, _ = explain(capsys, source, "--at", "x=1e200", "y=1")
    assert [row[0] for row in table(out, "forward at x = 1e+200, y = 1.0")] == [
        "sigy", "num", "sigx", "xpy"]
    assert "backward" not in out


def test_a_line_that_raises_is_named_at_its_stage(monkeypatch, capsys, tmp_path):
    """A rule whose code cannot run (a forgotten transpose) is wrong code,
    not a bad point: explain names the line that raised, as check fails it."""
    row = replace(gates.GATES["matmul"], vjp=lambda i, r: ("{g} @ {b}", "{a}.T @ {g}")[i])
    monkeypatch.setitem(gates.GATES, "matmul", row)
    source = formula(tmp_path, "Z(W: [H, K], X: [K, N]) = W @ X\n")
    status, out, err = explain(capsys, source)
    assert status == 1 and err == ""
    assert out.splitlines()[-1].startswith(
        "stage Z (1:27) in the backward pass, into dW, raises ValueError: matmul: ")


# Bad input

@pytest.mark.parametrize("source, options, message", [
    (STAGED, ["--at", "x=3", "z=1"], "'z' is not an input: the inputs are x, y"),
    (STAGED, [], "expected a point: --at NAME=VALUE ..., such as --at x=3 y=-4"),
    (STAGED, ["--dims", "N=2"], "--dims and --seed choose an array formula's inputs, but "
                                "this formula declares no shapes: give the point with --at"),
    (EXAMPLES / "arrays" / "dense.txt", ["--at", "x=1"],
     "--at gives numbers, but 'x' is declared [D]: give its entries with --at-file, or "
     "leave them random (--seed)"),
], ids=["not an input", "no point", "dims for numbers", "at for an array"])
def test_a_point_the_file_does_not_take_is_bad_input(capsys, source, options, message):
    status, out, err = explain(capsys, source, *options)
    assert (status, out) == (2, "")
    assert err == f"{source}: error: {message}\n"


@pytest.mark.parametrize("arrays, extra, message", [
    ({"X": np.ones(2)}, [], "'X' in {path} has shape (2,), but it is declared [N, D]"),
    ({"X": np.ones((2, 3))}, ["--dims", "N=4"],
     "'X' in {path} has shape (2, 3), but it is declared [N, D] and N is 4"),
    ({"X": np.ones((2, 3)), "W1": np.ones((4, 2))}, [],
     "'W1' in {path} has shape (4, 2), but it is declared [D, H] and D is 3"),
    ({"Z": np.ones(2)}, [], "'Z' in {path} is not an input: the inputs are X, W1, b1, W2, "
                            "b2, Y, reg"),
    ({"reg": np.ones(2)}, [], "'reg' in {path} has shape (2,), but it is a number"),
    ({"X": np.full((2, 3), np.nan)}, [], "'X' in {path} holds a value that is not finite"),
    ({"X": np.array([["a", "b"]])}, [], "'X' in {path} holds <U1 values: expected real numbers"),
    ({"X": np.ones((2, 3)) * 1j}, [],
     "'X' in {path} holds complex128 values: expected real numbers"),
])
def test_a_stored_point_that_does_not_fit_is_bad_input(arrays, extra, message, tmp_path,
                                                        capsys):
    point = saved_point(tmp_path, **arrays)
    status, out, err = explain(capsys, TWO_LAYER, "--at-file", point, *extra)
    assert (status, out) == (2, "")
    assert err == f"{TWO_LAYER}: error: {message.format(path=point)}\n"


def test_a_file_that_is_not_npz_is_bad_input(tmp_path, capsys):
    point = tmp_path / "point.npz"
    point.write_text("X = 1\n", encoding="utf-8")
    status, _, err = explain(capsys, TWO_LAYER, "--at-file", point)
    assert status == 2
    assert err.startswith(f"{TWO_LAYER}: error: cannot read the --at-file '{point}': "
                          "expected a NumPy .npz file (")


def test_given_values_that_fail_every_draw_are_named_by_the_modules_reason(tmp_path, capsys):
    point = saved_point(tmp_path, y=np.array([1, 5, 2]))
    source = EXAMPLES / "arrays" / "softmax_loss.txt"
    status, _, err = explain(capsys, source, "--at-file", point, "--dims", "C=3")
    assert status == 2
    assert err.startswith(
        f"{source}: error: found no point where the output and its gradient are finite in "
        "100 random draws from [-3, 3] of the inputs --at and --at-file do not give; the "
        "last was rejected because the module raises ValueError: y holds class labels in "
        "0 ... 2")


# The docs

@pytest.mark.parametrize("source, options, last_line_only", [
    (STAGED, ["--at", "x=3", "y=-4"], False),
    (STAGED, ["--at", "x=1e200", "y=1"], True),
    (EXAMPLES / "arrays" / "linear_layer.txt", [], False),
], ids=["numbers", "numbers overflowing", "arrays"])
def test_the_docs_show_what_explain_prints(capsys, source, options, last_line_only):
    _, out, _ = explain(capsys, source, *options)
    shown = out.splitlines(True)[-1] if last_line_only else out
    assert indented(shown) in DRAW.read_text(encoding="utf-8")
