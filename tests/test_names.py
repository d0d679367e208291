"""A user's names reach the module as written (LANGUAGE.md §6).

Only keywords, the builtins the module calls and the interface's names
(INPUTS, forward, backward, grad) are renamed; the module's own names
(naming.INTERNAL: its imports, helpers, and the locals of functions that
hold a user's names) are chosen around the formula's instead.  The formula
below is written in exactly those names, in every target and style, and
checked against the same formula with every name prefixed, which collides
with nothing.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from compiler import compile_source
from compiler.passes.naming import INTERNAL
from conftest import build

STAGES = """\
_unbroadcast = σ(math) * np + exp(numba - sys)
BLOCK = log(1 + cache^2) * gradient
_grad_block = shape * value + max(each, size)
_in_blocks = sqrt(1 + argv^2) + values * text
_HOME = tanh(name) * _point
_compiled = _main * sin(math)
_grad_at = _unbroadcast + BLOCK
_value_at = _grad_block - _in_blocks
_kernel = _HOME / (2 + cos(_compiled))
_value_kernel = _grad_at * _value_at
_run = _value_kernel + _kernel
_loop_input = _run * text + unicodedata * point
out = 2 * _loop_input
"""
INPUTS = ("math", "np", "numba", "sys", "cache", "gradient", "shape", "value", "each", "size",
          "argv", "values", "text", "name", "_point", "_main", "unicodedata", "point")
PREFIXED = re.sub(r"(?<![\w.])([A-Za-z_]\w*)(?!\w*\()", r"u_\1", STAGES)
POINT = tuple(0.5 + 0.1 * i for i in range(len(INPUTS)))


def _value(p: dict) -> float:
    """`out` written in Python, apart from gradc."""
    unbroadcast = p["np"] / (1 + math.exp(-p["math"])) + math.exp(p["numba"] - p["sys"])
    block = math.log(1 + p["cache"] ** 2) * p["gradient"]
    grad_block = p["shape"] * p["value"] + max(p["each"], p["size"])
    in_blocks = math.sqrt(1 + p["argv"] ** 2) + p["values"] * p["text"]
    home = math.tanh(p["name"]) * p["_point"]
    compiled = p["_main"] * math.sin(p["math"])
    run = (unbroadcast + block) * (grad_block - in_blocks) + home / (2 + math.cos(compiled))
    return 2 * (run * p["text"] + p["unicodedata"] * p["point"])


def test_the_formula_is_written_in_every_internal_name():
    assert set(INTERNAL) - {"out"} <= set(re.findall(r"\w+", STAGES))
    assert "u_out = 2 * u__loop_input" in PREFIXED and "σ(u_math)" in PREFIXED


@pytest.mark.parametrize("style", ["lecture", "compact"])
@pytest.mark.parametrize("target", ["math", "numpy", "numba", "array-api"])
def test_a_formula_in_the_modules_own_names_keeps_them_and_computes(target, style):
    module = build(STAGES, target=target, style=style)
    reference = build(PREFIXED)
    assert module.INPUTS == INPUTS
    value, gradient = module.grad(*POINT)
    expected_value, expected_gradient = reference.grad(*POINT)
    assert float(value) == pytest.approx(_value(dict(zip(INPUTS, POINT))), rel=1e-13)
    assert float(value) == pytest.approx(expected_value, rel=1e-13)
    assert [float(g) for g in gradient] == pytest.approx(expected_gradient, rel=1e-12)
    assert float(module.out(*POINT)) == pytest.approx(expected_value, rel=1e-13)
    assert float(module.backward(module.forward(*POINT)[1], 2.0)[0]) == \
        pytest.approx(2 * expected_gradient[0], rel=1e-12)


def test_arrays_of_more_points_than_a_block_in_the_modules_own_names():
    module = build(STAGES, target="numpy")
    reference = build(PREFIXED, target="numpy")
    count = module.BLOCK_ + 3
    rng = np.random.default_rng(6)
    columns = [rng.uniform(0.5, 2.0, count) for _ in INPUTS]
    value, gradient = module.grad(*columns)
    expected_value, expected_gradient = reference.grad(*columns)
    np.testing.assert_allclose(value, expected_value, rtol=1e-13)
    for got, expected in zip(gradient, expected_gradient):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("target", ["math", "numpy", "numba"])
def test_the_modules_own_names_move_aside(target):
    source = compile_source(STAGES, target=target)
    assert "\ndef out(" in source and "\ndef backward(cache_, dout=1.0):" in source
    if target != "math":
        # numba's exp is the module's own, which calls NumPy by its moved name too.
        calls = "np_.int64(" if target == "numba" else "np_.exp("
        assert "\nimport numpy as np_\n" in source and calls in source
        assert "\ndef _unbroadcast_(gradient, shape" in source
    else:
        assert "\nimport math as math_\n" in source and "math_.exp(" in source


@pytest.mark.parametrize("target", ["math", "numpy", "numba", "array-api"])
def test_the_module_runs_as_a_script_in_its_own_names(target, tmp_path):
    if target == "array-api":
        pytest.importorskip("array_api_compat", reason="array_api_compat is not installed "
                            "(pip install \".[array]\")")
    if target == "numba":
        pytest.importorskip("numba", reason="numba is not installed (pip install \".[numba]\")")
    path = tmp_path / "names.py"
    path.write_text(compile_source(STAGES, target=target), encoding="utf-8")
    arguments = [f"{name}={value!r}" for name, value in zip(INPUTS, POINT)]
    run = subprocess.run([sys.executable, str(path), *arguments], capture_output=True,
                         text=True, check=True, timeout=300)
    first = run.stdout.splitlines()[0]
    assert first.startswith("out = ")
    assert float(first.split(" = ")[1]) == pytest.approx(_value(dict(zip(INPUTS, POINT))),
                                                         rel=1e-13)
    assert run.stdout.splitlines()[1].startswith("dout/dmath = ")


@pytest.mark.parametrize("target", ["math", "numpy", "numba", "array-api"])
def test_out_is_the_output_and_common_words_are_inputs(target):
    module = build("out = h * text + name * values - shape * np", target=target)
    assert module.INPUTS == ("h", "text", "name", "values", "shape", "np")
    value, gradient = module.grad(2.0, 3.0, 5.0, 7.0, 11.0, 13.0)
    assert float(value) == 2.0 * 3.0 + 5.0 * 7.0 - 11.0 * 13.0
    assert [float(g) for g in gradient] == [3.0, 2.0, 7.0, 5.0, -13.0, -11.0]
    assert float(module.out(2.0, 3.0, 5.0, 7.0, 11.0, 13.0)) == float(value)


def test_only_keywords_builtins_called_and_the_interface_are_renamed():
    module = build("f = lambda * max + grad - INPUTS", target="math")
    assert module.INPUTS == ("lambda_", "max_", "grad_", "INPUTS_")


def test_without_numba_its_cases_are_skipped_not_failed(tmp_path):
    # A package that fails to import stands for numba missing, in this run
    # and in the scripts it starts.
    (tmp_path / "numba").mkdir()
    (tmp_path / "numba" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'numba'\", name='numba')\n")
    tests = Path(__file__).resolve().parent
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), str(tests.parent), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-k", "numba and not without_numba", str(Path(__file__))],
                         capture_output=True, text=True, cwd=tests.parent, env=environment,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-2000:]
    assert " skipped" in run.stdout and " failed" not in run.stdout
