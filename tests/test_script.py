"""A generated module run as a script (LANGUAGE.md §6): its inputs as
`x=3 y=-4`, named as the formula file writes them, and a one-line error
with exit status 2 for arguments it cannot read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compiler import compile_source

TARGETS = ("math", "numba", "numpy", "array-api")
LISTS = ", or numbers separated by commas"
LABELS = Path(__file__).resolve().parent.parent / "examples" / "arrays" \
    / "softmax_regression_labels.txt"


def _script(tmp_path, text: str, target: str) -> Path:
    if target == "numba":
        pytest.importorskip("numba", reason="numba is not installed (pip install \".[numba]\")")
    if target == "array-api":
        pytest.importorskip("array_api_compat", reason="array_api_compat is not installed "
                            "(pip install \".[array]\")")
    path = tmp_path / "formula.py"
    path.write_text(compile_source(text, target=target), encoding="utf-8")
    return path


def _run(path: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path), *arguments], capture_output=True,
                          text=True, timeout=300, cwd=path.parent)


@pytest.mark.parametrize("target", TARGETS)
def test_a_value_that_is_no_number_is_one_line_and_status_2(tmp_path, target):
    path = _script(tmp_path, "f(x, y) = x * y^2", target)
    run = _run(path, "x=abc", "y=3")
    expected = "a number" + ("" if target == "math" else LISTS)
    assert (run.returncode, run.stdout, run.stderr) == (2, "", f"x=abc: expected {expected}\n")
    run = _run(path, "x=2", "y=")
    assert (run.returncode, run.stderr) == (2, f"y=: expected {expected}\n")


@pytest.mark.parametrize("target", TARGETS)
def test_missing_or_unknown_arguments_print_the_usage_with_status_2(tmp_path, target):
    path = _script(tmp_path, "f(x, y) = x * y^2", target)
    for arguments in (("x=2",), ("x=2", "y=3", "z=4")):
        run = _run(path, *arguments)
        assert (run.returncode, run.stdout) == (2, "")
        assert run.stderr == f"usage: python {path} x=VALUE y=VALUE\n"


@pytest.mark.parametrize("target", TARGETS)
def test_an_input_is_named_as_the_file_writes_it(tmp_path, target):
    path = _script(tmp_path, "f(w₀, y) = w₀ * y^2", target)
    for name in ("w₀", "w0"):
        run = _run(path, f"{name}=2", "y=3")
        assert (run.returncode, run.stderr) == (0, "")
        assert run.stdout == "f = 18.0\ndf/dw0 = 9.0\ndf/dy = 12.0\n"


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_size_that_is_no_whole_number_of_at_least_1_is_refused(tmp_path, target):
    path = _script(tmp_path, LABELS.read_text(encoding="utf-8"), target)
    for size in ("abc", "0", "-3", "2.5"):
        run = _run(path, f"N={size}", "D=2", "C=4")
        assert (run.returncode, run.stdout) == (2, "")
        assert run.stderr == f"N={size}: expected a size, a whole number of at least 1\n"
    run = _run(path, "N=3")
    assert (run.returncode, run.stderr) == (2, f"usage: python {path} C=SIZE D=SIZE N=SIZE\n")
    run = _run(path, "N=3", "D=2", "C=4")
    assert run.returncode == 0 and run.stdout.startswith("loss = ")


def test_a_dimension_is_named_as_the_file_writes_it(tmp_path):
    path = _script(tmp_path, "x: [N₁]\nf = sum(x * x)\n", "numpy")
    run = _run(path, "N₁=3")
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.startswith("f = ")
