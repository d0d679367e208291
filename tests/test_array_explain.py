"""`gradc explain` on array formulas: golden text, every example, the
module's own numbers, and the options each kind of file refuses."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from compiler.inputs import choose_sizes, draw
from compiler.tools.trace import trace_drawn
from compiler.cli import main
from compiler.build import build
from compiler.driver import compile_source
from compiler.loader import module_from_source
from compiler.front.parse import parse
from compiler.front.resolve import resolve
from conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden"
ARRAYS = sorted((EXAMPLES / "arrays").glob("*.txt"))


def run(capsys, *argv):
    status = main(list(map(str, argv)))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("name", ["softmax_regression", "linear_layer", "two_layer"])
def test_explain_matches_the_golden(capsys, name):
    """Regenerate with: gradc explain examples/arrays/NAME.txt > tests/golden/explain_NAME.txt"""
    status, out, _ = run(capsys, "explain", EXAMPLES / "arrays" / f"{name}.txt")
    assert status == 0
    assert out == (GOLDEN / f"explain_{name}.txt").read_text(encoding="utf-8")


def test_explain_is_the_same_under_another_hash_seed():
    source = EXAMPLES / "arrays" / "two_layer.txt"
    out = subprocess.run([sys.executable, "-m", "compiler", "explain", str(source)],
                         check=True, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONHASHSEED="12345")).stdout
    assert out == (GOLDEN / "explain_two_layer.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("source", ARRAYS, ids=lambda path: path.stem)
def test_explain_works_on_every_array_example(capsys, source):
    status, out, err = run(capsys, "explain", source)
    assert (status, err) == (0, "")
    assert "gradient:" in out


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


def test_a_line_shows_the_shapes_of_its_factors(capsys):
    status, out, _ = run(capsys, "explain", EXAMPLES / "arrays" / "matrix_product.txt")
    assert status == 0
    assert "dW = dD @ X.T  [5, 3] @ [3, 10] -> [5, 10]" in out
    assert "dX = W.T @ dD  [10, 5] @ [5, 3] -> [10, 3]" in out


def test_dims_and_seed_choose_the_inputs(capsys):
    source = EXAMPLES / "arrays" / "softmax_regression.txt"
    status, out, _ = run(capsys, "explain", source, "--dims", "N=7", "--seed", "5")
    assert status == 0
    assert "dimensions: N=7 (given), D=2 C=3 (chosen; set with --dims)" in out
    assert "with seed 5" in out
    assert out != run(capsys, "explain", source, "--dims", "N=7")[1]


def test_each_kind_of_file_refuses_the_others_options(capsys):
    status, _, err = run(capsys, "explain", EXAMPLES / "arrays" / "dense.txt", "--at", "x=1")
    assert status == 2 and "--at gives numbers, but 'x' is declared [D]: give its entries " \
        "with --at-file, or leave them random (--seed)" in err
    status, _, err = run(capsys, "explain", EXAMPLES / "staged.txt", "--dims", "N=2")
    assert status == 2 and "declares no shapes" in err


def test_explain_of_numbers_still_needs_a_point(capsys):
    status, _, err = run(capsys, "explain", EXAMPLES / "staged.txt")
    assert status == 2 and "--at" in err


def test_a_value_that_is_not_finite_is_named(capsys, tmp_path):
    """Check's draws are redrawn until the module's value and gradient are
    finite; a stage off the gradient's path (--wrt y) may still overflow."""
    path = tmp_path / "formula.txt"
    path.write_text("x: [D]\ny: [D]\nf = sum(y) + sum(min(exp(1000 * x), 1.0))\n",
                    encoding="utf-8")
    status, out, _ = run(capsys, "explain", path, "--wrt", "y")
    assert status == 1
    assert out.endswith("stage expscx (3:22) overflowed (2 of 2 entries)\n")


