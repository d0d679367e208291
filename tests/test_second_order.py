"""jvp, hvp and hessian (LANGUAGE.md §10) on whole formulas: numbers,
batches of points, arrays and layers, against SymPy and central
differences of the gradient."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp

from compiler import compile_source
from conftest import EXAMPLES, build

STAGED = (EXAMPLES / "staged.txt").read_text(encoding="utf-8")
TWO_LAYER = (EXAMPLES / "arrays" / "two_layer.txt").read_text(encoding="utf-8")


def _staged_sympy():
    x, y = sp.symbols("x y", real=True)
    sigma = lambda z: 1 / (1 + sp.exp(-z))  # noqa: E731
    return (x, y), (x + sigma(y)) / (sigma(x) + (x + y)**2)


@pytest.mark.parametrize("target", ["math", "numpy", "numba", "array-api"])
def test_staged_example_matches_sympys_derivatives(target):
    module = build(STAGED, target=target, second_order=("jvp", "hvp"))
    symbols, f = _staged_sympy()
    hessian = sp.hessian(f, symbols)
    for point, direction in (((0.3, -0.7), (0.5, 2.0)), ((-2.0, 1.5), (-1.0, 0.25))):
        at = dict(zip(symbols, point))
        value, tangent = module.jvp(*point, v_x=direction[0], v_y=direction[1])
        gradient = [sp.diff(f, s) for s in symbols]
        assert value == pytest.approx(float(f.evalf(30, subs=at)), rel=1e-14)
        assert tangent == pytest.approx(float(sum(g * v for g, v in zip(gradient, direction))
                                              .evalf(30, subs=at)), rel=1e-13)
        _, (dx, dy), product = module.hvp(*point, v_x=direction[0], v_y=direction[1])
        assert (dx, dy) == module.grad(*point)[1]
        for i, got in enumerate(product):
            exact = sum(hessian[i, j] * direction[j] for j in range(2))
            assert got == pytest.approx(float(exact.evalf(30, subs=at)), rel=1e-12)
        _, _, matrix = module.hessian(*point)
        assert matrix[0][1] == matrix[1][0]
        for i in range(2):
            for j in range(2):
                assert matrix[i][j] == pytest.approx(
                    float(hessian[i, j].evalf(30, subs=at)), rel=1e-12)


def test_directions_are_keyword_only_default_zero_and_named_after_the_inputs():
    module = build("f(lambda, y) = lambda * y^3", second_order=("jvp", "hvp"))
    parameters = inspect.signature(module.hvp).parameters
    assert list(parameters) == ["lambda_", "y", "v_lambda_", "v_y"]
    assert parameters["v_y"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["v_y"].default == 0
    with pytest.raises(TypeError):
        module.jvp(1.0, 2.0, 1.0, 0.0)
    assert module.jvp(2.0, 3.0) == (54.0, 0.0)
    assert module.jvp(2.0, 3.0, v_y=1.0) == (54.0, 2.0 * 27.0)
    assert module.hvp(2.0, 3.0, v_y=1.0)[2] == (27.0, 2.0 * 6 * 3.0)


def test_wrt_limits_the_directions_and_the_hessian():
    module = build("f = x^2 * y^3 * z", wrt=["z", "x"], second_order=("jvp", "hvp"))
    assert list(inspect.signature(module.jvp).parameters) == ["x", "y", "z", "v_z", "v_x"]
    value, gradient, matrix = module.hessian(2.0, 1.0, 5.0)
    assert gradient == (4.0, 20.0)
    assert matrix == ((0.0, 4.0), (4.0, 10.0))


def test_jvp_alone_and_no_flags_leave_the_module_as_it_was():
    plain = compile_source(STAGED)
    assert compile_source(STAGED, second_order=()) == plain
    with_jvp = compile_source(STAGED, second_order=("jvp",))
    assert with_jvp.startswith(plain.split("\n\ndef _main")[0])
    assert "def jvp(" in with_jvp and "def hvp(" not in with_jvp \
        and "def hessian(" not in with_jvp
    # Without the flags the names are free for the user.
    module = build("f(hvp, hessian) = hvp * hessian")
    assert module.INPUTS == ("hvp", "hessian")
    renamed = build("f(hvp, hessian) = hvp * hessian", second_order=("jvp", "hvp"))
    assert renamed.INPUTS == ("hvp_", "hessian_")
    assert renamed.hessian(2.0, 3.0) == (6.0, (3.0, 2.0), ((0.0, 1.0), (1.0, 0.0)))
    # --jvp adds jvp alone: only its name is taken.
    with_jvp_only = build("f(jvp, hvp, hessian) = jvp * hvp * hessian", second_order=("jvp",))
    assert with_jvp_only.INPUTS == ("jvp_", "hvp", "hessian")
    assert with_jvp_only.jvp(hvp=2.0, hessian=3.0, jvp_=5.0, v_hvp=1.0) == (30.0, 15.0)


def test_each_tangent_is_named_after_its_value_and_follows_a_comment():
    source = compile_source(STAGED, second_order=("jvp", "hvp"))
    assert "    # tangent of num = x + sigy\n    t_num = v_x + t_sigy\n" in source
    assert "    dnum = invden\n    t_dnum = t_invden\n" in source
    assert "    return f, (dx, dy), (t_dx, t_dy)\n" in source


@pytest.mark.parametrize("target", ["math", "numpy"])
def test_the_compact_style_gets_the_lecture_styles_jvp_and_hvp(target):
    lecture = build(STAGED, target=target, second_order=("jvp", "hvp"))
    compact = build(STAGED, target=target, style="compact", second_order=("jvp", "hvp"))
    for point in ((0.3, -0.7), (-2.0, 1.5)):
        assert compact.hvp(*point, v_x=0.5, v_y=2.0) == lecture.hvp(*point, v_x=0.5, v_y=2.0)
        assert compact.hessian(*point) == lecture.hessian(*point)
    plain = compile_source(STAGED, target=target, style="compact")
    with_hvp = compile_source(STAGED, target=target, style="compact", second_order=("jvp", "hvp"))
    # The compact module's own functions are as before; only imports may grow.
    assert plain.split("\nINPUTS")[1].split("\ndef _main")[0] in with_hvp


REFUSED = "error: the direction of 'x' is named 'v_x' (§10), but the file already has " \
          "a value of that name: rename it"


@pytest.mark.parametrize("text, line, column", [
    ("E(x, v_x) = x^2 + v_x^2\n", 1, 6),
    ("x: [D]\nv_x: [D]\nf = sum(x * v_x)\n", 2, 1),
    ("v_x = 2\nf = x * v_x\n", 1, 1),
], ids=["input", "array input", "stage"])
def test_a_direction_whose_name_the_file_uses_is_refused_at_that_name(tmp_path, capsys,
                                                                     text, line, column):
    from compiler.cli import main

    formula = tmp_path / "clash.txt"
    formula.write_text(text, encoding="utf-8")
    out = tmp_path / "clash.py"
    shown = text.splitlines()[line - 1] + "\n" + " " * (column - 1) + "^\n"
    for command in (["compile", str(formula), "--hvp", "-o", str(out)],
                    ["check", str(formula), "--jvp"]):
        assert main(command) == 2
        assert capsys.readouterr().err == f"{formula}:{line}:{column}: {REFUSED}\n{shown}"
    assert not out.exists()


def test_a_direction_is_refused_only_for_an_input_that_takes_one(tmp_path):
    from compiler.cli import main

    formula = tmp_path / "clash.txt"
    formula.write_text("E(x, v_x) = x^2 + v_x^2\n", encoding="utf-8")
    assert main(["compile", str(formula), "--hvp", "--wrt", "v_x", "-o", "-"]) == 0


def test_numpy_batches_of_points_and_broadcast_inputs():
    module = build(STAGED, target="numpy", second_order=("jvp", "hvp"))
    xs = np.linspace(-2, 2, 7)
    value, gradient, product = module.hvp(xs, 0.5, v_x=1.0, v_y=np.ones(7))
    assert product[0].shape == (7,) and np.shape(product[1]) == ()
    for i, x in enumerate(xs):
        _, _, single = module.hvp(float(x), 0.5, v_x=1.0, v_y=1.0)
        assert product[0][i] == pytest.approx(single[0], rel=1e-14)
    assert product[1] == pytest.approx(sum(module.hvp(float(x), 0.5, v_x=1.0, v_y=1.0)[2][1]
                                           for x in xs), rel=1e-13)
    _, _, matrix = module.hessian(xs, 0.5 + xs)
    assert matrix[0][0].shape == (7,)


def _two_layer_inputs(module, seed=0):
    generator = np.random.default_rng(seed)
    sizes = {"N": 6, "D": 5, "H": 4, "C": 3}
    args = []
    for name in module.INPUTS:
        if name == "Y":
            args.append(np.eye(3)[generator.integers(0, 3, 6)])
        elif name in module.SHAPES:
            args.append(generator.standard_normal([sizes[d] for d in module.SHAPES[name]]))
        else:
            args.append(0.1)
    return args


def test_two_layer_hvp_matches_central_differences_of_the_gradient():
    module = build(TWO_LAYER, second_order=("jvp", "hvp"))
    args = _two_layer_inputs(module)
    generator = np.random.default_rng(1)
    directions = {f"v_{name}": generator.standard_normal(np.shape(arg))
                  for name, arg in zip(module.INPUTS, args)}
    value, gradient = module.grad(*args)
    jvp_value, tangent = module.jvp(*args, **directions)
    assert jvp_value == value
    assert tangent == pytest.approx(sum(np.sum(g * directions[f"v_{name}"])
                                        for g, name in zip(gradient, module.INPUTS)), rel=1e-12)
    _, hvp_gradient, product = module.hvp(*args, **directions)
    step = 1e-6
    moved = [[a + sign * step * directions[f"v_{n}"] for a, n in zip(args, module.INPUTS)]
             for sign in (1, -1)]
    up, down = (module.grad(*point)[1] for point in moved)
    for name, got, high, low in zip(module.INPUTS, product, up, down):
        assert np.shape(got) == np.shape(high)
        np.testing.assert_allclose(got, (high - low) / (2 * step), rtol=1e-5, atol=1e-7,
                                   err_msg=name)
    assert not hasattr(module, "hessian")


def test_a_layer_gets_jvp_alone_with_the_output_shape():
    text = "W: [H, D]\nx: [D]\nb: [H]\nz = relu(W @ x + b)"
    module = build(text, second_order=("jvp", "hvp"))
    assert not hasattr(module, "hvp") and not hasattr(module, "hessian")
    generator = np.random.default_rng(2)
    W, x, b = generator.standard_normal((3, 4)), generator.standard_normal(4), \
        generator.standard_normal(3)
    vW = generator.standard_normal((3, 4))
    out, tangent = module.jvp(W, x, b, v_W=vW)
    assert tangent.shape == out.shape == (3,)
    np.testing.assert_allclose(tangent, (W @ x + b > 0) * (vW @ x), rtol=1e-14)
    assert np.array_equal(module.jvp(W, x, b)[1], np.zeros(3))
    with pytest.raises(ValueError, match=r"v_W has shape \(4,\), but its input has shape \(3, 4\)"):
        module.jvp(W, x, b, v_W=np.ones(4))


@pytest.mark.parametrize("function", ["jvp", "hvp"])
@pytest.mark.parametrize("direction, error, message", [
    ({"v_t": np.ones(2)}, ValueError, "v_t has shape (2,), but it is a number"),
    ({"v_t": "a"}, TypeError, "v_t holds text, but it is a number"),
    ({"v_t": 1j}, TypeError, "v_t holds complex numbers, but it is a number"),
    ({"v_S": "a"}, TypeError, "v_S holds text, but its input is made of real numbers"),
    ({"v_S": np.ones((2, 3)) * 1j}, TypeError,
     "v_S holds complex numbers, but its input is made of real numbers"),
], ids=["number given an array", "number given text", "number given complex",
        "array given text", "array given complex"])
def test_a_direction_is_checked_as_its_input_is(function, direction, error, message):
    module = build("S: [N, C]\nL = sum(log_softmax(S * t))", second_order=("jvp", "hvp"))
    with pytest.raises(error) as raised:
        getattr(module, function)(np.zeros((2, 3)), 2.0, **direction)
    assert str(raised.value) == message
    standard = build("S: [N, C]\nL = sum(log_softmax(S * t))", target="array-api",
                     second_order=("jvp", "hvp"))
    with pytest.raises(error) as raised:
        getattr(standard, function)(np.zeros((2, 3)), 2.0, **direction)
    # The array-api target says what every input is made of.
    assert str(raised.value) == message.replace("it is a number", "it is made of real numbers") \
        .replace("its input is made of", "it is made of") if error is TypeError else message
    # A number's direction may be a NumPy number, as the number itself may.
    value, tangent = module.jvp(np.zeros((2, 3)), 2.0, v_S=np.ones((2, 3)), v_t=np.float32(0.5))
    assert value == pytest.approx(6 * np.log(1 / 3)) and tangent == pytest.approx(0.0, abs=1e-15)


def test_the_command_line_adds_jvp_with_jvp_and_all_three_with_hvp(tmp_path, capsys):
    from compiler.cli import main

    formula = tmp_path / "staged.txt"
    formula.write_text(STAGED, encoding="utf-8")
    assert main(["compile", str(formula), "--jvp", "-o", "-"]) == 0
    with_jvp = capsys.readouterr().out
    assert "\ndef jvp(x, y, *, v_x=0.0, v_y=0.0):\n" in with_jvp and "def hvp(" not in with_jvp
    assert main(["compile", str(formula), "--hvp", "-o", "-"]) == 0
    assert compile_source(STAGED, second_order=("jvp", "hvp")) == capsys.readouterr().out


SECOND_ORDER_EXAMPLES = {"staged": EXAMPLES / "staged.txt",
                         "two_layer": EXAMPLES / "arrays" / "two_layer.txt"}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER_EXAMPLES))
def test_generated_second_order_modules_are_current(name):
    """Regenerate with: gradc compile examples/[arrays/]X.txt --hvp
    -o generated/second_order/X.py"""
    from conftest import GENERATED

    expected = compile_source(SECOND_ORDER_EXAMPLES[name].read_text(encoding="utf-8"),
                              second_order=("jvp", "hvp"))
    assert (GENERATED / "second_order" / f"{name}.py").read_text(encoding="utf-8") == expected


def test_array_api_modules_agree_with_numpy_on_torch_tensors():
    torch = pytest.importorskip("torch")
    reference = build(TWO_LAYER, second_order=("jvp", "hvp"))
    module = build(TWO_LAYER, target="array-api", second_order=("jvp", "hvp"))
    args = _two_layer_inputs(reference)
    directions = {f"v_{name}": np.full(np.shape(arg), 0.25) if np.ndim(arg) else 0.25
                  for name, arg in zip(reference.INPUTS, args)}
    expected = reference.hvp(*args, **directions)
    tensors = [torch.tensor(arg) if np.ndim(arg) else arg for arg in args]
    got = module.hvp(*tensors, **{name: torch.tensor(value) if np.ndim(value) else value
                                  for name, value in directions.items()})
    assert isinstance(got[2][1], torch.Tensor)
    for mine, theirs in zip(got[2], expected[2]):
        np.testing.assert_allclose(np.asarray(mine), theirs, rtol=1e-12, atol=1e-14)
    staged = build(STAGED, target="array-api", second_order=("jvp", "hvp"))
    value, tangent = staged.jvp(0.3, -0.7, v_x=1.0)
    assert isinstance(value, float) and isinstance(tangent, float)
    assert tangent == pytest.approx(staged.grad(0.3, -0.7)[1][0], rel=1e-14)


def test_every_target_agrees_with_math_on_kinks_and_stable_forms():
    text = "f(x, y, z) = softplus(x * y) + abs(y) * relu(z - x) + max(x, y, z) * tanh(z)"
    reference = build(text, second_order=("jvp", "hvp"))
    modules = [build(text, target=target, second_order=("jvp", "hvp"))
               for target in ("numpy", "numba", "array-api")]
    direction = {"v_x": 0.3, "v_y": -1.1, "v_z": 0.7}
    for point in ((0.5, -1.5, 2.0), (-40.0, 2.0, 0.25), (1.0, 0.0, 1.0)):
        expected = reference.hvp(*point, **direction)
        for module in modules:
            got = module.hvp(*point, **direction)
            assert float(got[0]) == pytest.approx(expected[0], rel=1e-14)
            for mine, theirs in zip(got[1] + got[2], expected[1] + expected[2]):
                assert float(mine) == pytest.approx(theirs, rel=1e-12, abs=1e-14), module
            assert float(module.jvp(*point, **direction)[1]) == pytest.approx(
                reference.jvp(*point, **direction)[1], rel=1e-13, abs=1e-14)


def test_a_subtracting_backward_line_has_a_subtracting_tangent():
    from compiler.emit.printers import printer
    from compiler.emit.second_order import Lines, _line_tangent
    from compiler.emit.terms import Term
    from compiler.gates.expr import BinOp, Name, Number, UnaryOp

    live, names = {"dz": "t_dz"}, {"dx": "t_dx", "dy": "t_dy"}

    def tangent(target: str, first: bool, tree, on: str = "numpy") -> list[str]:
        lines = Lines(forward=(), blocks=(), seed_line="", zero_lines=(), module="np",
                      target=on)
        term = Term("", "", target, first, "dz", (), "", None, tree)
        return [written.line for written in
                _line_tangent(term, tree, live, names, lines, printer(on, "np"), None)]

    negated = UnaryOp("-", Name("dz"))
    assert tangent("y", False, negated) == ["t_dy = -t_dz"]  # dy = dy - dz
    assert tangent("y", False, negated) == ["t_dy = t_dy - t_dz"]
    assert tangent("x", True, UnaryOp("-", BinOp("*", Number("2.0"), Name("dz")))) == \
        ["t_dx = -(2.0 * t_dz)"]
    assert tangent("x", False, BinOp("*", Name("y"), Name("dz")), on="math") == \
        ["t_dx += y * t_dz"]


def _random_formula_cases():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from test_random_formulas import NAMES, SYMBOLS, formulas

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(formulas(), st.tuples(*[st.floats(-1.5, 1.5) for _ in NAMES]),
           st.sampled_from(["math", "numpy", "array-api"]))
    def check(formula, values, target):
        text, expr = formula
        module = build(text, target=target, second_order=("jvp", "hvp"))
        point = dict(zip(NAMES, values))
        args = [point[name] for name in module.INPUTS]
        symbols = [SYMBOLS[name] for name in module.INPUTS]
        subs = {s: sp.Float(point[name], 30) for s, name in zip(symbols, module.INPUTS)}
        direction = {f"v_{name}": 0.5 - 0.4 * k for k, name in enumerate(module.INPUTS)}
        v = list(direction.values())
        _, product = module.jvp(*args, **direction)
        exact = sp.sympify(sum(sp.diff(expr, s) * x for s, x in zip(symbols, v)))
        assert float(product) == pytest.approx(float(exact.evalf(30, subs=subs)),
                                               rel=1e-8, abs=1e-8), text
        _, _, products = module.hvp(*args, **direction)
        for s, got in zip(symbols, products):
            exact = sp.sympify(sum(sp.diff(expr, s, other) * x for other, x in zip(symbols, v)))
            assert float(got) == pytest.approx(float(exact.evalf(30, subs=subs)),
                                               rel=1e-7, abs=1e-7), (text, s)
    return check


def test_random_formulas_jvp_and_hvp_match_sympy():
    _random_formula_cases()()


def test_a_tangent_line_is_printed_as_every_line_is():
    """The tangent is printed from its tree by the target's printer, which
    writes the parentheses precedence needs and no others."""
    module = compile_source("f(x, y, z) = max(x, y, z) * x", second_order=("jvp", "hvp"))
    assert "    t_dz = (1.0 if z == maxxyz and x != maxxyz and y != maxxyz else 0.0) * t_dmaxxyz\n" \
        in module
