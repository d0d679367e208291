"""`gradc draw` on array formulas: golden DOT text, every example, and a
layer's upstream gradient drawn as an input."""

from __future__ import annotations

import shutil

import pytest

from compiler.cli import main
from conftest import EXAMPLES, ROOT

pytest.importorskip("graphviz")

GOLDEN = ROOT / "tests" / "golden"
ARRAYS = sorted((EXAMPLES / "arrays").glob("*.txt"))
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


@pytest.mark.parametrize("source", ARRAYS, ids=lambda path: path.stem)
def test_draw_works_on_every_array_example(tmp_path, source):
    assert main(["draw", str(source), "-o", str(tmp_path / "out.dot")]) == 0
    if shutil.which("dot"):
        assert main(["draw", str(source), "-o", str(tmp_path / "out.svg")]) == 0


@pytest.mark.parametrize("name", ["linear_layer", "softmax_regression"])
def test_draw_matches_the_golden(tmp_path, name):
    """Regenerate with: gradc draw examples/arrays/NAME.txt -o tests/golden/NAME_draw.dot"""
    out = tmp_path / "out.dot"
    assert main(["draw", str(EXAMPLES / "arrays" / f"{name}.txt"), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == \
        (GOLDEN / f"{name}_draw.dot").read_text(encoding="utf-8")


def test_a_layer_is_drawn_with_its_upstream_as_an_input(tmp_path):
    out = tmp_path / "out.dot"
    assert main(["draw", str(EXAMPLES / "arrays" / "relu_layer.txt"), "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert '"z.out" -> "z.upstream"' in dot and "random upstream" in dot
    assert "dz is a random upstream gradient (seed 0)" in dot


@needs_dot
def test_an_array_drawing_renders(tmp_path):
    out = tmp_path / "two_layer.svg"
    assert main(["draw", str(EXAMPLES / "arrays" / "two_layer.txt"), "-o", str(out)]) == 0
    assert "‖·‖" in out.read_text(encoding="utf-8")


def test_each_kind_of_file_refuses_the_others_options(tmp_path, capsys):
    out = str(tmp_path / "out.dot")
    assert main(["draw", str(EXAMPLES / "arrays" / "dense.txt"), "--at", "x=1", "-o", out]) == 2
    assert "--at gives numbers, but 'x' is declared [D]" in capsys.readouterr().err
    assert main(["draw", str(EXAMPLES / "staged.txt"), "--seed", "1", "-o", out]) == 2
    assert "declares no shapes" in capsys.readouterr().err


def test_a_value_that_is_not_finite_stops_the_drawing(tmp_path, capsys):
    path = tmp_path / "formula.txt"
    path.write_text("x: [D]\ny: [D]\nf = sum(y) + sum(min(exp(1000 * x), 1.0))\n",
                    encoding="utf-8")
    assert main(["draw", str(path), "--wrt", "y", "-o", str(tmp_path / "out.dot")]) == 2
    assert "cannot draw at this point: stage expscx" in capsys.readouterr().err