def test_the_docs_show_the_golden_text():
    docs = (ROOT / "docs" / "draw.md").read_text(encoding="utf-8")
    golden = (GOLDEN / "explain_linear_layer.txt").read_text(encoding="utf-8")
    indented = "".join(f"    {line}".rstrip() + "\n" for line in golden.splitlines())
    assert indented in docs


TWO_LAYER = EXAMPLES / "arrays" / "two_layer.txt"


def _saved_point(tmp_path, **arrays):
    path = tmp_path / "point.npz"
    np.savez(path, **arrays)
    return path


def test_at_gives_the_number_inputs_of_an_array_file(capsys):
    status, out, _ = run(capsys, "explain", TWO_LAYER, "--at", "reg=0.25")
    assert status == 0
    assert out.startswith("loss(X, W1, b1, W2, b2, Y, reg) at the given inputs "
                          "(any others random)\n")
    assert "\nreg    a number  0.25\n" in out
    random_out = run(capsys, "explain", TWO_LAYER)[1]
    assert [line for line in random_out.splitlines() if line.startswith("X ")] == \
        [line for line in out.splitlines() if line.startswith("X ")]


def test_at_file_gives_arrays_and_fixes_the_sizes_they_span(tmp_path, capsys):
    X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    Y = np.eye(5)[[1, 3]]
    point = _saved_point(tmp_path, X=X, Y=Y, reg=np.float64(0.1))
    status, out, _ = run(capsys, "explain", TWO_LAYER, "--at-file", point)
    assert status == 0
    assert "dimensions: N=2 D=3 C=5 (given), H=4 (chosen; set with --dims)" in out
    assert "\nX      [N, D]    [[1, 2, 3], [0.5, -1, 0]]\n" in out
    assert "\nY      [N, C]    min 0, max 1, norm 1.414\n" in out
    assert "\nreg    a number  0.1\n" in out


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
    point = _saved_point(tmp_path, **arrays)
    status, out, err = run(capsys, "explain", TWO_LAYER, "--at-file", point, *extra)
    assert (status, out) == (2, "")
    assert err == f"{TWO_LAYER}: error: {message.format(path=point)}\n"


def test_a_file_that_is_not_npz_is_bad_input(tmp_path, capsys):
    point = tmp_path / "point.npz"
    point.write_text("X = 1\n", encoding="utf-8")
    status, _, err = run(capsys, "explain", TWO_LAYER, "--at-file", point)
    assert status == 2
    assert err.startswith(f"{TWO_LAYER}: error: cannot read the --at-file '{point}': "
                          "expected a NumPy .npz file (")


def test_given_values_that_fail_every_draw_are_named_by_the_modules_reason(tmp_path, capsys):
    point = _saved_point(tmp_path, y=np.array([1, 5, 2]))
    status, _, err = run(capsys, "explain", EXAMPLES / "arrays" / "softmax_loss.txt",
                         "--at-file", point, "--dims", "C=3")
    assert status == 2
    assert err.startswith(
        f"{EXAMPLES / 'arrays' / 'softmax_loss.txt'}: error: found no point where the output "
        "and its gradient are finite in 100 random draws from [-3, 3] of the inputs --at and "
        "--at-file do not give; the last was rejected because the module raises ValueError: "
        "y holds class labels in 0 ... 2")


def test_a_line_that_raises_is_named_at_its_stage(monkeypatch, capsys, tmp_path):
    """A rule whose code cannot run (a forgotten transpose) is wrong code,
    not a bad point: explain names the line that raised, as check fails it."""
    from dataclasses import replace

    from compiler import gates

    row = replace(gates.GATES["matmul"], vjp=lambda i, r: ("{g} @ {b}", "{a}.T @ {g}")[i])
    monkeypatch.setitem(gates.GATES, "matmul", row)
    path = tmp_path / "layer.txt"
    path.write_text("Z(W: [H, K], X: [K, N]) = W @ X\n", encoding="utf-8")
    status, out, err = run(capsys, "explain", path)
    assert status == 1 and err == ""
    assert out.splitlines()[-1].startswith(
        "stage Z (1:27) in the backward pass, into dW, raises ValueError: matmul: ")
