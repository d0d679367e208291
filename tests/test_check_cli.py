"""`gradc check`: exit status, the tables, colour, and the documented JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace

import compiler
from compiler import gates
from compiler.checker.report import to_json, to_text
from compiler.cli import main
from check_schema import conforms, documented_schema
from conftest import EXAMPLES, ROOT


def gradc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "compiler", *args], capture_output=True,
                          text=True, cwd=cwd)


def _table(text: str, point: int = 1) -> list[str]:
    lines = text.splitlines()
    start = lines.index(next(l for l in lines if l.startswith(f"point {point}:"))) + 1
    return [line for line in lines[start:start + 20] if line.startswith(("  ", "> "))
            and not line.startswith(("  kink", "  central", "  redrawn"))]


def test_staged_example_agrees_and_exits_0():
    run = gradc("check", str(EXAMPLES / "staged.txt"), "--at", "x=3", "y=-4")
    assert run.returncode == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0] == (f"{EXAMPLES / 'staged.txt'}: f(x, y) at 1 point, against SymPy "
                        "and central differences")
    assert lines[2] == "point 1: x=3 y=-4 (given)"
    header, *rows = _table(run.stdout)
    assert header.split() == ["quantity", "generated", "SymPy", "central", "diff.",
                              "rel.", "error", "verdict"]
    module = compiler.load(EXAMPLES / "staged.txt")
    value, (dx, dy) = module.grad(3.0, -4.0)
    cells = [row.split() for row in rows]
    assert [c[0] for c in cells] == ["f", "df/dx", "df/dy"]
    assert [float(c[1]) for c in cells] == [value, dx, dy]
    assert all(abs(float(c[2]) - float(c[1])) <= 1e-15 * abs(float(c[1])) for c in cells)
    assert abs(float(cells[1][3]) - dx) < 1e-8 and cells[0][3] == "-"
    assert all(c[-1] == "ok" for c in cells)
    # Aligned: every column starts at the same offset on every line.
    starts = [m.start() for m in re.finditer(r"(?<=  )\S", header)][:3]
    assert all(row[s - 1] == " " and row[s] != " " for row in rows for s in starts)
    assert lines[-1] == "ok: value and gradient agree at every point (rtol 1e-09, atol 1e-12)"


def test_a_broken_gate_exits_1_and_names_the_input(monkeypatch, tmp_path, capsys):
    row = replace(gates.GATES["sigmoid"], local=("{out}",))
    monkeypatch.setitem(gates.GATES, "sigmoid", row)
    for spelling in row.spellings:
        monkeypatch.setitem(gates.SPELLINGS, spelling, row)
    assert main(["check", str(EXAMPLES / "staged.txt"), "--at", "x=3", "y=-4"]) == 1
    out = capsys.readouterr().out
    marked = [line.split()[1] for line in _table(out) if line.startswith("> ")]
    assert marked == ["df/dx", "df/dy"]
    assert "FAIL: df/dx at point 1 (x=3 y=-4): generated " in out
    assert "FAIL: df/dy at point 1 (x=3 y=-4): generated " in out
    assert not out.rstrip().endswith("every point (rtol 1e-09, atol 1e-12)")


def test_a_tie_is_reported_and_exits_0(tmp_path):
    source = tmp_path / "tie.txt"
    source.write_text("f = max(x, y)\n", encoding="utf-8")
    run = gradc("check", str(source), "--at", "x=1.5", "y=1.5")
    assert run.returncode == 0
    assert "  kink: max tie at stage f: the first argument takes the gradient by " \
           "convention\n  central differences are not compared for x, y\n" in run.stdout
    assert [line.split()[-1] for line in _table(run.stdout)[1:]] == ["ok", "kink", "kink"]


def test_bad_input_exits_2_with_a_located_message(tmp_path):
    source = tmp_path / "bad.txt"
    source.write_text("f = (x + y\n", encoding="utf-8")
    run = gradc("check", "bad.txt", cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("bad.txt:1:11: error: expected ')' to close the '(' at 1:5\n")


def test_a_bad_point_exits_2(tmp_path):
    run = gradc("check", str(EXAMPLES / "staged.txt"), "--at", "x=3", "z=1")
    assert run.returncode == 2
    assert run.stderr == f"{EXAMPLES / 'staged.txt'}: error: 'z' is not an input: " \
                         "the inputs are x, y\n"
    run = gradc("check", str(EXAMPLES / "staged.txt"), "--points", "-1")
    assert run.returncode == 2 and "expected a count of 0 or more" in run.stderr


def test_several_points_and_a_seed():
    run = gradc("check", str(EXAMPLES / "multiply.txt"), "--at", "x=1", "y=2", "--at",
                "x=-1", "y=0.5", "--points", "1", "--seed", "7")
    assert run.returncode == 0
    headers = [line for line in run.stdout.splitlines() if line.startswith("point ")]
    assert headers[:2] == ["point 1: x=1 y=2 (given)", "point 2: x=-1 y=0.5 (given)"]
    assert headers[2].endswith("(random)") and len(headers) == 3


def test_colour_only_when_asked_for():
    report = compiler.check(EXAMPLES / "multiply.txt", at={"x": 1, "y": 2})
    assert "\033[32mok\033[0m" in to_text(report, colour=True)
    assert "\033" not in to_text(report)
    assert "\033" not in gradc("check", str(EXAMPLES / "multiply.txt")).stdout


def test_sympy_timeout_is_reported():
    run = gradc("check", str(EXAMPLES / "neuron.txt"), "--sympy-timeout", "0")
    assert run.returncode == 0
    assert run.stdout.splitlines()[1] == "SymPy skipped: it took longer than 0 s " \
                                         "(--sympy-timeout)"


# -- JSON, against the schema in docs/check.md ----------------------------------------

def test_json_matches_the_documented_schema(tmp_path):
    source = tmp_path / "kinky.txt"
    source.write_text("f = max(x, y) + log(z)\n", encoding="utf-8")
    run = gradc("check", str(source), "--at", "x=1", "y=1", "z=1", "--points", "1",
                "--json")
    assert run.returncode == 0
    report = json.loads(run.stdout)
    assert conforms(report, documented_schema()) == []
    assert report["points"][0]["kinks"] == [
        "max tie at stage maxxy: the first argument takes the gradient by convention"]
    assert report["points"][1]["redraws"] != []
    assert [r["verdict"] for r in report["points"][0]["rows"]] == ["ok", "kink", "kink", "ok"]


def test_json_of_a_failure_and_of_a_timeout_match_the_schema(monkeypatch, capsys):
    row = replace(gates.GATES["tanh"], local=("1 + {out}**2",))
    monkeypatch.setitem(gates.GATES, "tanh", row)
    monkeypatch.setitem(gates.SPELLINGS, "tanh", row)
    path = str(EXAMPLES / "multiply.txt")
    assert main(["check", path, "--json", "--sympy-timeout", "0"]) == 0
    timed_out = json.loads(capsys.readouterr().out)
    assert conforms(timed_out, documented_schema()) == []
    assert timed_out["points"][0]["rows"][0]["sympy"] is None
    report = compiler.check("f = tanh(x)", at={"x": 0.5})
    failed = json.loads(to_json(report))
    assert conforms(failed, documented_schema()) == []
    assert failed["ok"] is False and failed["points"][0]["rows"][1]["verdict"] == "FAIL"
