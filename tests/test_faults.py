"""Faults found by using gradc from outside: each test pins one down with
the smallest formula that showed it."""

from __future__ import annotations

import re
import subprocess
import sys

import mpmath
import numpy as np
import pytest

from array_helpers import central_differences
from compiler import GradcError, compile_source
from conftest import EXAMPLES, build


def _error(text: str, **options) -> str:
    with pytest.raises(GradcError) as caught:
        compile_source(text, **options)
    return str(caught.value)


# -- an axis given to a number ------------------------------------------------

@pytest.mark.parametrize("function", ["sum", "mean", "logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("axis", ["0", "1"])
def test_an_axis_of_a_number_is_a_located_error(function, axis):
    assert _error(f"f = {function}(x, {axis})\n") == \
        f"1:5: {function}(x, {axis}): x is a number: {function} takes a vector or a matrix"


def test_an_axis_of_a_number_beside_arrays_is_a_located_error():
    assert _error("x: [D]\nf = sum(x) + mean(s, 1)\n") == \
        "2:14: mean(s, 1): s is a number: mean takes a vector or a matrix"


def test_an_axis_of_a_constant_is_a_located_error():
    assert _error("f = x * sum(2, 0)\n") == \
        "1:9: sum(2, 0): 2 is a number: sum takes a vector or a matrix"


# -- dimension names the module renames -----------------------------------------

RENAMED_DIMENSIONS = [
    "lambda", "if", "None", "match", "type", "_",  # keywords and soft keywords
    "len", "float", "print", "zip", "sorted", "str", "tuple", "isinstance", "max", "abs",
    "forward", "backward", "grad", "INPUTS", "__class__", "__import__", "dtype", "device",
    "dx", "dloss",  # the adjoints of the input x and of the output loss
]


@pytest.mark.parametrize("target", ["numpy", "array-api"])
@pytest.mark.parametrize("dim", RENAMED_DIMENSIONS)
def test_a_renamed_dimension_is_renamed_everywhere(dim, target):
    module = build(f"x: [{dim}]\nloss = sum(x * x) / {dim}\n", target=target)
    assert module.SHAPES == {"x": (dim,)}
    x = np.array([1.0, -2.0, 0.5])
    value, (dx,) = module.grad(x)
    assert value == pytest.approx(np.sum(x * x) / 3, rel=1e-14)
    want, = central_differences(lambda x: np.sum(x * x) / 3, [x], None)
    np.testing.assert_allclose(dx, want, rtol=1e-8)


@pytest.mark.parametrize("command", [["check", "--points", "1"], ["explain"],
                                     ["draw", "-o", "out.dot"]])
def test_a_renamed_dimension_works_in_check_explain_and_draw(command, tmp_path):
    (tmp_path / "f.txt").write_text("X: [N, print]\nf = sum(X * X)\n", encoding="utf-8")
    ran = subprocess.run([sys.executable, "-m", "compiler", command[0], "f.txt", *command[1:]],
                         capture_output=True, text=True, cwd=tmp_path)
    assert (ran.returncode, ran.stderr) == (0, "")
    if command[0] == "draw":
        assert "print" in (tmp_path / "out.dot").read_text(encoding="utf-8")
    else:
        assert "print" in ran.stdout


def test_a_renamed_dimension_sizes_the_script_runner(tmp_path):
    script = tmp_path / "module.py"
    script.write_text(compile_source("x: [len]\nf = sum(x) / len\n"))
    ran = subprocess.run([sys.executable, str(script), "len=3"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "df/dx = [0.33333333 0.33333333 0.33333333]" in ran.stdout


# -- outputs named as the module's own names --------------------------------------

@pytest.mark.parametrize("target", ["numpy", "array-api"])
@pytest.mark.parametrize("text", ["SHAPES(x: [D]) = sum(x * x)\n",
                                  "x: [D]\nSHAPES = sum(x * x)\n"])
def test_an_output_named_SHAPES_leaves_the_modules_SHAPES(text, target):
    module = build(text, target=target)
    assert module.SHAPES == {"x": ("D",)}
    value, (dx,) = module.grad(np.array([1.0, 2.0]))
    assert value == 5.0
    np.testing.assert_array_equal(dx, [2.0, 4.0])
    assert module.SHAPES_(np.array([1.0, 2.0])) == 5.0


def test_a_layer_named_SHAPES_leaves_the_modules_SHAPES():
    module = build("SHAPES(x: [D]) = 2 * x\n")
    assert module.SHAPES == {"x": ("D",)}
    np.testing.assert_array_equal(module.backward(module.forward(np.ones(2))[1],
                                                  np.array([1.0, 3.0]))[0], [2.0, 6.0])


def test_an_input_named_SHAPES_in_a_file_without_arrays_keeps_its_name():
    assert build("f = SHAPES * 2\n").INPUTS == ("SHAPES",)


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_number_output_named_main_runs_as_a_script(tmp_path, target):
    script = tmp_path / "module.py"
    script.write_text(compile_source("x: [D]\n_main = sum(x * x)\n", target=target))
    ran = subprocess.run([sys.executable, str(script), "D=2"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("_main = ")
    assert build("x: [D]\n_main = sum(x * x)\n", target=target)._main(np.ones(2)) == 2.0


# -- names the module's own code uses, when nothing collides ------------------------

@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_inputs_and_outputs_named_dtype_and_device_keep_their_names(target):
    module = build("f(x: [D], dtype) = sum(relu(x)) * dtype\n", target=target)
    assert module.INPUTS == ("x", "dtype")
    value, (dx, ddtype) = module.grad(np.array([1.0, -2.0, 3.0]), 2.0)
    assert value == 8.0 and ddtype == 4.0
    np.testing.assert_array_equal(dx, [2.0, 0.0, 2.0])
    layer = build("x: [D]\ndevice = sum(relu(x) * x)\n", target=target)
    assert layer.device(np.array([1.0, -2.0, 3.0])) == 10.0
    assert "def backward(cache, ddevice=1.0):" in compile_source(
        "x: [D]\ndevice = sum(relu(x) * x)\n", target=target)


def test_the_array_api_modules_own_dtype_moves_around_the_files_names():
    strict = pytest.importorskip("array_api_strict")
    module = build("x: [D]\nf = sum(relu(x) * dtype) + dtype_ * device\n", target="array-api")
    assert module.INPUTS == ("x", "dtype", "dtype_", "device")
    value, gradient = module.grad(strict.asarray([1.0, -2.0]), strict.asarray(3.0),
                                  strict.asarray(5.0), strict.asarray(7.0))
    assert float(value) == 3.0 + 35.0
    assert [float(strict.sum(g)) for g in gradient] == [3.0, 1.0, 7.0, 5.0]


# -- --wrt and axes as the file writes them ----------------------------------------

SUBSCRIPTED = "W₁: [H, D]\nx: [D]\nloss = sum(tanh(W₁ @ x))\n"


@pytest.mark.parametrize("wrt", [["W₁"], ["W1"]])
def test_wrt_folds_subscript_digits_as_the_file_is_folded(wrt):
    module = build(SUBSCRIPTED, wrt=wrt)
    W, x = np.array([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]), np.array([0.3, -0.7])
    value, (dW,) = module.grad(W, x)
    want, _ = central_differences(lambda W, x: np.sum(np.tanh(W @ x)), [W, x], None)
    np.testing.assert_allclose(dW, want, rtol=1e-8)


def test_wrt_names_an_input_by_the_files_name_when_refusing():
    assert _error("f = len * x\n", wrt=["y"]) == \
        "--wrt names 'y', which is not an input: expected one of len, x"
    assert _error(SUBSCRIPTED, wrt=["W₂"]) == \
        "--wrt names 'W₂', which is not an input: expected one of W1, x"


@pytest.mark.parametrize("axis", ["1.0", "01", "0.5+0.5", "1e0", "-1", "(1)"])
def test_an_axis_is_a_whole_number_written_as_one(axis):
    assert _error(f"X: [N, D]\nf = sum(X, {axis})\n") == \
        "2:12: the axis of sum is written as a whole number, 0 or 1, as in sum(X, 1)"


@pytest.mark.parametrize("function", ["mean", "logsumexp", "softmax", "log_softmax"])
def test_every_function_of_an_axis_takes_it_written_whole(function):
    assert _error(f"X: [N, D]\nf = sum({function}(X, 1.0))\n") == \
        f"2:{13 + len(function)}: the axis of {function} is written as a whole number, " \
        f"0 or 1, as in {function}(X, 1)"


def test_an_axis_written_whole_still_chooses_the_axis():
    module = build("X: [N, D]\nf = sum(sum(X * X, 1))\n")
    value, (dX,) = module.grad(np.arange(6.0).reshape(2, 3))
    assert value == 55.0
    np.testing.assert_array_equal(dX, 2 * np.arange(6.0).reshape(2, 3))


# -- what the backward pass computes ------------------------------------------------

def test_stages_that_depend_on_no_input_get_no_adjoint():
    code = compile_source("x: [D]\nf = sum(x) * abs(D - 5)\n")
    assert "dshD" not in code and "dabsshD" not in code
    module = build("x: [D]\nf = sum(x) * abs(D - 5)\n", target="array-api")
    value, (dx,) = module.grad(np.array([1.0, 2.0, 3.0]))
    assert value == 12.0
    np.testing.assert_array_equal(dx, [2.0, 2.0, 2.0])


def test_a_dimensions_constant_gets_no_adjoint():
    code = compile_source((EXAMPLES / "arrays" / "two_layer.txt").read_text(encoding="utf-8"))
    assert "dinvN" not in code
    assert "    dnum = invN * ddata_loss  # a number\n" in code


def test_a_stage_gradc_names_never_shadows_a_builtin():
    code = compile_source((EXAMPLES / "arrays" / "two_layer.txt").read_text(encoding="utf-8"))
    assert "    sum2 = sumW1W1 + sumW2W2  # a number\n" in code
    assert re.search(r"^\s+sum = ", code, flags=re.M) is None


def test_a_sums_gradient_is_multiplied_where_it_broadcasts_not_spread_first():
    code = compile_source((EXAMPLES / "arrays" / "two_layer.txt").read_text(encoding="utf-8"))
    assert "np.full(" not in code
    assert "    dW1 = W1 * dsumW1W1  # [D, H]\n    dW1 = dW1 + W1 * dsumW1W1  # [D, H]\n" in code
    assert "    dY = lsmS * dsumYlsmS  # [N, C]\n    dlsmS = Y * dsumYlsmS  # [N, C]\n" in code
    # A factor that is not of the stage's shape still needs the spread, and
    # a stage the file names keeps its adjoint.
    spread = compile_source("x: [D]\nf = sum(2 * x)\n")
    assert "    dscx = np.full((D,), df)  # a number -> [D]\n" in spread
    named = compile_source("x: [D]\nq = x * x\nf = sum(q)\n")
    assert "    dq = np.full((D,), df)  # a number -> [D]\n" in named
    module = build("x: [D]\nb: [D]\nf = sum(x * x + b)\n")
    value, (dx, db) = module.grad(np.array([1.0, -2.0]), np.array([0.5, 0.25]))
    np.testing.assert_array_equal(dx, [2.0, -4.0])
    np.testing.assert_array_equal(db, [1.0, 1.0])


def test_log_softmax_shifts_by_each_rows_maximum_once():
    code = compile_source((EXAMPLES / "arrays" / "two_layer.txt").read_text(encoding="utf-8"))
    assert "    shiftS = S - np.max(S, axis=-1, keepdims=True)  # [N, C]\n" in code
    # forward, and grad, which runs forward's lines again in its own body.
    forward = code[code.index("def forward("):code.index("\ndef backward(")]
    grad = code[code.index("def grad("):code.index("\ndef loss(")]
    assert forward.count("np.max(") == grad.count("np.max(") == 1
    lines = [line for line in forward.splitlines() if line.startswith("    lsmS = ")]
    assert lines == ["    lsmS = shiftS - np.log1p(np.sum(np.where(shiftS < 0, np.exp(shiftS), "
                     "0.0), axis=-1, keepdims=True) + (np.sum(shiftS == 0, axis=-1, "
                     "keepdims=True) - 1))  # [N, C]"]


def test_a_stage_the_user_names_sum_keeps_its_name():
    module = build("sum = aaaaaaaaaa + bbbbbbbbbb\nf = sum * sum\n")
    assert module.grad(1.0, 2.0) == (9.0, (6.0, 6.0))
    assert "    sum = aaaaaaaaaa + bbbbbbbbbb\n" in compile_source("sum = aaaaaaaaaa + bbbbbbbbbb\n"
                                                                   "f = sum * sum\n")


# -- logsumexp and log_softmax near 0 ------------------------------------------------

def _exact_log_softmax(row) -> list:
    with mpmath.workdps(400):  # the values reach 1e-300 of terms near 1000
        total = mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row)
        return [float(mpmath.mpf(float(v)) - mpmath.log(total)) for v in row]


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_logsumexp_of_a_largest_term_and_a_tiny_one_keeps_the_tiny_part(target):
    module = build("f(x: [D]) = logsumexp(x)\n", target=target)
    assert module.f(np.array([0.0, -40.0])) == pytest.approx(4.248354255291589e-18, rel=1e-12)
    assert module.f(np.array([-40.0, 0.0, -40.0])) == \
        pytest.approx(8.496708510583178e-18, rel=1e-12)
    assert module.f(np.array([3.0, 3.0])) == pytest.approx(3 + np.log(2), rel=1e-15)
    rows = build("f(X: [N, D]) = logsumexp(X, 1)\n", target=target).f(
        np.array([[0.0, -40.0], [5.0, 5.0]]))
    np.testing.assert_allclose(rows, [4.248354255291589e-18, 5 + np.log(2)], rtol=1e-12)


def test_logsumexp_on_strict_arrays():
    strict = pytest.importorskip("array_api_strict")
    module = build("f(x: [D]) = logsumexp(x)\n", target="array-api")
    assert float(module.f(strict.asarray([0.0, -40.0]))) == \
        pytest.approx(4.248354255291589e-18, rel=1e-12)


@pytest.mark.parametrize("gap", [20.0, 30.0, 100.0, 690.0])
def test_the_cross_entropy_of_a_confident_right_prediction_is_relatively_exact(gap):
    module = build("S: [N, C]\nY: [N, C]\nloss = -sum(Y * log(softmax(S))) / N\n")
    S, Y = np.array([[gap, 0.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0, 0.0]])
    assert module.loss(S, Y) == pytest.approx(-_exact_log_softmax(S[0])[0], rel=1e-12)
    log_softmax = build("S: [N, C]\nY: [N, C]\nloss = -sum(Y * log_softmax(S))\n")
    assert log_softmax.loss(S, Y) == pytest.approx(-_exact_log_softmax(S[0])[0], rel=1e-12)


@pytest.mark.parametrize("axis", ["", ", 0", ", 1"])
def test_log_softmax_at_entries_up_to_a_thousand_is_entrywise_exact(axis):
    module = build(f"S: [N, C]\nZ = log_softmax(S{axis})\n")
    S = np.random.default_rng(4).uniform(-1000, 1000, (3, 5))
    got = module.Z(S)
    along = S if axis != ", 0" else S.T
    want = np.array([_exact_log_softmax(row) for row in along])
    want = want if axis != ", 0" else want.T
    # Where the exact value is below 1e-300 of the largest term it may be 0.
    tiny = np.abs(want) < 1e-300 * np.max(np.abs(S))
    np.testing.assert_allclose(got[~tiny], want[~tiny], rtol=1e-12)
    assert np.all(np.abs(got[tiny]) <= 1e-300 * np.max(np.abs(S)))


# -- a stage the file names, when a stable rewrite reads through it ----------------

@pytest.mark.parametrize("style", ["lecture", "compact"])
def test_a_named_sigma_stage_stays_when_the_log_reads_through_it(style):
    code = compile_source((EXAMPLES / "logistic_loss.txt").read_text(encoding="utf-8"),
                          style=style)
    assert re.search(r"^    h2 = ", code, flags=re.M)
    module = build((EXAMPLES / "logistic_loss.txt").read_text(encoding="utf-8"), style=style)
    value, (dw, dx) = module.grad(-20.0, 2.0)  # h1 = -40: e = softplus(40)
    assert value == pytest.approx(40 + np.log1p(np.exp(-40)), rel=1e-15)
    assert dw == pytest.approx(-2 / (1 + np.exp(-40)), rel=1e-15)
    value, (dw, dx) = module.grad(20.0, 2.0)  # h1 = 40: e = softplus(-40)
    assert value == pytest.approx(4.248354255291589e-18, rel=1e-12)


@pytest.mark.parametrize("text, stage", [
    ("S: [N, C]\np = softmax(S)\nloss = -sum(log(p))\n", "p"),
    ("h = exp(x)\ng = log(h)\n", "h"),
    ("a = -x\nb = -a\n", "a"),
])
def test_a_named_stage_a_rewrite_reads_through_stays_in_the_forward_pass(text, stage):
    assert re.search(rf"^    {stage} = ", compile_source(text), flags=re.M)


# -- run-time checks ------------------------------------------------------------------

LOGISTIC = (EXAMPLES / "arrays" / "logistic_regression.txt").read_text(encoding="utf-8")
X, W, Y = np.ones((5, 4)), np.ones(4), np.ones(5)


def _raised(call, *args):
    with pytest.raises((ValueError, TypeError)) as caught:
        call(*args)
    return f"{caught.type.__name__}: {caught.value}"


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_layers_upstream_gradient_of_another_shape_is_refused(target):
    module = build((EXAMPLES / "arrays" / "dense.txt").read_text(encoding="utf-8"),
                   target=target)
    _, cache = module.forward(np.ones(4), np.ones((3, 4)), np.ones(3))
    for upstream, shape in ((np.ones((3, 1)), "(3, 1)"), (1.0, "()"), (np.ones(2), "(2,)")):
        assert _raised(module.backward, cache, upstream) == \
            f"ValueError: dg has shape {shape}, but g, the output, has shape (3,)"
    assert [g.shape for g in module.backward(cache, np.ones(3))] == [(4,), (3, 4), (3,)]
    renamed = build("len(x: [D]) = 2 * x\n", target=target)
    _, cache = renamed.forward(np.ones(2))
    assert _raised(renamed.backward, cache, np.ones(3)) == \
        "ValueError: dlen_ has shape (3,), but len, the output, has shape (2,)"


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_an_array_for_a_number_input_is_refused(target):
    module = build(LOGISTIC, target=target)
    assert _raised(module.grad, X, W, Y, np.zeros((5, 1))) == \
        "ValueError: b has shape (5, 1), but it is a number"
    assert _raised(module.grad, X, W, Y, np.zeros(5)) == \
        "ValueError: b has shape (5,), but it is a number"
    value, gradient = module.grad(X, W, Y, np.float64(0.5))
    assert np.ndim(gradient[3]) == 0


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_dimension_of_size_0_is_refused_naming_the_input(target):
    module = build(LOGISTIC, target=target)
    assert _raised(module.grad, X[:0], W, Y[:0], 0.0) == \
        "ValueError: X has shape (0, 4), but it is declared [N, D], and N is a size of at least 1"


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_text_or_complex_numbers_are_refused_naming_the_input(target):
    module = build(LOGISTIC, target=target)
    complex_x = "complex numbers, but it is declared [N, D], an array of real numbers" \
        if target == "numpy" else "complex numbers, but it is made of real numbers"
    assert _raised(module.grad, X.astype(complex), W, Y, 0.0) == f"TypeError: X holds {complex_x}"
    text_b = "text, but it is a number" if target == "numpy" \
        else "text, but it is made of real numbers"
    assert _raised(module.grad, X, W, Y, "abc") == f"TypeError: b holds {text_b}"
    complex_b = "complex numbers, but it is a number" if target == "numpy" \
        else "complex numbers, but it is made of real numbers"
    assert _raised(module.grad, X, W, Y, 1j) == f"TypeError: b holds {complex_b}"


def test_text_for_an_array_input_is_refused_naming_it():
    module = build(LOGISTIC)
    assert _raised(module.grad, np.full((5, 4), "a"), W, Y, 0.0) == \
        "TypeError: X holds text, but it is declared [N, D], an array of real numbers"


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_renamed_inputs_check_names_it_as_the_file_does(target):
    module = build("len: [D, D]\nf = sum(len)\n", target=target)
    assert module.INPUTS == ("len_",)
    assert _raised(module.grad, np.ones((2, 2, 1))) == \
        "ValueError: len has shape (2, 2, 1), but it is declared [D, D]"
    assert build("f(x: [D], lambda) = sum(x) * lambda\n", target=target).INPUTS == \
        ("x", "lambda_")
    assert _raised(build("f(x: [D], lambda) = sum(x) * lambda\n", target=target).grad,
                   np.ones(2), np.ones(2)) == "ValueError: lambda has shape (2,), but it is a number"


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_renamed_inputs_type_and_labels_are_named_as_the_file_does(target):
    module = build("f(x: [D], lambda, None: [D] of D) = sum(x + onehot(None)) * lambda\n",
                   target=target, second_order=("jvp", "hvp"))
    assert module.INPUTS == ("x", "lambda_", "None_")
    text = "text, but it is a number" if target == "numpy" \
        else "text, but it is made of real numbers"
    labels = np.array([0, 1])
    for call in (module.grad, module.jvp):
        assert _raised(call, np.ones(2), "a", labels) == f"TypeError: lambda holds {text}"
    outside = "it has 2" if target == "numpy" else "some are outside"
    assert _raised(module.grad, np.ones(2), 1.0, np.array([0, 2])) == \
        f"ValueError: None holds class labels in 0 ... 1, but {outside}"


# -- the array API's functions take arrays -------------------------------------------

@pytest.mark.parametrize("text, value, gradient", [
    ("x: [D]\nf = sum(x) / sqrt(D)\n", 6 / np.sqrt(3), 1 / np.sqrt(3)),
    ("x: [D]\nf = sum(x) * abs(D - 5)\n", 12.0, 2.0),
    ("x: [D]\nc = 0.5\nf = sum(x) * max(c, 0.25)\n", 3.0, 0.5),
    ("c = 0.5\nf = x * max(c, 0.25)\n", None, 0.5),
])
def test_the_array_api_module_computes_sizes_and_constants_as_arrays(text, value, gradient):
    strict = pytest.importorskip("array_api_strict")
    module = build(text, target="array-api")
    for x in (np.array([1.0, 2.0, 3.0]), strict.asarray([1.0, 2.0, 3.0])):
        got, (dx,) = module.grad(x)
        if value is not None:
            assert float(got) == pytest.approx(value, rel=1e-15)
        np.testing.assert_allclose(np.asarray(dx), [gradient] * 3, rtol=1e-15)


def test_a_negated_adjoint_is_subtracted_where_gradients_add():
    code = compile_source("x: [D]\nf = sum(x * exp(-x))\n")
    assert "    dx = dx - dnegx  # [D]\n" in code and "+ -" not in code
    module = build("x: [D]\nf = sum(exp(x) - x)\n")
    value, (dx,) = module.grad(np.array([0.0, 1.0]))
    want, = central_differences(lambda x: np.sum(np.exp(x) - x), [np.array([0.0, 1.0])], None)
    np.testing.assert_allclose(dx, want, rtol=1e-8)
