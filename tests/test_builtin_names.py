"""A user's name is renamed away from a builtin only where the module calls
that builtin (LANGUAGE.md §6): each target's modules call their own few
(naming.builtins_called), read here from rendered modules with `ast`."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

from compiler import compile_source
from compiler.build import build as build_formula
from compiler.passes.naming import builtins_called
from conftest import build

TARGETS = ("math", "numba", "numpy", "array-api")
ARRAYS = sorted((Path(__file__).resolve().parent.parent / "examples" / "arrays").glob("*.txt"))
SCALAR = ("f(x) = x^2",
          "f(x, y) = relu(x) + abs(y) + max(x, y) + min(x, y) + softplus(x) + sigmoid(y)")
SECOND_ORDER = ((), ("jvp",), ("jvp", "hvp"))


def builtins_read(source: str) -> set[str]:
    """The builtins a module reads by their bare names, which a name the
    module defines at any level does not shadow."""
    tree = ast.parse(source)
    defined = {node.id for node in ast.walk(tree)
               if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    defined |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    defined |= {arg.arg for node in ast.walk(tree) if isinstance(node, ast.arguments)
                for arg in (*node.args, *node.kwonlyargs)}
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
            and hasattr(builtins, node.id) and node.id not in defined
            and not node.id.startswith("__")}


def _formulas(target: str) -> list[str]:
    arrays = [path.read_text(encoding="utf-8") for path in ARRAYS] \
        if target in ("numpy", "array-api") else []
    return [*SCALAR, *arrays]


@pytest.mark.parametrize("second_order", SECOND_ORDER, ids=lambda kinds: "+".join(kinds) or "-")
@pytest.mark.parametrize("target", TARGETS)
def test_the_builtins_reserved_are_exactly_those_the_modules_call(target, second_order):
    called = set()
    for text in _formulas(target):
        for style in ("lecture", "compact"):
            if style == "compact" and text not in SCALAR:
                continue
            called |= builtins_read(compile_source(text, target=target, style=style,
                                                   second_order=second_order))
    interface = frozenset(second_order) | ({"hessian"} if "hvp" in second_order else set())
    assert sorted(called) == sorted(builtins_called(target, interface))


def test_the_math_target_renames_only_the_builtins_it_calls():
    module = build("print = isinstance * abs + len * sum - float", target="math")
    assert module.INPUTS == ("isinstance", "abs_", "len", "sum", "float_")
    assert hasattr(module, "print_") and not hasattr(module, "print")


def _python(name: str, target: str) -> str:
    return name + "_" if name in builtins_called(target) else name


@pytest.mark.parametrize("target", TARGETS)
def test_names_of_builtins_are_inputs_stages_and_outputs_by_keyword(target):
    text = ("sum = isinstance * abs + len\n"
            "max = sum * float - len^2\n"
            "isinstance_of(isinstance, abs, len, float) = max + sum\n")
    module = build(text, target=target)
    names = ("isinstance", "abs", "len", "float")
    assert module.INPUTS == tuple(_python(name, target) for name in names)
    point = dict(zip(module.INPUTS, (2.0, 3.0, 5.0, 7.0)))
    total = 2.0 * 3.0 + 5.0
    value, gradient = module.grad(**point)
    assert float(value) == total + total * 7.0 - 25.0
    assert [float(each) for each in gradient] == [3.0 * 8.0, 2.0 * 8.0, 8.0 - 10.0, total]
    assert float(module.isinstance_of(**point)) == float(value)


@pytest.mark.parametrize("target", TARGETS)
def test_an_output_named_after_a_builtin_keeps_its_name_where_uncalled(target):
    module = build("isinstance(len, abs) = len * abs^2", target=target)
    output = _python("isinstance", target)
    assert module.INPUTS == (_python("len", target), _python("abs", target))
    assert float(getattr(module, output)(3.0, 2.0)) == 12.0
    assert [float(each) for each in module.grad(3.0, 2.0)[1]] == [4.0, 12.0]


def test_a_formula_built_for_one_target_is_named_again_for_another():
    formula = build_formula("f(isinstance, len) = isinstance * len")
    assert "def forward(isinstance, len):" in formula.module()
    assert "def forward(isinstance_, len_):" in formula.module("numpy")
