"""generated/ stays current, output is byte-identical, and modules stand alone."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys

import pytest

from compiler import compile_source
from compiler.emit.render import TARGET_NAMES as TARGETS
from conftest import EXAMPLES, GENERATED, build

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.txt"))


def _generated_path(example, target: str):
    # generated/X_array_api.py for the array-api target: an importable name.
    suffix = "" if target == "math" else f"_{target.replace('-', '_')}"
    return GENERATED / f"{example.stem}{suffix}.py"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_generated_matches_examples(example, target):
    """Regenerate with: gradc compile examples/X.txt [--target T] -o generated/X[_T].py
    for each example and target."""
    expected = compile_source(example.read_text(encoding="utf-8"), target=target)
    assert _generated_path(example, target).read_text(encoding="utf-8") == expected


ARRAY_EXAMPLES = sorted((EXAMPLES / "arrays").glob("*.txt"))


@pytest.mark.parametrize("example", ARRAY_EXAMPLES, ids=lambda p: p.stem)
def test_generated_array_modules_match_examples(example):
    """Regenerate with: gradc compile examples/arrays/X.txt -o generated/arrays/X.py"""
    expected = compile_source(example.read_text(encoding="utf-8"))
    assert (GENERATED / "arrays" / f"{example.stem}.py").read_text(encoding="utf-8") == expected


def test_every_generated_array_module_has_an_example():
    assert sorted(p.stem for p in (GENERATED / "arrays").glob("*.py")) == \
        sorted(p.stem for p in ARRAY_EXAMPLES)


@pytest.mark.parametrize("seed", ["0", "1", "12345"])
def test_array_output_is_identical_under_any_hash_seed(seed, tmp_path):
    example = EXAMPLES / "arrays" / "two_layer.txt"
    out = tmp_path / "two_layer.py"
    environment = dict(os.environ, PYTHONHASHSEED=seed)
    subprocess.run([sys.executable, "-m", "compiler", "compile", str(example), "-o", str(out)],
                   check=True, env=environment)
    assert out.read_bytes() == (GENERATED / "arrays" / "two_layer.py").read_bytes()


def test_every_generated_module_has_an_example():
    names = {_generated_path(p, t).name for p in EXAMPLE_FILES for t in TARGETS}
    assert {p.name for p in GENERATED.glob("*.py")} <= names


@pytest.mark.parametrize("target", ["math", "numpy", "numba", "array-api"])
@pytest.mark.parametrize("seed", ["0", "1", "12345"])
def test_output_is_identical_under_any_hash_seed(seed, target, tmp_path):
    example = EXAMPLES / "circuit.txt"   # max, a constant, fan-out: the most to order
    out = tmp_path / "circuit.py"
    environment = dict(os.environ, PYTHONHASHSEED=seed)
    subprocess.run([sys.executable, "-m", "compiler", "compile", str(example), "-o", str(out),
                    "--target", target], check=True, env=environment)
    assert out.read_bytes() == _generated_path(example, target).read_bytes()


def test_generated_module_runs_without_gradc_or_site_packages():
    """-I -S: no user site, no site-packages, no PYTHONPATH; only the stdlib."""
    run = subprocess.run(
        [sys.executable, "-I", "-S", str(GENERATED / "staged.py"), "x=3", "y=-4"],
        capture_output=True, text=True, check=True)
    assert run.stdout == ("f = 1.5456448841066441\n"
                          "df/dx = 2.0595697955721652\n"
                          "df/dy = 1.5922327514838093\n")
    probe = subprocess.run([sys.executable, "-I", "-S", "-c", "import compiler"],
                           capture_output=True, text=True, cwd=GENERATED)
    assert probe.returncode != 0


def test_generated_module_runs_with_python_dash_m():
    # -E -s -S: no environment, no site-packages; unlike -I, the current
    # directory stays on the path, so -m finds the module.
    run = subprocess.run([sys.executable, "-E", "-s", "-S", "-m", "staged", "x=3", "y=-4"],
                         capture_output=True, text=True, check=True, cwd=GENERATED)
    assert run.stdout.startswith("f = 1.5456448841066441\n")


def test_script_usage_message_names_the_inputs():
    run = subprocess.run([sys.executable, "-I", "-S", str(GENERATED / "staged.py"), "x=3"],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().endswith("staged.py x=VALUE y=VALUE")


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_generated_modules_import_only_math(example):
    tree = ast.parse(_generated_path(example, "math").read_text(encoding="utf-8"))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(alias.name == "math" for node in top_level for alias in node.names)


def test_keyword_calls_work(compile_text):
    module = compile_text((EXAMPLES / "staged.txt").read_text(encoding="utf-8"))
    assert module.grad(y=-4.0, x=3.0) == module.grad(3.0, -4.0)
    assert module.f(y=-4.0, x=3.0) == 1.5456448841066441
    value, cache = module.forward(x=3.0, y=-4.0)
    assert module.backward(cache, df=2.0) == tuple(2 * g for g in module.grad(3.0, -4.0)[1])


@pytest.mark.parametrize("target", ["math", "numpy", "numba", "array-api"])
def test_keyword_calls_and_a_seed_named_after_the_output_work_on_every_target(target):
    module = build("loss(x, y) = x * y^2", target=target, second_order=("jvp", "hvp"))
    assert float(module.loss(y=-4.0, x=3.0)) == 48.0
    value, gradient = module.grad(y=-4.0, x=3.0)
    assert float(value) == 48.0 and [float(g) for g in gradient] == [16.0, -24.0]
    _, cache = module.forward(x=3.0, y=-4.0)
    for seeded in (module.backward(cache, 0.5), module.backward(cache, dloss=0.5)):
        assert [float(g) for g in seeded] == [8.0, -12.0]
    assert float(module.jvp(y=-4.0, x=3.0, v_y=1.0)[1]) == -24.0
    assert [float(h) for h in module.hvp(y=-4.0, x=3.0, v_x=1.0)[2]] == [0.0, -8.0]


@pytest.mark.parametrize("module_path", sorted(GENERATED.glob("*.py")), ids=lambda p: p.stem)
def test_every_builtin_a_module_calls_is_reserved_from_formula_names(module_path):
    """A formula name equal to a builtin the module calls would shadow it;
    naming.is_reserved says what such names are renamed away from
    (tests/test_builtin_names.py checks each target's own few)."""
    import builtins

    from compiler.passes.naming import is_reserved

    tree = ast.parse(module_path.read_text(encoding="utf-8"))
    assigned = {node.id for node in ast.walk(tree)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    assigned |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assigned |= {arg.arg for node in ast.walk(tree) if isinstance(node, ast.arguments)
                 for arg in node.args}
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load) and hasattr(builtins, node.id)
            and node.id not in assigned}
    assert all(map(is_reserved, used)), sorted(name for name in used if not is_reserved(name))


def test_grad_runs_the_lines_in_one_body_only_up_to_the_limit(compile_text):
    from compiler.emit.context import FUSED_GRAD_LIMIT

    small = "f = " + " + ".join(f"sin(x{i})" for i in range(10))
    large = "f = " + " + ".join(f"sin(x{i % 50})" for i in range(FUSED_GRAD_LIMIT))
    assert "    out, cache = forward(" not in compile_source(small)
    source = compile_source(large)
    assert "    out, cache = forward(" in source
    assert source.count("    sinx0 = math.sin(x0)\n") == 1
    module = compile_text(large)
    point = [0.01 * i for i in range(50)]
    value, gradient = module.grad(*point)
    assert value == pytest.approx(sum(20 * math.sin(p) for p in point), rel=1e-12)
    assert gradient == pytest.approx([20 * math.cos(p) for p in point], rel=1e-12)
