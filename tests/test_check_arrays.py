"""`gradc check` on array formulas: the oracle, the sizes, the report, the CLI,
and broken array rules that it must catch."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace

import pytest

import compiler
from compiler import gates
from compiler.checker import meaning, oracle as oracles
from compiler.checker.compare import FD_DIRECTIONS
from compiler.checker.report import to_json, to_text
from compiler.cli import main
from compiler.front.parse import parse
from compiler.front.resolve import resolve
from check_schema import conforms, documented_schema
from conftest import EXAMPLES, ROOT
from test_check_cli import gradc

# The lectures' vectorized code, as formulas.
FORMULAS = {
    "matrix_product_layer": "Z(W: [H, K], X: [K, N]) = W @ X",
    "relu_layer": "Z(X: [N, D]) = relu(X)",
    "linear_layer": "z(x: [D], W: [D, H]) = x @ W",
    "dense_layer": "z(W: [H, D], x: [D], b: [H]) = W @ x + b",
    "dense_bce": "W: [H, D]\nx: [D]\nb: [H]\ny: [H]\nz = W @ x + b\n"
                 "loss = sum(-y * log(σ(z)) - (1 - y) * log(1 - σ(z)))",
    "softmax_regression": "X: [N, D]\nW: [D, C]\nb: [C]\nY: [N, C]\n"
                          "loss = -sum(Y * log(softmax(X @ W + b))) / N",
    "two_layer_net": "X: [N, D]\nW1: [D, H]\nb1: [H]\nW2: [H, C]\nb2: [C]\nY: [N, C]\n"
                     "A = relu(X @ W1 + b1)\nS = A @ W2 + b2\n"
                     "loss = -sum(Y * log_softmax(S)) / N",
}

# One formula per array row of the gate table, axis forms included.
ROWS = {
    "matmul": "f(A: [M, K], B: [K, N]) = sum(A @ B)",
    "transpose": "f(A: [M, N], B: [N, M]) = sum(Aᵀ * B)",
    "outer": "Z(u: [M], v: [N]) = outer(u, v)",
    "norm": "f(A: [M, N]) = norm(A)",
    "sum": "f(A: [M, N]) = sum(A * A)",
    "sum0": "z(A: [M, N]) = sum(A, 0)",
    "sum1": "z(A: [M, N]) = sum(A, 1)",
    "mean": "f(A: [M, N]) = mean(A * A)",
    "mean0": "z(A: [M, N]) = mean(A * A, 0)",
    "mean1": "z(A: [M, N]) = mean(A * A, 1)",
    "logsumexp": "f(A: [M, N]) = logsumexp(A)",
    "logsumexp0": "z(A: [M, N]) = logsumexp(A, 0)",
    "logsumexp1": "z(A: [M, N]) = logsumexp(A, 1)",
    "log_softmax": "Z(A: [M, N]) = log_softmax(A)",
    "log_softmax0": "Z(A: [M, N]) = log_softmax(A, 0)",
    "log_softmax1": "Z(A: [M, N]) = log_softmax(A, 1)",
    # The shift by each row's maximum is a stage of log_softmax's own.
    "shift": "Z(A: [M, N]) = log_softmax(A * A)",
    "shift0": "Z(A: [M, N]) = softmax(A, 0)",
    "shift1": "Z(A: [M, N]) = log_softmax(A * A, 1)",
    "softmax": "z(x: [N]) = softmax(x)",
    "softmax0": "Z(A: [M, N]) = softmax(A, 0)",
    "softmax1": "Z(A: [M, N]) = softmax(A, 1)",
    "amax": "f(A: [M, N]) = max(A * A)",
    "amax0": "z(A: [M, N]) = max(A, axis=0)",
    "amax1": "z(A: [M, N]) = max(A, axis=N)",
    "amin": "f(A: [M, N]) = min(A)",
    "amin0": "z(A: [M, N]) = min(A, axis=M)",
    "amin1": "z(A: [M, N]) = min(A * A, axis=1)",
    "column": "Z(A: [M, N]) = A - mean(A, axis=1)",
    "pick": "S: [M, N]\ny: [M] of N\nz = pick(S * S, y)",
    "onehot": "S: [M, N]\ny: [M] of N\nZ = onehot(y) * S",
}


@pytest.fixture
def saved(tmp_path):
    """The path of a formula of FORMULAS, written to a file."""
    def save(name):
        path = tmp_path / f"{name}.txt"
        path.write_text(FORMULAS[name] + "\n", encoding="utf-8")
        return path
    return save


def _break(monkeypatch, name, **changes):
    row = replace(gates.GATES[name], **changes)
    monkeypatch.setitem(gates.GATES, name, row)
    for spelling in row.spellings:
        monkeypatch.setitem(gates.SPELLINGS, spelling, row)


def _rows(report, point=0):
    return {row.name: row for row in report.points[point].rows}


# -- correct modules pass ------------------------------------------------------

@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_the_lectures_array_formulas_pass(name):
    report = compiler.check(FORMULAS[name])
    assert report.ok and report.sympy == "used", to_text(report)
    assert len(report.points) == 3
    assert all(row.verdict == "ok" for p in report.points for row in p.rows)


def test_every_entry_is_compared():
    report = compiler.check(FORMULAS["two_layer_net"], points=1)
    sizes = dict(report.dims)
    assert sizes == {"N": 2, "D": 3, "H": 4, "C": 5}
    for row in report.points[0].rows[1:]:
        assert row.entries == math.prod(sizes[d] for d in row.shape), row.name
        assert row.error < 1e-12 and row.fd is not None
    assert report.differences == "every entry"


def test_a_layer_is_checked_through_a_random_upstream():
    report = compiler.check(FORMULAS["dense_layer"], dims="H=3 D=2")
    point = report.points[0]
    assert point.upstream.shape == (3,)
    assert not (point.upstream == report.points[1].upstream).all()
    value = _rows(report)["z"]
    assert value.is_value and value.entries == 3 and value.shape == ("H",)
    # z = W @ x + b, so db is the upstream itself.
    assert _rows(report)["b"].generated in list(point.upstream)


def test_scalar_inputs_of_a_shaped_file_are_random_numbers():
    report = compiler.check("f(x: [D], c) = sum(x * x) * c", points=2)
    values = [dict(p.values)["c"] for p in report.points]
    assert all(isinstance(c, float) and -3 <= c <= 3 for c in values)
    assert values[0] != values[1] and report.ok


@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_array_row_agrees_with_the_oracle_entry_by_entry(name):
    report = compiler.check(ROWS[name], points=1)
    assert report.ok and report.sympy == "used", to_text(report)


def test_there_is_a_formula_for_every_array_row():
    assert set(ROWS) == {n for n, g in gates.GATES.items() if not g.on_numbers}


def test_the_oracle_has_a_meaning_for_every_array_gate_a_formula_can_spell():
    spelled = {n for n, g in gates.GATES.items() if g.spellings and not g.on_numbers}
    # `·` is the matrix product between arrays, a product otherwise.
    assert set(meaning.ARRAY) == spelled | {"cdot"}
    assert meaning.TAKES_AXIS == {n for n in spelled if gates.GATES[n].optional}


def test_the_oracle_means_what_numpy_computes():
    np = pytest.importorskip("numpy")
    source = "f(A: [M, K], B: [K, N], x: [N]) = sum(softmax(A @ B, 0) @ x)"
    oracle = oracles.build(resolve(parse(source)), {"M": 2, "K": 3, "N": 4})
    A = np.arange(6.0).reshape(2, 3) / 10
    B = np.arange(12.0).reshape(3, 4) / 10 - 0.5
    x = np.arange(4.0) - 1
    S = A @ B
    expected = np.sum(np.exp(S) / np.sum(np.exp(S), axis=0) @ x)
    point = [*A.ravel(), *B.ravel(), *x.ravel()]
    value = oracle.output.entries[0].subs(dict(zip(oracle.symbols, point)))
    assert float(value) == pytest.approx(expected, rel=1e-13)


def test_kinks_are_reported_and_not_differenced():
    report = compiler.check("f(x: [D], y: [D]) = sum(relu(x - x) + max(x, x, y))", points=1)
    point = report.points[0]
    assert report.ok
    assert point.kinks == (
        "relu at 0 at stage reluxmx: the gradient is 0 by convention",
        "max tie at stage maxxxy: the first argument takes the gradient by convention")
    assert [row.verdict for row in point.rows] == ["ok", "kink", "kink"]


# -- sizes and points ----------------------------------------------------------

def test_chosen_sizes_are_distinct_and_miss_the_written_numbers():
    report = compiler.check("f(A: [N, 3], B: [3, M], C: [M, K]) = sum(A @ B @ C)", points=1)
    assert dict(report.dims) == {"N": 2, "M": 4, "K": 5}
    assert report.given == ()


def test_given_sizes_are_kept_and_the_others_chosen_around_them():
    report = compiler.check(FORMULAS["two_layer_net"], dims={"N": 3, "C": 2}, points=1)
    assert dict(report.dims) == {"N": 3, "D": 4, "H": 5, "C": 2}
    assert set(report.given) == {"N", "C"}
    assert dict(report.points[0].values)["X"].shape == (3, 4)


def test_the_same_seed_checks_the_same_arrays():
    first = to_json(compiler.check(FORMULAS["softmax_regression"], seed=7))
    assert to_json(compiler.check(FORMULAS["softmax_regression"], seed=7)) == first
    assert to_json(compiler.check(FORMULAS["softmax_regression"], seed=8)) != first


def test_large_arrays_are_differenced_along_random_directions():
    report = compiler.check(FORMULAS["linear_layer"], dims="D=20 H=11", points=1,
                            sympy_timeout=0)
    assert report.differences == "3 random directions per input (more than 200 entries)"
    rows = _rows(report)
    assert rows["W"].entries == FD_DIRECTIONS and rows["W"].worst.startswith("direction")
    assert report.ok and report.sympy.startswith("skipped")


# -- broken rules are caught ----------------------------------------------------

_MATMUL_RULE = gates.GATES["matmul"].vjp


def _scaled_matmul(index, ranks):
    right = _MATMUL_RULE(index, ranks)
    return right if index == 0 else f"1.01 * ({right})"


def test_a_wrong_matmul_rule_fails_and_names_the_input(monkeypatch):
    _break(monkeypatch, "matmul", vjp=_scaled_matmul)
    report = compiler.check(FORMULAS["two_layer_net"], points=1)
    failed = {row.name for _, row in report.failures}
    assert failed == {"W1", "W2"}
    row = _rows(report)["W2"]
    # Entries whose row of A the relu zeroed stay 0, however wrong the rule.
    assert 0 < row.failing <= row.entries == 20 and "SymPy gives" in row.reason
    assert "central differences give" in row.reason and row.reason.startswith("at [")


def test_a_forgotten_transpose_fails_instead_of_stopping(monkeypatch):
    _break(monkeypatch, "matmul", vjp=lambda i, r: ("{g} @ {b}", "{a}.T @ {g}")[i])
    report = compiler.check(FORMULAS["matrix_product_layer"], points=1)
    row = _rows(report)["W"]
    assert row.verdict == "FAIL" and row.reason.startswith("backward raises ValueError")


def test_a_wrong_rule_is_caught_along_directions_without_sympy(monkeypatch):
    _break(monkeypatch, "matmul", vjp=_scaled_matmul)
    report = compiler.check(FORMULAS["linear_layer"], dims="D=20 H=11", points=1,
                            sympy_timeout=0)
    assert {row.name for _, row in report.failures} == {"W"}
    assert "central differences give" in _rows(report)["W"].reason


def test_a_wrong_axis_rule_fails(monkeypatch):
    _break(monkeypatch, "log_softmax1", vjp=lambda i, r: "{g} - np.exp({out}) * {g}")
    report = compiler.check(ROWS["log_softmax1"], points=1)
    assert not report.ok and {row.name for _, row in report.failures} == {"A"}


def test_a_wrong_forward_fails_on_the_value(monkeypatch):
    _break(monkeypatch, "matmul", forward="{a} @ {b} + 1e-6")
    report = compiler.check(FORMULAS["dense_layer"], points=1)
    assert {row.name for _, row in report.failures} == {"z"}


def test_the_cli_exits_1_on_a_broken_array_rule(monkeypatch, capsys, saved):
    _break(monkeypatch, "matmul", vjp=_scaled_matmul)
    path = saved("two_layer_net")
    assert main(["check", str(path), "--points", "1"]) == 1
    out = capsys.readouterr().out
    marked = [line.split()[1] for line in out.splitlines() if line.startswith("> ")]
    assert marked == ["dloss/dW1", "dloss/dW2"]
    assert "FAIL: dloss/dW1 at point 1: at [" in out
    assert not out.rstrip().endswith("(rtol 1e-09, atol 1e-12)")


# -- the command ---------------------------------------------------------------

def test_the_cli_reports_one_line_per_input(saved):
    path = saved("two_layer_net")
    run = gradc("check", str(path), "--dims", "N=3")
    assert run.returncode == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0] == (f"{path}: loss(X, W1, b1, W2, b2, Y) at 3 points, against "
                        "SymPy and central differences")
    assert lines[1] == "dimensions: N=3 (given), D=2 H=4 C=5 (chosen; set with --dims)"
    assert lines[2] == "entries drawn from [-3, 3] with seed 0; central differences: every entry"
    start = lines.index("point 1 (random)")
    header, *rows = lines[start + 1:start + 9]
    assert header.split()[:4] == ["quantity", "shape", "compared", "worst"]
    cells = [row.split() for row in rows]
    assert [c[0] for c in cells] == ["loss", "dloss/dX", "dloss/dW1", "dloss/db1",
                                     "dloss/dW2", "dloss/db2", "dloss/dY"]
    assert cells[2][1:4] == ["[D,", "H]", "8"] and all(c[-1] == "ok" for c in cells)
    assert lines[-1] == ("ok: value and gradient agree at every point, entry by entry "
                         "(rtol 1e-09, atol 1e-12)")


def test_a_layer_says_how_it_is_checked(saved):
    run = gradc("check", str(saved("relu_layer")))
    assert run.returncode == 0
    assert ("Z is [N, D]: each gradient is backward(cache, dZ) for a random upstream dZ, "
            "the gradient of sum(dZ * Z)") in run.stdout


@pytest.mark.parametrize("words, message", [
    (["N"], "expected NAME=SIZE in --dims, such as N=4, got 'N'"),
    (["Q=3"], "'Q' is not a dimension of the formula: its dimensions are N, D, H, C"),
    (["N=0"], "expected a whole number of 1 or more for 'N' in --dims, got '0'"),
    (["N=2.5"], "expected a whole number of 1 or more for 'N' in --dims, got '2.5'"),
    (["N=2", "N=3"], "'N' is given twice in --dims"),
])
def test_bad_dims_exit_2_with_a_clear_message(words, message, saved):
    path = saved("two_layer_net")
    run = gradc("check", str(path), "--dims", *words)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == f"{path}: error: {message}"


def test_dims_for_a_scalar_file_and_at_for_an_array_file_exit_2(tmp_path, saved):
    scalar = tmp_path / "scalar.txt"
    scalar.write_text("f = x * y\n", encoding="utf-8")
    run = gradc("check", str(scalar), "--dims", "N=2")
    assert run.returncode == 2 and "the formula declares no shapes" in run.stderr
    layer = saved("relu_layer")
    run = gradc("check", str(layer), "--at", "X=1")
    assert run.returncode == 2
    assert "--at gives numbers, but 'X' is declared [N, D]" in run.stderr
    run = gradc("check", str(layer), "--points", "0")
    assert run.returncode == 2 and "expected at least one point" in run.stderr


# -- JSON, against the schema in docs/check.md ----------------------------------

def test_json_matches_the_documented_schema(saved):
    path = saved("relu_layer")
    run = gradc("check", str(path), "--json", "--points", "1", "--dims", "N=3")
    assert run.returncode == 0
    report = json.loads(run.stdout)
    assert conforms(report, documented_schema()) == []
    assert report["schema"] == "gradc-check/2"
    assert report["dims"] == {"N": 3, "D": 2} and report["dims_given"] == ["N"]
    point = report["points"][0]
    assert len(point["values"]["X"]) == 3 and len(point["upstream"][0]) == 2
    assert [row["compared"] for row in point["rows"]] == [6, 6]


def test_json_of_a_failure_matches_the_schema(monkeypatch):
    _break(monkeypatch, "matmul", vjp=lambda i, r: ("{g} @ {b}", "{a}.T @ {g}")[i])
    report = json.loads(to_json(compiler.check(FORMULAS["two_layer_net"], points=1,
                                               sympy_timeout=0)))
    assert conforms(report, documented_schema()) == []
    assert report["ok"] is False and report["points"][0]["rows"][1]["sympy"] is None


def test_a_failure_at_a_later_point_is_reported_not_a_crash(tmp_path):
    source = tmp_path / "f.txt"
    source.write_text("x: [D]\nf = sum(exp(x) * sin(x))\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "compiler", "check", str(source),
                          "--rtol", "0", "--atol", "0"], capture_output=True, text=True)
    assert (run.returncode, run.stderr) == (1, "")
    failures = [line for line in run.stdout.splitlines() if line.startswith("FAIL")]
    assert failures and all(line.startswith(("FAIL: f at point ", "FAIL: df/dx at point "))
                            for line in failures)
    assert any(" at point 2: " in line or " at point 3: " in line for line in failures)


def test_a_stored_point_and_given_numbers_are_checked_as_given(tmp_path):
    import numpy as np

    X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    Y = np.eye(5)[[1, 3]]
    np.savez(tmp_path / "point.npz", X=X, Y=Y)
    run = gradc("check", str(EXAMPLES / "arrays" / "two_layer.txt"), "--at-file",
                str(tmp_path / "point.npz"), "--at", "reg=0.1", "--json")
    assert (run.returncode, run.stderr) == (0, "")
    report = json.loads(run.stdout)
    assert conforms(report, documented_schema()) == []
    assert report["dims"] == {"N": 2, "D": 3, "H": 4, "C": 5}
    assert report["dims_given"] == ["N", "D", "C"]
    (point,) = report["points"]
    assert point["origin"] == "given"
    assert (point["values"]["X"], point["values"]["Y"], point["values"]["reg"]) == \
        (X.tolist(), Y.tolist(), 0.1)


def test_at_gives_a_points_numbers_and_leaves_its_arrays_random():
    report = compiler.check("f(x: [D], c) = sum(x * x) * c", at=["c=2", "c=-1"])
    assert [(p.origin, dict(p.values)["c"]) for p in report.points] == \
        [("given", 2.0), ("given", -1.0)]
    assert report.ok


def test_a_reductions_tie_is_judged_by_its_own_convention(tmp_path):
    """max(x) splits a tie's gradient evenly (§8), where the elementwise max
    gives it to the first tied operand: SymPy agrees with the module on
    both, and each kink states its own convention."""
    np = pytest.importorskip("numpy")
    source = tmp_path / "tie.txt"
    source.write_text("x: [D]\nf = max(x) + sum(max(x, 0.5))\n", encoding="utf-8")
    point = tmp_path / "tie.npz"
    np.savez(point, x=np.array([0.5, 2.0, 2.0]))
    report = compiler.check(source.read_text(encoding="utf-8"), at_file=str(point))
    assert report.ok
    assert report.points[0].kinks == (
        "max tie at stage maxx: the tied entries share the gradient evenly by convention",
        "max tie at stage maxx2: the first argument takes the gradient by convention")


# -- one checker: an array is checked as a number is ------------------------------

def test_a_kink_is_found_from_the_trace_even_without_sympy():
    report = compiler.check("f(x: [D], y: [D]) = sum(relu(x - x) * y)", points=1,
                            sympy_timeout=0)
    point = report.points[0]
    assert point.kinks == ("relu at 0 at stage reluxmx: the gradient is 0 by convention",)
    assert report.ok and _rows(report)["x"].verdict == "unchecked"
    assert _rows(report)["y"].verdict == "ok"


def test_a_redrawn_array_point_names_the_stage_that_failed():
    report = compiler.check("x: [D]\nf = sum(log(-x))\n", points=1)
    redraws = report.points[0].redraws
    assert redraws[0] == "stage lognegx fails in the forward pass: is not a number (2 of 2 entries)"


def test_gradients_come_in_the_order_wrt_gives_for_arrays_too():
    from compiler.passes.optimize import Passes

    report = compiler.check("W: [H, D]\nx: [D]\nloss = sum(σ(W @ x))\n", points=1,
                            passes=Passes(wrt=("x", "W")))
    assert [row.name for row in report.points[0].rows] == ["loss", "x", "W"]
    assert report.ok


@pytest.mark.parametrize("text, kink", [
    ("x: [D]\nnp = relu(x - x)\nf = sum(np * x)\n",
     "relu at 0 at stage np: the gradient is 0 by convention"),
    ("np = max(x, x)\nf = np * y\n",
     "max tie at stage np: the first argument takes the gradient by convention"),
])
def test_a_value_named_np_does_not_hide_numpy_from_a_kink_condition(text, kink):
    report = compiler.check(text, points=1)
    assert report.points[0].kinks == (kink,)
    assert report.ok
