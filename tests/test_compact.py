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
from compiler.gates import GATES, SCALAR_GATES
from compiler.checker.oracle import build as build_oracle
from compiler.front.parse import parse
from compiler.front.resolve import resolve
from helpers import single_gate_module
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
    return tuple(single_gate_module(gate, 2.5, style=style) for style in ("lecture", "compact"))


@pytest.mark.parametrize("name", sorted(SCALAR_GATES))
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
    assert ", ((-3e+16) + 1.0 + 3e+16,)\n" in compile_source(text, style="compact")


def test_a_negative_contribution_is_subtracted():
    text = "f(x, y) = (x - y) * (y - x)"
    source = compile_source(text, style="compact")
    assert ", (-xmy + ymx, xmy - ymx)\n" in source
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
    compound = (EXAMPLES / "compound.txt").read_text(encoding="utf-8")
    assert "    return (z * df, z * df, q * df)\n" in compile_source(compound, style="compact")
    assert "    return ((dxpy + ((1.0 - sigx) * sigx) * dden + invden) * df, " in \
        compile_source(STAGED, style="compact")
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
    if style == "lecture":   # backward's [0] unpacks the cache; grad's seed is 1
        assert body == forward + [line.replace(" * df", "") for line in backward[1:]]
        assert body[len(forward):len(forward) + 2] == ["dnum = invden", "dinvden = num"]
    else:   # the output's line is grad's return; no line reads f
        assert body == forward[:-1] + backward[1:]
        assert ast.unparse(grad.body[-1].value.elts[0]) == forward[-1].partition(" = ")[2]
    module = build(STAGED, style=style)
    value, cache = module.forward(0.3, -1.7)
    assert module.grad(0.3, -1.7) == (value, module.backward(cache))


def test_compact_squares_by_multiplying_and_keeps_the_stable_sigmoid():
    module = build("f = σ(x) * x^2", style="compact")
    assert module.grad(-800.0)[0] == 0.0 and module.grad(800.0)[0] == 640000.0
    assert math.isfinite(module.grad(-800.0)[1][0])
    assert "xsqr = x * x" in compile_source("f = σ(x) * x^2", style="compact")


def _compact_grad(name: str) -> str:
    source = compile_source((EXAMPLES / f"{name}.txt").read_text(encoding="utf-8"),
                            style="compact")
    grad = next(node for node in ast.parse(source).body
                if isinstance(node, ast.FunctionDef) and node.name == "grad")
    return "\n".join(ast.unparse(node) for node in grad.body[1:])


@pytest.mark.parametrize("name, body", [
    ("multiply", "return (x * y, (y, x))"),
    ("compound", "q = x + y\nreturn (q * z, (z, z, q))"),
    ("logistic_loss", "h1 = w * x\n"
     "h2 = 1.0 / (1.0 + exp(-h1)) if h1 >= 0.0 else exp(h1) / (1.0 + exp(h1))\n"
     "signegh1 = 1.0 / (1.0 + exp(h1)) if h1 <= 0.0 else exp(-h1) / (1.0 + exp(-h1))\n"
     "dh1 = -signegh1\n"
     "return ((0.0 if h1 > 0.0 else -h1) + log1p(exp(-abs(h1))), (x * dh1, w * dh1))"),
    ("circuit", "xy = x * y\nmaxzw = max(z, w)\nxypmaxzw = xy + maxzw\n"
     "return (2.0 * xypmaxzw, (y * 2.0, x * 2.0, (1.0 if z == maxzw else 0.0) * 2.0, "
     "(1.0 if w == maxzw and z != maxzw else 0.0) * 2.0))"),
])
def test_compact_grad_returns_names_numbers_and_the_output_as_code(name, body):
    """An adjoint that is a name or a number is never stored: the gradient
    `(y, x)` is returned as it is, 2.0 and -1.0 are written into their
    readers (-1.0 as a negation), and the output, which no line reads, is
    computed in the return."""
    assert _compact_grad(name) == body


