"""`gradc draw`: the DOT text (golden), the rendered figure, and its failures."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys

import pytest

from compiler.cli import main
from conftest import EXAMPLES, ROOT

pytest.importorskip("graphviz")

GOLDEN = ROOT / "tests" / "golden"
STAGED = EXAMPLES / "staged.txt"
AT = ["--at", "x=3", "y=-4"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def draw(tmp_path, *args, name="out.dot", source=STAGED):
    out = tmp_path / name
    status = main(["draw", str(source), *args, "-o", str(out)])
    return status, out


def formula(tmp_path, text: str):
    path = tmp_path / "formula.txt"
    path.write_text(text, encoding="utf-8")
    return path


def svg_texts(svg: str) -> list[tuple[str, str]]:
    """Every title and text of an SVG with its colour, in order: what a
    figure says, without the coordinates that vary across Graphviz versions."""
    found = re.findall(r"<(?:title|text)([^>]*)>([^<]*)</", svg)
    return [("".join(re.findall(r'fill="([^"]*)"', attributes)), html.unescape(text))
            for attributes, text in found]


@pytest.mark.parametrize("golden, args", [("staged.dot", []), ("staged_at.dot", AT)])
def test_dot_matches_the_golden(tmp_path, golden, args):
    """Regenerate with: gradc draw examples/staged.txt [--at x=3 y=-4] -o tests/golden/..."""
    status, out = draw(tmp_path, *args)
    assert status == 0
    assert out.read_text(encoding="utf-8") == (GOLDEN / golden).read_text(encoding="utf-8")


def test_dot_is_identical_under_another_hash_seed(tmp_path):
    out = tmp_path / "seeded.dot"
    subprocess.run([sys.executable, "-m", "compiler", "draw", str(STAGED), *AT, "-o", str(out)],
                   check=True, env=dict(os.environ, PYTHONHASHSEED="12345"))
    assert out.read_bytes() == (GOLDEN / "staged_at.dot").read_bytes()


def test_fan_out_draws_one_edge_per_use_with_its_own_gradient(tmp_path):
    status, out = draw(tmp_path, "--at", "x=3", "y=2", source=formula(tmp_path, "f = x*x + y"))
    edges = re.findall(r"^\t(\w+) -> (\w+) \[label=<(.*)>\]$", out.read_text(encoding="utf-8"),
                       flags=re.M)
    red = '<font color="#c62828">'
    assert [(a, b) for a, b, _ in edges] == [("x", "xx"), ("x", "xx"), ("xx", "f"), ("y", "f")]
    # Each use of x carries the other factor, 3, back; x's node shows the sum, 6.
    assert [label.count(f"{red}3.00</font>") for _, _, label in edges[:2]] == [1, 1]
    assert f"x [label=<x<br/>{red}6.00</font>> shape=plaintext]" in out.read_text()


def test_constant_gates_show_their_constant(tmp_path):
    status, out = draw(tmp_path, source=formula(tmp_path, "f = 1 - 2*x"))
    text = out.read_text(encoding="utf-8")
    assert 'scx [label="×2"' in text and 'f [label="1−"' in text


@needs_dot
def test_svg_holds_the_stage_names_values_and_gradients(tmp_path):
    status, out = draw(tmp_path, *AT, name="staged.svg")
    assert status == 0
    texts = svg_texts(out.read_text(encoding="utf-8"))
    for name in ("sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"):
        assert ("", name) in texts
    for symbol in ("σ", "+", "^2", "1/x", "×"):
        assert ("", symbol) in texts
    # dnum = 0.512 and dden = -0.792 in red, num = 3.02 and den = 1.95 in green.
    assert {("#c62828", "0.512"), ("#c62828", "-0.792"), ("#c62828", "2.06"),
            ("#2e7d32", "3.02"), ("#2e7d32", "1.95"), ("#2e7d32", "1.55")} <= set(texts)


@needs_dot
def test_png_is_a_png(tmp_path):
    status, out = draw(tmp_path, name="staged.png")
    assert status == 0 and out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@needs_dot
def test_the_readme_figure_is_current(tmp_path):
    """docs/staged.svg is compared by what it says (titles, texts, colours),
    not byte for byte: Graphviz versions differ in coordinates and in the
    comment naming their version.  A stale figure is rewritten, and the test
    fails so that the new one gets committed."""
    status, fresh = draw(tmp_path, *AT, name="staged.svg")
    committed = ROOT / "docs" / "staged.svg"
    current = committed.exists() and \
        svg_texts(committed.read_text(encoding="utf-8")) == svg_texts(fresh.read_text())
    if not current:
        shutil.copyfile(fresh, committed)
    assert current, "docs/staged.svg was stale and has been redrawn: commit it"


def test_without_dot_the_svg_is_refused_and_the_dot_text_still_written(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, out = draw(tmp_path, name="staged.svg")
    assert status == 2 and not out.exists()
    assert capsys.readouterr().err == (
        f"{STAGED}: error: drawing .svg needs Graphviz's `dot` program, which is not on PATH: "
        "install Graphviz (`apt-get install graphviz`, `brew install graphviz`, or "
        "https://graphviz.org/download/), or write the DOT text with -o FILE.dot\n")
    status, out = draw(tmp_path, name="staged.dot")
    assert status == 0 and out.read_text() == (GOLDEN / "staged.dot").read_text()


def test_an_unknown_suffix_is_refused(tmp_path, capsys):
    status, out = draw(tmp_path, name="staged.jpg")
    assert status == 2 and not out.exists()
    assert capsys.readouterr().err == (
        f"{STAGED}: error: expected the output to end in .svg, .png or .dot, got 'staged.jpg'\n")


def test_a_point_where_the_formula_overflows_is_not_drawn(tmp_path, capsys):
    source = formula(tmp_path, "f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)\n")
    status, out = draw(tmp_path, "--at", "x=1e200", "y=1", source=source)
    assert status == 2 and not out.exists()
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{source}:1:32: error: cannot draw at this point: stage xpysqr (1:32) overflowed: "
        "xpy = 1e+200 (gradc explain shows the stages up to it)")


def test_draw_takes_the_compile_commands_pass_options(tmp_path):
    source = formula(tmp_path, "f(x, y) = (x + y)^2 + (x + y)\n")

    def dot(*args, name):
        status, out = draw(tmp_path, *args, name=name, source=source)
        assert status == 0
        return out.read_text(encoding="utf-8")

    merged, plain = dot(name="merged.dot"), dot("-O0", name="plain.dot")
    assert "xpy2 [" not in merged and "xpy2 [" in plain
    only_y = dot("--at", "x=1", "y=2", "--wrt", "y", name="y.dot")
    assert "\tx [label=x shape=plaintext]" in only_y
    assert re.search(r'\ty \[label=<y<br/><font color="[^"]+">7\.00</font>>', only_y)
