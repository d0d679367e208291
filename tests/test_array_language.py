"""LANGUAGE.md §8's notation as students write it: axes by keyword and by
name, max and min as reductions, textbook transposes, and alignment by
name.  Values are compared with NumPy written here by hand, gradients with
hand-derived formulas and central differences."""

from __future__ import annotations

import numpy as np
import pytest

from compiler import GradcError, compile_source
from compiler.gates import GATES
from conftest import build

RNG = np.random.default_rng(21)


def numeric_gradient(function, value, step=1e-6):
    """d function / d value, entry by entry, by central differences."""
    gradient = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[index] += step
        down[index] -= step
        gradient[index] = (function(up) - function(down)) / (2 * step)
    return gradient


def error_of(text: str) -> str:
    with pytest.raises(GradcError) as caught:
        compile_source(text)
    return f"{caught.value.span}: {caught.value.message}"


# -- axes as keywords and by name ---------------------------------------------

@pytest.mark.parametrize("axis", ["1", "D"])
def test_an_axis_by_keyword_or_by_name_is_that_axis(axis):
    module = build(f"X: [N, D]\nf = sum(sum(X, axis={axis})^2)")
    X = RNG.standard_normal((4, 3))
    value, (dX,) = module.grad(X)
    assert value == pytest.approx(np.sum(np.sum(X, axis=1) ** 2), rel=1e-14)
    assert dX == pytest.approx(2 * np.sum(X, axis=1)[:, None] * np.ones((4, 3)), rel=1e-14)


@pytest.mark.parametrize("function, numpy", [
    ("mean", lambda X: np.mean(X, axis=0)),
    ("logsumexp", lambda X: np.log(np.sum(np.exp(X), axis=0))),
    ("softmax", lambda X: np.exp(X) / np.sum(np.exp(X), axis=0)),
    ("log_softmax", lambda X: X - np.log(np.sum(np.exp(X), axis=0))),
    ("max", lambda X: np.max(X, axis=0)),
    ("min", lambda X: np.min(X, axis=0)),
])
def test_every_function_that_takes_an_axis_takes_it_by_keyword(function, numpy):
    module = build(f"X: [N, D]\nZ = {function}(X, axis=N)")
    X = RNG.standard_normal((4, 3))
    assert module.Z(X) == pytest.approx(numpy(X), rel=1e-13)


@pytest.mark.parametrize("text, expected", [
    ("X: [D, D]\nf = sum(X, axis=D)",
     "2:12: sum(X, axis=D): X is [D, D]: D names 2 axes, so axis=D could be either: "
     "write axis=0 or axis=1"),
    ("X: [N, D]\nf = sum(X, axis=2)",
     "2:12: sum(X, axis=2): X is [N, D], which has no axis 2: the axes are 0, 1"),
    ("x: [D]\nf = sum(x, axis=1)",
     "2:5: sum(x, axis=1): x is [D], which has no axis 1: the axes are 0"),
    ("X: [N, D]\nK = 3\nf = sum(X, axis=K)",
     "3:17: an axis is 0 or 1, or a dimension name of the array's shape, as in "
     "sum(X, axis=1) or sum(X, axis=D)"),
    ("X: [N, D]\nf = sum(exp(X, axis=1))",
     "2:16: 'exp' takes no axis"),
    ("X: [N, D]\nf = sum(X, axes=1)",
     "2:12: unknown keyword 'axes': the one keyword is axis, as in sum(A, axis=1)"),
])
def test_a_wrong_axis_is_refused_at_the_axis(text, expected):
    assert error_of(text) == expected


_AXIS_FUNCTIONS = sorted(gate.spellings[0] for gate in GATES.values()
                         if gate.optional and gate.axis_rows)


def test_the_functions_with_an_optional_axis_are_found():
    assert {"sum", "mean", "logsumexp", "softmax", "log_softmax"} <= set(_AXIS_FUNCTIONS)


@pytest.mark.parametrize("function", _AXIS_FUNCTIONS)
def test_too_many_arguments_to_a_function_with_an_axis_says_what_it_takes(function):
    assert error_of(f"A: [N, M]\nf = {function}(A, 1, 2)") == \
        f"2:5: '{function}' takes an array and an optional axis, got 3 arguments"


# -- max and min over entries and axes ------------------------------------------

