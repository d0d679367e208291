"""Numbers and arrays go through one back end: one context, one template per
target, one term printer; a rank-0 term prints alike in both kinds of file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compiler import compile_source
from compiler.emit.context import context
from compiler.build import build as compile_formula
from conftest import ROOT


def test_a_rank_0_term_of_a_shaped_file_prints_as_in_a_file_of_numbers():
    numbers = compile_source("f(s, t) = s - t", target="numpy")
    shaped = compile_source("x: [D]\ns = sum(x)\nt = sum(x * x)\nf = s - t")
    assert "    ds = (1) * df\n" in numbers and "    dt = (-1) * df\n" in numbers
    assert "    ds = (1) * df  # a number\n" in shaped
    assert "    dt = (-1) * df  # a number\n" in shaped


@pytest.mark.parametrize("target", ["numpy", "array-api"])
@pytest.mark.parametrize("output", ["sys", "_main"])
def test_an_array_module_whose_output_is_named_like_its_runner_still_runs(tmp_path, target,
                                                                          output):
    pytest.importorskip("array_api_compat")
    module = tmp_path / "formula.py"
    source = compile_source(f"x: [D]\n{output} = sum(x * x)", target=target)
    module.write_text(source, encoding="utf-8")
    # The script's own names move aside: the output keeps its name.
    assert f"\ndef {output}(x):" in source
    assert ("import sys as sys_\n" in source) == (output == "sys")
    run = subprocess.run([sys.executable, str(module), "D=3"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith(f"{output} = ")


def test_one_context_type_serves_both_kinds_of_file():
    numbers = context(compile_formula("f = x * y").adjoint)
    shaped = context(compile_formula("x: [D]\nf = sum(2 * x)").adjoint, target="numpy")
    assert type(numbers) is type(shaped)
    assert not numbers.shaped and shaped.shaped
    assert shaped.bind_lines == ("sizes = {}", "x = _bind('x', x, sizes)", "D = sizes['D'][0]")


def test_each_target_has_one_module_template():
    from compiler.gates.targets import TARGETS

    modules = sorted(path.name for path in (ROOT / "templates").glob("*.py.jinja"))
    assert modules == sorted(["base.py.jinja", *(f"{name}.py.jinja" for name in TARGETS)])