def _sympy_value_and_gradient(text: str, point):
    """SymPy's value and gradient at `point`, each max on the piece that
    the point selects (compiler/checker/oracle.py)."""
    oracle = build_oracle(resolve(parse(text)))
    return oracle.evaluate(oracle.compile_entries(), point, oracle.choose(point, {}))


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_compact_grad_agrees_with_sympy_on_every_example(example):
    text = example.read_text(encoding="utf-8")
    module = build(text, style="compact")
    generator = random.Random(example.stem + "sympy")
    for _ in range(5):
        point = [generator.uniform(-3.0, 3.0) for _ in module.INPUTS]
        value, gradient = module.grad(*point)
        expected = _sympy_value_and_gradient(text, point)
        assert [value, *gradient] == pytest.approx(expected, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("text", [
    "h = σ(x)\ne = -log(h)",                  # a -1.0 seed becomes a negation
    "a = -x\nb = -a\nf = b * sin(a)",           # -(-1.0) is a unit again
    "f(x, y, z) = 2 * (x*y + max(z, 3*y))",     # numbers chain through readers
    "f(x, y) = -(x * y) + -(-3 * (x + y))",
])
def test_propagated_numbers_give_the_lecture_values_bit_for_bit(text):
    lecture, compact = build(text), build(text, style="compact")
    generator = random.Random(text)
    for _ in range(200):
        point = [generator.uniform(-4.0, 4.0) for _ in lecture.INPUTS]
        assert compact.grad(*point) == lecture.grad(*point)


def test_math_functions_are_called_by_their_bare_names():
    source = compile_source(STAGED, style="compact")
    assert "\nfrom math import exp\n" in source and "import math\n" not in source
    assert "math." not in source


def test_a_bare_name_the_module_already_uses_keeps_its_prefix():
    """An input called `exp`, an output called `sqrt`: their functions stay
    `math.exp` and `math.sqrt`, the others are bare."""
    text = "sqrt(exp, y) = σ(exp) * log(y) + sqrt(y)"
    source = compile_source(text, style="compact")
    assert "\nimport math\nfrom math import log\n" in source
    assert "math.exp(-exp)" in source and "math.sqrt(y)" in source
    lecture, compact = build(text), build(text, style="compact")
    for point in ((0.5, 2.0), (-1.5, 0.25)):
        _close(compact.grad(*point), lecture.grad(*point))
        assert compact.sqrt(*point) == lecture.sqrt(*point)


def _grad_text(name: str, style: str) -> str:
    source = compile_source((EXAMPLES / f"{name}.txt").read_text(encoding="utf-8"),
                            style=style)
    return source[source.index("def grad("):source.index("\n\n\ndef ", source.index("def grad("))]


def test_lecture_grad_writes_a_factor_times_a_seed_of_1_alone_as_the_lecture_does():
    """The lecture's listing: `dnum = invden`, `ddot = (1 - f) * f`.  A
    number keeps the seed, so that the gradient is a float."""
    staged, neuron = _grad_text("staged", "lecture"), _grad_text("neuron", "lecture")
    assert "    dnum = invden\n    dinvden = num\n" in staged
    assert "df = 1.0" not in staged and "* df\n" not in staged
    assert "    ddot = (1 - f) * f\n" in neuron
    circuit = _grad_text("circuit", "lecture")
    assert "    df = 1.0\n" in circuit and "    dxypmaxzw = (2) * df\n" in circuit
    assert all(isinstance(g, float) for g in build(
        (EXAMPLES / "circuit.txt").read_text(encoding="utf-8")).grad(1, 2, 3, 4)[1])


@pytest.mark.parametrize("style", ["lecture", "compact"])
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_grad_equals_forward_then_backward_bit_for_bit(example, style):
    module = build(example.read_text(encoding="utf-8"), style=style)
    generator = random.Random(example.stem + style)
    for _ in range(50):
        point = [generator.uniform(-4.0, 4.0) for _ in module.INPUTS]
        value, cache = module.forward(*point)
        assert module.grad(*point) == (value, module.backward(cache))