def test_max_of_one_array_is_its_largest_entry_and_a_tie_shares_the_gradient():
    module = build("S: [N, C]\nm = max(S)")
    S = np.array([[0.0, 5.0], [5.0, -1.0]])
    value, (dS,) = module.grad(S)
    assert value == 5.0
    assert dS.tolist() == [[0.0, 0.5], [0.5, 0.0]]


def test_max_along_an_axis_splits_each_rows_gradient_among_its_ties():
    module = build("S: [N, C]\nm = max(S, axis=1)")
    S = np.array([[0.0, 5.0, 5.0], [2.0, -1.0, 1.0]])
    m, cache = module.forward(S)
    assert m.tolist() == [5.0, 2.0]
    (dS,) = module.backward(cache, np.array([3.0, 7.0]))
    assert dS.tolist() == [[0.0, 1.5, 1.5], [7.0, 0.0, 0.0]]


def test_min_along_axis_0_matches_its_differences():
    module = build("S: [N, C]\nw: [C]\nm = sum(min(S, axis=0) * w)")
    S, w = RNG.standard_normal((5, 3)), RNG.standard_normal(3)
    value, (dS, dw) = module.grad(S, w)
    assert value == pytest.approx(np.min(S, axis=0) @ w, rel=1e-14)
    assert dS == pytest.approx(numeric_gradient(lambda s: module.m(s, w), S), abs=1e-8)


def test_max_with_zero_stays_the_lectures_relu_and_a_number_first_is_elementwise():
    relu = build("x: [D]\nz = max(x, 0)")
    clamp = build("x: [D]\nz = max(1, x)")
    x = np.array([-2.0, 0.5, 3.0])
    assert relu.z(x).tolist() == [0.0, 0.5, 3.0]
    assert clamp.z(x).tolist() == [1.0, 1.0, 3.0]
    assert build("x: [D]\nz = max(x, 1.0)").z(x).tolist() == [1.0, 1.0, 3.0]


def test_three_or_more_operands_are_elementwise_though_the_second_is_a_whole_number():
    """Only max(A, k) reads two ways; with more operands there is no axis to read."""
    both = build("A: [N, D]\nB: [N, D]\nf = sum(max(A, 1, B))")
    clamp = build("A: [N, D]\nf = sum(min(A, 1, 2))")
    A, B = RNG.standard_normal((3, 2)) * 2, RNG.standard_normal((3, 2)) * 2
    value, (dA, dB) = both.grad(A, B)
    assert value == np.sum(np.maximum(np.maximum(A, 1.0), B))
    assert dA == pytest.approx(numeric_gradient(lambda a: both.f(a, B), A), abs=1e-8)
    assert dB == pytest.approx(numeric_gradient(lambda b: both.f(A, b), B), abs=1e-8)
    assert clamp.grad(A)[0] == np.sum(np.minimum(A, 1.0))
    assert clamp.grad(A)[1][0].tolist() == (A < 1.0).astype(float).tolist()


@pytest.mark.parametrize("text, expected", [
    ("S: [N, C]\nm = sum(max(S, 1))",
     "2:9: max(S, 1): 1 after an array could be an axis or a number: write max(S, axis=1) "
     "for the max along axis 1, or max(S, 1.0) for the elementwise max of S and 1"),
    ("S: [N, C]\nm = sum(min(S, -1))",
     "2:9: min(S, -1): -1 after an array could be an axis or a number: write "
     "min(S, axis=-1) for the min along axis -1, or min(S, -1.0) for the elementwise "
     "min of S and -1"),
])
def test_max_of_an_array_and_a_whole_number_offers_both_readings(text, expected):
    assert error_of(text) == expected


def test_max_of_numbers_keeps_its_meaning():
    module = build("f = max(x, 1)")
    assert module.grad(0.5) == (1.0, (0.0,))


# -- transposes as textbooks write them -------------------------------------------

@pytest.mark.parametrize("written", ["W^T @ x", "W^⊤ @ x", "Wᵀ @ x", "Wᵀx", "transpose(W) @ x"])
def test_every_spelling_of_the_transpose_is_the_transpose(written):
    module = build(f"W: [N, D]\nx: [N]\nz = {written}")
    assert module.INPUTS == ("W", "x")
    W, x = RNG.standard_normal((4, 3)), RNG.standard_normal(4)
    assert module.z(W, x) == pytest.approx(W.T @ x, rel=1e-14)


