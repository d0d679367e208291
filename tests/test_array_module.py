"""The NumPy module of an array file (docs/language.md §9-10): its
interface, its run-time checks, the lecture's form of its lines, and the
rules of §9 that a random point cannot reach (ties, kinks, zero norm)."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from compiler import GradcError, compile_source
from compiler.cli import main
from conftest import ROOT, build

MLP = """X: [N, D]
W: [D, C]
b: [C]
Y: [N, C]
S = X @ W + b
loss = -sum(Y * log_softmax(S)) / N
"""


# -- ties and kinks, entry by entry --------------------------------------------

def test_max_and_min_send_a_tie_to_the_first_tied_argument_entry_by_entry():
    module = build("Z(a: [D], b: [D], c: [D]) = max(a, b, c) + 10min(a, b)")
    a, b, c = np.array([1.0, 2, 3, 0]), np.array([1.0, 5, 3, 0]), np.array([1.0, 0, 3, 0])
    _, cache = module.forward(a, b, c)
    da, db, dc = module.backward(cache, np.ones(4))
    np.testing.assert_array_equal(da, [11, 10, 11, 11])
    np.testing.assert_array_equal(db, [0, 1, 0, 0])
    np.testing.assert_array_equal(dc, [0, 0, 0, 0])


def test_max_with_a_broadcast_number_ties_to_the_array_written_first():
    module = build("Z(a: [D]) = max(a, 0) + min(0, a)")
    _, cache = module.forward(np.array([-1.0, 0.0, 2.0]))
    (da,) = module.backward(cache, np.ones(3))
    np.testing.assert_array_equal(da, [1, 1, 1])  # max: a is first; min: 0 is first


def test_relu_and_abs_have_gradient_zero_at_zero_in_every_entry():
    module = build("Z(x: [D]) = relu(x) + 3abs(x)")
    _, cache = module.forward(np.array([-2.0, 0.0, 0.0, 5.0]))
    (dx,) = module.backward(cache, np.ones(4))
    np.testing.assert_array_equal(dx, [-3, 0, 0, 4])


@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_norm_has_gradient_zero_at_the_zero_array(shape):
    module = build("f(A: [N, M]) = norm(A)" if len(shape) == 2 else "f(x: [D]) = norm(x)")
    value, (gradient,) = module.grad(np.zeros(shape))
    assert value == 0.0
    np.testing.assert_array_equal(gradient, np.zeros(shape))
    assert not np.isnan(gradient).any()


# -- precedence and names ----------------------------------------------------------

def test_at_is_left_associative_so_x_at_a_at_x_is_a_number():
    module = build("f(x: [D], A: [D, D]) = x @ A @ x")
    x, A = np.array([1.0, -2.0]), np.array([[1.0, 2.0], [3.0, 5.0]])
    value, (dx, dA) = module.grad(x, A)
    assert np.shape(value) == () and value == pytest.approx(x @ A @ x, rel=1e-15)
    np.testing.assert_allclose(dx, (A + A.T) @ x, rtol=1e-15)
    np.testing.assert_allclose(dA, np.outer(x, x), rtol=1e-15)


def test_at_has_the_precedence_of_times():
    module = build("Z(A: [N, M], B: [M, K], C: [N, K]) = C + 2 * A @ B * 3 - A @ B")
    A, B, C = np.ones((2, 3)), np.arange(12.0).reshape(3, 4), np.full((2, 4), 0.5)
    np.testing.assert_allclose(module.Z(A, B, C), C + (2 * A) @ B * 3 - A @ B)


def test_transpose_binds_tighter_than_power_and_minus():
    module = build("Z(A: [N, M]) = -Aᵀ^2")
    A = np.arange(6.0).reshape(2, 3) - 2
    np.testing.assert_array_equal(module.Z(A), -((A.T) ** 2))
    assert module.Z(A).shape == (3, 2)


def test_a_name_never_contains_the_transpose_sign():
    # Aᵀb is Aᵀ times b; were ᵀ a letter it would be one name, an input.
    module = build("Z(A: [N, M], b) = Aᵀb")
    assert module.INPUTS == ("A", "b")
    A = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(module.Z(A, 2.0), A.T * 2)


def test_a_dimension_name_is_a_number_its_size_and_not_an_input():
    module = build("f(x: [D]) = sum(x) / D")
    assert module.INPUTS == ("x",)
    assert module.f(np.array([1.0, 2.0, 6.0])) == pytest.approx(3.0)
    assert module.f(np.arange(5.0)) == pytest.approx(2.0)


def test_a_file_without_shapes_keeps_its_meaning():
    assert "import math" in compile_source("f(x, y) = x * y + σ(x)")


# -- interface -----------------------------------------------------------------------

def test_shapes_lists_each_array_input_with_its_dimensions_as_written():
    module = build("loss(W: [H, D], x: [D], b: [H], s, c: [3 × 1]) = sum(relu(W @ x + b)) * s"
                   " + sum(c)")
    assert module.INPUTS == ("W", "x", "b", "s", "c")
    assert module.SHAPES == {"W": ("H", "D"), "x": ("D",), "b": ("H",), "c": (3, 1)}


def test_declarations_on_lines_of_their_own_are_inputs_in_order():
    module = build(MLP)
    assert module.INPUTS == ("X", "W", "b", "Y")
    assert module.SHAPES == {"X": ("N", "D"), "W": ("D", "C"), "b": ("C",), "Y": ("N", "C")}


def test_gradients_come_back_in_their_inputs_shapes():
    module = build("f(W: [H, D], X: [D, N], b: [H, 1], c: [N], s) = sum(σ(W @ X + b + c) * s)")
    args = [np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 1)), np.ones(4), 0.5]
    _, gradient = module.grad(*args)
    assert [np.shape(g) for g in gradient] == [(2, 3), (3, 4), (2, 1), (4,), ()]


def test_a_layer_takes_its_upstream_gradient_without_default_and_has_no_grad():
    module = build("Z(W: [H, D], x: [D]) = W @ x")
    parameter = inspect.signature(module.backward).parameters["dZ"]
    assert parameter.default is inspect.Parameter.empty
    assert not hasattr(module, "grad")
    W, x = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0, 2.0])
    Z, cache = module.forward(W, x)
    dW, dx = module.backward(cache, np.array([1.0, 10.0]))
    np.testing.assert_array_equal(dW, np.outer([1.0, 10.0], x))
    np.testing.assert_array_equal(dx, W.T @ [1.0, 10.0])


def test_a_number_output_keeps_grad_and_a_default_seed():
    module = build(MLP)
    assert inspect.signature(module.backward).parameters["dloss"].default == 1.0
    assert callable(module.grad)


# -- run-time checks --------------------------------------------------------------------

CHECKED = "f(W: [H, D], x: [D], c: [3]) = sum(W @ x) + sum(c)"


@pytest.mark.parametrize("args, message", [
    ((np.ones((2, 5)), np.ones(4), np.ones(3)),
     "x has shape (4,), but it is declared [D] and W set D = 5"),
    ((np.ones(5), np.ones(5), np.ones(3)), "W has shape (5,), but it is declared [H, D]"),
    ((np.ones((2, 5)), np.ones((5, 1)), np.ones(3)), "x has shape (5, 1), but it is declared [D]"),
    ((np.ones((2, 5)), np.ones(5), np.ones(4)), "c has shape (4,), but it is declared [3]"),
    ((np.ones((2, 5)), 1.0, np.ones(3)), "x has shape (), but it is declared [D]"),
])
def test_a_wrong_shape_is_a_value_error_naming_input_shape_and_declaration(args, message):
    module = build(CHECKED)
    with pytest.raises(ValueError) as caught:
        module.forward(*args)
    assert str(caught.value) == message


def test_the_check_runs_before_any_stage(monkeypatch):
    module = build("f(W: [H, D], x: [D]) = sum(W @ x)")
    ran = []
    monkeypatch.setattr(module.np, "sum", lambda *a, **k: ran.append(a))
    # W @ x would fail too, with NumPy's message; the declared one comes first.
    with pytest.raises(ValueError, match="^x has shape"):
        module.forward(np.ones((2, 5)), np.ones(4))
    assert ran == []


def test_inputs_may_be_lists_and_come_back_as_float_arrays():
    module = build("f(x: [D]) = sum(x^2)")
    value, (dx,) = module.grad([1, 2, 3])
    assert value == 14.0 and dx.dtype == np.float64 and list(dx) == [2.0, 4.0, 6.0]


# -- the module text -------------------------------------------------------------------

def _body(source: str, function: str) -> list[str]:
    block = source.split(f"\ndef {function}(", 1)[1].split("\n\n\ndef ", 1)[0]
    return [line.strip() for line in block.splitlines()[2:] if line.strip()]


def test_every_forward_and_backward_line_carries_its_shapes():
    source = compile_source(MLP)
    shape = r"(a number|\[[\w, ]+\])"
    for function in ("forward", "backward"):
        for line in _body(source, function):
            if re.match(r"\w+ = ", line) and "_bind(" not in line and "sizes" not in line \
                    and not line.endswith("= cache"):
                assert re.search(rf"  # .*{shape}$", line), line
    assert "    S = XW + b  # [N, C]\n" in source


def test_matrix_product_gradients_are_written_as_the_lecture_writes_them():
    source = compile_source("W: [H, N]\nX: [N, K]\nD = W @ X\nf = sum(D)")
    assert "    dW = dD @ X.T  # [H, K] @ [K, N] -> [H, N]\n" in source
    assert "    dX = W.T @ dD  # [N, H] @ [H, K] -> [N, K]\n" in source
    source = compile_source("W: [H, D]\nx: [D]\nz = W @ x\nf = sum(z)")
    assert "    dW = np.outer(dz, x)  # np.outer([H], [D]) -> [H, D]\n" in source


def test_a_broadcast_gradient_is_summed_at_the_stage_that_spread_it():
    source = compile_source(MLP)
    assert "    db = np.sum(dS, axis=0)  # [N, C] -> [C]\n" in source
    column = compile_source("f(W: [H, N], b: [H, 1]) = sum(W + b)")
    assert "db = np.sum(dWpb, axis=1, keepdims=True)  # [H, N] -> [H, 1]" in column


def test_forks_accumulate_without_updating_in_place():
    source = compile_source("f(x: [D], A: [D, D]) = x @ A @ x + sum(x * x)")
    assert "    dx = dx + " in source
    assert "+=" not in source


def test_log_of_softmax_is_log_softmax_and_log_sum_exp_is_logsumexp():
    source = compile_source("f(S: [N, C], Y: [N, C]) = sum(Y * log(softmax(S)))")
    assert "np.log(np.exp(" not in source and "np.exp(" not in _body(source, "forward")[-3]
    assert re.search(r"\n    shiftS = S - np\.max\(S, axis=-1, keepdims=True\)  # \[N, C\]"
                     r"\n    lsmS = shiftS - np\.log1p\(", source)
    source = compile_source("f(A: [N, C]) = log(sum(exp(A)))")
    assert "    f = np.max(A) + np.log1p(np.sum(np.where(A < np.max(A, keepdims=True), " \
           "np.exp(A - np.max(A, keepdims=True)), 0.0)) + (np.sum(A == np.max(A, " \
           "keepdims=True)) - 1))  # a number\n" in source
    assert build("f(A: [N, C]) = log(sum(exp(A)))").f(np.full((2, 2), 1000.0)) \
        == pytest.approx(1000 + np.log(4), rel=1e-15)


def test_the_module_imports_only_numpy():
    source = compile_source(MLP)
    imports = {line for line in source.splitlines() if re.match(r"\s*(import|from) ", line)}
    assert imports == {"import numpy as np", "    import sys", "    import unicodedata"}


def test_the_same_array_file_gives_the_same_bytes_under_any_hash_seed(tmp_path):
    path = tmp_path / "mlp.txt"
    path.write_text(MLP, encoding="utf-8")
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-m", "compiler", "compile", str(path),
                                    "-o", "-"], capture_output=True, env=env, cwd=ROOT,
                                   check=True).stdout)
    assert len(outputs) == 1


# -- targets -----------------------------------------------------------------------------

def test_the_math_target_refuses_an_array_file_at_its_first_array_input(tmp_path, capsys,
                                                                       monkeypatch):
    (tmp_path / "a.txt").write_text("x: [D]\nf(s, x, y: [H]) = sum(x) + sum(y) * s\n",
                                    encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["compile", "a.txt", "--target", "math"]) == 2
    assert capsys.readouterr().err == (
        "a.txt:1:1: error: the math target computes with numbers, but 'x' is declared [D]: "
        "compile it with --target numpy\nx: [D]\n^\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_an_array_file_compiles_to_numpy_by_default_and_with_target_numpy():
    assert compile_source(MLP) == compile_source(MLP, target="numpy")
    with pytest.raises(GradcError) as caught:
        compile_source("f(W: [H, D]) = sum(W)", target="math")
    assert (str(caught.value.span), caught.value.message) == (
        "1:3", "the math target computes with numbers, but 'W' is declared [H, D]: "
               "compile it with --target numpy")


def test_an_array_modules_own_names_give_way_to_the_files():
    source = compile_source("f(np: [D], sizes: [D], cache, _bind: [D]) = "
                            "sum(np * sizes * exp(_bind)) * cache")
    namespace = {}
    exec(compile(source, "names", "exec"), namespace)
    assert "import numpy as np_\n" in source
    value, (dnp, dsizes, dcache, dbind) = namespace["grad"](
        np.ones(3), np.full(3, 2.0), 3.0, np.zeros(3))
    assert value == 18.0 and dcache == 6.0
    assert dnp.tolist() == [6.0] * 3 and dsizes.tolist() == [3.0] * 3
    assert dbind.tolist() == [6.0] * 3


def test_a_signatures_shapes_hold_in_the_stages_above_it():
    source = compile_source("z = W @ x + b\nloss(W: [H, D], x: [D], b: [H]) = sum(relu(z))")
    namespace = {}
    exec(compile(source, "signature", "exec"), namespace)
    W, x, b = np.array([[1.0, -2.0], [3.0, 4.0]]), np.array([1.0, 1.0]), np.array([0.5, -9.0])
    loss, (dW, dx, db) = namespace["grad"](W, x, b)
    assert loss == 0.0  # W @ x + b is [-0.5, -2]: relu clips both entries
    assert dW.tolist() == [[0.0, 0.0], [0.0, 0.0]] and db.tolist() == [0.0, 0.0]
    assert namespace["SHAPES"] == {"W": ("H", "D"), "x": ("D",), "b": ("H",)}


@pytest.mark.parametrize("target", ["numpy", "array-api"])
@pytest.mark.parametrize("classes", ["C", "4"])
def test_a_module_with_labels_runs_as_a_script_at_labels_in_range(tmp_path, target, classes):
    pytest.importorskip("array_api_compat")
    text = f"S: [N, {classes}]\ny: [N] of {classes}\nL = -sum(pick(log_softmax(S), y))\n"
    script = tmp_path / "labels.py"
    script.write_text(compile_source(text, target=target), encoding="utf-8")
    sizes = ["N=3", "C=4"] if classes == "C" else ["N=3"]
    run = subprocess.run([sys.executable, str(script), *sizes], capture_output=True,
                         text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # The script's point: entries drawn in INPUTS order, then the labels.
    generator = np.random.default_rng(0)
    S = generator.standard_normal((3, 4))
    generator.standard_normal(3)
    y = generator.integers(4, size=3)
    S_shifted = S - S.max(axis=1, keepdims=True)
    expected = -np.sum(S_shifted[range(3), y] - np.log(np.exp(S_shifted).sum(axis=1)))
    lines = run.stdout.splitlines()
    assert lines[0].startswith("L = ") and lines[1].startswith("dL/dS = ")
    assert float(lines[0][4:]) == pytest.approx(expected, rel=1e-12)
    assert not any(line.startswith("dL/dy") for line in lines)
