"""`gradc check --hvp`: jvp, hvp and hessian against SymPy and central
differences, and a broken forward rule caught, naming the input."""

from __future__ import annotations

import pytest

from compiler.checker.checking import check
from compiler.cli import main
from compiler.gates import Gate
from compiler.gates.expr import BinOp, Number
from compiler.passes.optimize import Passes
from conftest import EXAMPLES

STAGED = EXAMPLES / "staged.txt"


def test_check_hvp_adds_a_row_for_jvp_each_product_and_each_hessian_entry():
    report = check(STAGED.read_text(encoding="utf-8"), points=2, second_order=("jvp", "hvp"))
    assert report.ok
    names = [row.name for row in report.points[0].rows]
    assert names[:3] == ["f", "x", "y"]
    assert names[3].startswith("jvp (v_x=") and names[4:] == [
        "hvp x", "hvp y", "H[x, x]", "H[x, y]", "H[y, x]", "H[y, y]"]
    for row in report.points[0].rows[3:]:
        assert row.sympy is not None and row.fd is not None and row.verdict == "ok"


def test_check_without_the_flag_adds_nothing():
    report = check(STAGED.read_text(encoding="utf-8"), points=1)
    assert [row.name for row in report.points[0].rows] == ["f", "x", "y"]


def test_a_broken_forward_rule_fails_the_check_naming_the_input(monkeypatch, tmp_path, capsys):
    original = Gate.jvp_tree

    def doubled(self, index, count, ranks=(), target="math", compact=False):
        tree = original(self, index, count, ranks, target, compact)
        return BinOp("*", Number("2"), tree) if self.name == "sigmoid" else tree

    monkeypatch.setattr(Gate, "jvp_tree", doubled)
    formula = tmp_path / "broken.txt"
    formula.write_text("f(x, y) = x * σ(y)\n", encoding="utf-8")
    assert main(["check", str(formula), "--hvp", "--points", "1"]) == 1
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if line.startswith("> ")]
    # x * σ(y): every second derivative but d²f/dx² moves with σ's tangent.
    assert [line[2:].split("  ")[0] for line in failing][1:] == [
        "hvp x", "hvp y", "H[x, y]", "H[y, x]", "H[y, y]"]
    assert failing[0][2:].startswith("jvp (v_x=")
    assert main(["check", str(formula), "--points", "1"]) == 0


def test_check_hvp_on_arrays_compares_every_entry_with_central_differences():
    text = (EXAMPLES / "arrays" / "two_layer.txt").read_text(encoding="utf-8")
    report = check(text, points=1, second_order=("jvp", "hvp"))
    assert report.ok
    rows = {row.name: row for row in report.points[0].rows}
    assert rows["jvp"].entries == 1 and rows["jvp"].verdict == "ok"
    sizes = dict(report.dims)
    assert rows["hvp W1"].shape == ("D", "H")
    assert rows["hvp W1"].entries == sizes["D"] * sizes["H"]
    assert all(rows[f"hvp {name}"].verdict == "ok" and rows[f"hvp {name}"].fd is not None
               for name in ("X", "W1", "b1", "W2", "b2", "Y", "reg"))


def test_check_jvp_of_a_layer_compares_its_whole_output():
    layer = "W: [H, D]\nx: [D]\nb: [H]\nz = tanh(W @ x + b)\n"
    report = check(layer, points=1, second_order=("jvp", "hvp"))
    assert report.ok
    names = [row.name for row in report.points[0].rows]
    assert names[-1] == "jvp" and not any(name.startswith("hvp") for name in names)
    assert report.points[0].rows[-1].shape == ("H",)


MATRIX = "W: [2, 3]\nx: [3]\nloss = sum(σ(W @ x))\n"
SOFTMAX = "z: [N, C]\ny: [N, C]\nloss = -sum(y * log_softmax(z, axis=1))\n"


@pytest.mark.parametrize("text", [MATRIX, SOFTMAX])
def test_check_hvp_on_arrays_compares_every_entry_with_sympy(text):
    report = check(text, points=2, second_order=("jvp", "hvp"))
    assert report.ok and report.sympy == "used"
    for point in report.points:
        rows = {row.name: row for row in point.rows}
        assert rows["jvp"].sympy is not None and rows["jvp"].fd is not None
        for name in report.inputs:
            row = rows[f"hvp {name}"]
            assert row.verdict == "ok" and row.sympy is not None and row.fd is not None
            assert row.entries == rows[name].entries
            assert abs(row.generated - row.sympy) <= 1e-9 * max(1.0, abs(row.sympy))


def test_check_hvp_of_a_layer_compares_each_jvp_entry_with_sympy():
    report = check("W: [H, D]\nx: [D]\nb: [H]\nz = tanh(W @ x + b)\n", points=1,
                   second_order=("jvp", "hvp"))
    row = report.points[0].rows[-1]
    assert report.ok and row.name == "jvp"
    assert row.entries == dict(report.dims)["H"] and row.sympy is not None


def test_a_broken_forward_rule_fails_a_sympy_row_of_an_array_file(monkeypatch, tmp_path, capsys):
    original = Gate.jvp_tree

    def doubled(self, index, count, ranks=(), target="math", compact=False):
        tree = original(self, index, count, ranks, target, compact)
        return BinOp("*", Number("2"), tree) if self.name == "sigmoid" else tree

    monkeypatch.setattr(Gate, "jvp_tree", doubled)
    report = check(MATRIX, points=1, second_order=("jvp", "hvp"))
    failing = {row.name: row for _, row in report.failures}
    assert set(failing) == {"jvp", "hvp W", "hvp x"}
    for row in failing.values():
        assert "SymPy gives" in row.reason and "central differences give" in row.reason
    formula = tmp_path / "broken.txt"
    formula.write_text(MATRIX, encoding="utf-8")
    assert main(["check", str(formula), "--hvp", "--points", "1"]) == 1
    out = capsys.readouterr().out
    assert [line[2:].split("  ")[0] for line in out.splitlines() if line.startswith("> ")] == [
        "jvp", "hvp W", "hvp x"]


def test_check_hvp_on_arrays_without_sympy_says_why():
    report = check(MATRIX, points=1, second_order=("jvp", "hvp"), sympy_timeout=0)
    rows = {row.name: row for row in report.points[0].rows}
    assert report.ok and report.sympy.startswith("skipped")
    assert rows["hvp W"].sympy is None and rows["hvp W"].fd is not None


def test_check_hessian_of_an_array_files_numbers_against_sympy_in_wrt_order():
    text = "lambda: [N]\nloss = sum(σ(lambda * nu))^2 + mu^3 * nu\n"
    report = check(text, points=1, second_order=("jvp", "hvp"),
                   passes=Passes(wrt=("nu", "mu")))
    assert report.ok
    rows = {row.name: row for row in report.points[0].rows}
    values = dict(report.points[0].values)
    # d²/dmu² of mu^3 * nu: 6 mu nu, exactly; nu's own entry differs from it.
    assert rows["H[mu, mu]"].sympy == pytest.approx(6 * values["mu"] * values["nu"], rel=1e-12)
    assert rows["H[nu, mu]"].sympy == pytest.approx(3 * values["mu"] ** 2, rel=1e-12)
    assert all(rows[name].verdict == "ok" and rows[name].sympy is not None
               for name in ("H[nu, nu]", "H[mu, nu]", "hvp nu", "hvp mu"))
    report = check(text, points=1, second_order=("jvp", "hvp"))
    assert report.ok and report.points[0].rows[-3].name == "hvp lambda"
    assert report.points[0].rows[-3].sympy is not None