@pytest.mark.parametrize("written", ["uᵀv", "uᵀ @ v", "uᵀ·v", "u^T @ v", "u @ v"])
def test_a_vectors_transpose_on_the_left_is_the_dot_product(written):
    module = build(f"u: [D]\nv: [D]\nf = {written}")
    u, v = RNG.standard_normal(5), RNG.standard_normal(5)
    value, (du, dv) = module.grad(u, v)
    assert value == pytest.approx(u @ v, rel=1e-14)
    assert du.tolist() == v.tolist() and dv.tolist() == u.tolist()


def test_the_quadratic_form_and_the_row_vector_product():
    quadratic = build("x: [D]\nW: [D, D]\nf = xᵀWx")
    row = build("x: [D]\nW: [D, K]\nz = xᵀW")
    x, W, V = RNG.standard_normal(3), RNG.standard_normal((3, 3)), RNG.standard_normal((3, 2))
    value, (dx, dW) = quadratic.grad(x, W)
    assert value == pytest.approx(x @ W @ x, rel=1e-14)
    assert dx == pytest.approx((W + W.T) @ x, rel=1e-13)
    assert dW == pytest.approx(np.outer(x, x), rel=1e-14)
    assert row.z(x, V) == pytest.approx(x @ V, rel=1e-14)


def test_a_power_of_t_keeps_its_meaning_in_a_file_of_numbers():
    module = build("f = x^T")
    assert module.INPUTS == ("x", "T")
    assert module.f(2.0, 3.0) == 8.0


@pytest.mark.parametrize("text, expected", [
    ("W: [N, D]\nT = 2\nf = sum(W^T)",
     "3:10: W^T: this file also uses T as a name, so W^T could be a power: write Wᵀ or "
     "transpose(W) for the transpose, or W^(T) for the power"),
    ("u: [D]\nv: [D]\nf = sum(uᵀ * v)",
     "3:12: (uᵀ) * v: u is [D], a vector, whose transpose is only the left factor of a "
     "matrix product (uᵀv, uᵀ @ v and uᵀ·v are u @ v), and this product is elementwise"),
    ("u: [D]\nf = sum(uᵀ)",
     "2:10: uᵀ: u is [D], a vector, which is neither a row nor a column: only a matrix has "
     "a transpose; write x @ W, W @ x or outer(u, v)"),
    ("W: [N, D]\nx: [D]\nf = sum((W)(x))",
     "3:12: two arrays multiplied without an operator: write '@' for the matrix product "
     "or '*' for the elementwise one"),
])
def test_transposes_that_mean_nothing_are_refused(text, expected):
    assert error_of(text) == expected


# -- alignment by name --------------------------------------------------------

def test_centering_rows_aligns_the_mean_by_name_and_sums_its_gradient_back():
    text = "X: [N, D]\nY = X - mean(X, axis=1)"
    source = compile_source(text)
    assert "meanXcol = meanX[:, None]  # [N, 1]" in source
    module = build(text)
    X, G = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    Y, cache = module.forward(X)
    assert Y == pytest.approx(X - X.mean(axis=1, keepdims=True), rel=1e-14)
    (dX,) = module.backward(cache, G)
    assert dX == pytest.approx(G - G.sum(axis=1, keepdims=True) / 3, rel=1e-13)


def test_a_hand_written_log_softmax_aligns_by_name():
    module = build("S: [N, C]\nL = S - logsumexp(S, axis=C)")
    S = RNG.standard_normal((4, 3))
    expected = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    assert module.L(S) == pytest.approx(expected, rel=1e-13)


def test_numpys_rule_stands_where_it_succeeds():
    # [N, N] and [N]: NumPy lines the vector up with the last axis.
    module = build("X: [N, N]\nm: [N]\nY = X - m")
    X, m = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
    assert module.Y(X, m) == pytest.approx(X - m, rel=1e-15)


def test_a_repeated_name_is_not_aligned():
    assert error_of("X: [N, D]\nm: [K]\nY = X - m") == (
        "3:7: X - m: X is [N, D] and m is [K]; shapes broadcast only where their dimensions "
        "agree from the last axis (D and K differ)")


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_the_tie_rule_holds_on_every_target_that_takes_arrays(target):
    module = build("S: [N, C]\nm = sum(max(S, axis=1)) + min(S)", target=target)
    S = np.array([[0.0, 5.0, 5.0], [-1.0, 2.0, -1.0]])
    value, (dS,) = module.grad(S)
    assert float(value) == 6.0
    assert np.asarray(dS).tolist() == [[0.0, 0.5, 0.5], [0.5, 1.0, 0.5]]
