"""The compact style (`--style compact`) and the fused `grad`.

Compact code is written for speed, so every test here holds it to the
lecture style's numbers: the same sums in the same order, the rows'
compact forms equal to their lecture code within rounding.
"""

from __future__ import annotations

import ast
import math
import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_source
from compiler.adjoint import adjoint
from compiler.emit import context
from compiler.gates import GATES
from compiler.loader import module_from_source
from compiler.render import render
from compiler.stage import Const, Ref, Stage, StagedIR
from conftest import EXAMPLES, ROOT, build
from gate_math import NEGATIVE_POINTS, POINTS, POSITIVE_ONLY
from test_random_formulas import NAMES, formulas

STAGED = (EXAMPLES / "staged.txt").read_text(encoding="utf-8")
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.txt"))
RTOL = 1e-14


def _close(compact, lecture):
    value, gradient = compact
    expected_value, expected_gradient = lecture
    assert value == pytest.approx(expected_value, rel=RTOL, abs=1e-300)
    assert gradient == pytest.approx(expected_gradient, rel=RTOL, abs=1e-300)


def test_staged_example_golden_compact_module():
    """Regenerate with: gradc compile examples/staged.txt --style compact
    -o tests/golden/staged_compact.py"""
    golden = (ROOT / "tests" / "golden" / "staged_compact.py").read_text(encoding="utf-8")
    assert compile_source(STAGED, style="compact") == golden


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_compact_matches_the_lecture_style_on_every_example(example):
    text = example.read_text(encoding="utf-8")
    lecture, compact = build(text), build(text, style="compact")
    generator = random.Random(example.stem)
    for _ in range(300):
        point = [generator.uniform(-4.0, 4.0) for _ in lecture.INPUTS]
        _close(compact.grad(*point), lecture.grad(*point))
        value, cache = compact.forward(*point)
        _close((value, compact.backward(cache)), lecture.grad(*point))


def _gate_modules(gate):
    names = ("a", "b", "u")[: 3 if gate.variadic else gate.arity]
    const = Const(2.5) if gate.takes_constant else None
    staged = StagedIR(names, (Stage("f", gate, tuple(map(Ref, names)), const, None),), "f",
                      {n: n for n in names})
    return tuple(module_from_source(render(context(adjoint(staged, compact=compact), style)),
                                    f"gate_{gate.name}_{style}", "<gate>")
                 for compact, style in ((False, "lecture"), (True, "compact")))


@pytest.mark.parametrize("name", sorted(GATES))
def test_every_gate_in_the_compact_style_matches_the_lecture(name):
    gate = GATES[name]
    lecture, compact = _gate_modules(gate)
    extra = [] if name in POSITIVE_ONLY else NEGATIVE_POINTS + [(-3.0, 2.0, 0.5), (2.0, -0.5, -1.5)]
    for point in POINTS + extra:
        point = point[: len(lecture.INPUTS)]
        _close(compact.grad(*point), lecture.grad(*point))


@pytest.mark.parametrize("name", sorted(name for name, row in GATES.items() if row.compact))
def test_a_compact_form_uses_only_its_rows_placeholders(name):
    row = GATES[name]

    def fields(snippets):
        return {f for s in snippets for _, f, _, _ in string.Formatter().parse(s) if f}

    assert fields([row.compact.forward]) <= fields([row.forward])
    assert fields(row.compact.local) <= fields(row.local) | fields([row.forward]) | {"out"}
    assert len(row.compact.local) == len(row.local)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(formulas(), st.tuples(*[st.floats(-1.5, 1.5) for _ in NAMES]))
def test_random_formulas_in_the_compact_style_match_the_lecture(formula, values):
    text, _ = formula
    lecture, compact = build(text), build(text, style="compact")
    point = dict(zip(NAMES, values))
    args = [point[name] for name in lecture.INPUTS]
    _close(compact.grad(*args), lecture.grad(*args))


def test_contributions_are_summed_in_the_lectures_order():
    """(-3e16 + 1) + 3e16 is 0, the lecture's `=` then `+=`; summed in
    another order it would be 1."""
    text = "f = 3e16*x + x + x*(-3e16)"
    assert build(text).grad(1.0) == (0.0, (0.0,))
    assert build(text, style="compact").grad(1.0) == (0.0, (0.0,))
    assert "    dx = (-3e+16) + 1.0 + 3e+16\n" in compile_source(text, style="compact")


def test_a_negative_contribution_is_subtracted():
    text = "f(x, y) = (x - y) * (y - x)"
    source = compile_source(text, style="compact")
    assert "    dx = -xmy + ymx\n    dy = xmy - ymx\n" in source
    assert build(text, style="compact").grad(3.0, -4.0) == build(text).grad(3.0, -4.0)


def _backward(source: str) -> ast.FunctionDef:
    return next(node for node in ast.parse(source).body
                if isinstance(node, ast.FunctionDef) and node.name == "backward")


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_compact_assigns_each_adjoint_once_and_multiplies_by_no_unit(example):
    source = compile_source(example.read_text(encoding="utf-8"), style="compact")
    backward = _backward(source)
    assigned = [t.id for node in ast.walk(backward) if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)]
    assert len(assigned) == len(set(assigned))
    assert not any(isinstance(node, ast.AugAssign) for node in ast.walk(backward))
    for unit in ("(1) *", "(-1) *", "* 1.0", "**2"):
        assert unit not in source


def test_compact_backward_scales_by_the_seed_once_at_the_end():
    module = build(STAGED, style="compact")
    value, gradient = module.grad(3.0, -4.0)
    cache = module.forward(3.0, -4.0)[1]
    assert module.backward(cache, df=2.5) == tuple(2.5 * g for g in gradient)
    assert "    return (dx * df, dy * df)\n" in compile_source(STAGED, style="compact")
    ignores = build("f(x, y) = 3 * x", style="compact")
    assert ignores.backward(ignores.forward(1.0, 2.0)[1], df=-2.0) == (-6.0, 0.0)


@pytest.mark.parametrize("style", ["lecture", "compact"])
def test_grad_runs_the_lines_of_forward_and_backward_in_one_body(style):
    """No call, no cache: grad's body is forward's lines, then backward's."""
    source = compile_source(STAGED, style=style)
    functions = {node.name: node for node in ast.parse(source).body
                 if isinstance(node, ast.FunctionDef)}
    grad = functions["grad"]
    assert not any(isinstance(node, ast.Call) and getattr(node.func, "id", "") in
                   ("forward", "backward") for node in ast.walk(grad))
    body = [ast.unparse(node) for node in grad.body[1:-1]]
    forward = [ast.unparse(node) for node in functions["forward"].body[1:-1]]
    backward = [ast.unparse(node) for node in _backward(source).body[1:-1]]
    seed = ["df = 1.0"] if style == "lecture" else []
    assert body == forward + seed + backward[1:]   # backward's first line unpacks the cache
    module = build(STAGED, style=style)
    value, cache = module.forward(0.3, -1.7)
    assert module.grad(0.3, -1.7) == (value, module.backward(cache))


def test_compact_squares_by_multiplying_and_keeps_the_stable_sigmoid():
    module = build("f = σ(x) * x^2", style="compact")
    assert module.grad(-800.0)[0] == 0.0 and module.grad(800.0)[0] == 640000.0
    assert math.isfinite(module.grad(-800.0)[1][0])
    assert "xsqr = x * x" in compile_source("f = σ(x) * x^2", style="compact")
