"""grad of a file that declares shapes writes into arrays the call made
itself and no later line reads (compiler/emit/in_place.py): the same
numbers as forward and backward, and never a caller's array."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import build
from compiler.driver import staged_ir
from compiler.emit.context import context
from compiler.passes.adjoint import adjoint

ARRAYS = Path(__file__).resolve().parent.parent / "examples" / "arrays"
SIZES = {"N": 6, "D": 5, "H": 4, "C": 3, "M": 4}


def _grad_lines(text: str, **options) -> tuple[str, ...]:
    return context(adjoint(staged_ir(text, **options)), "lecture", "numpy").owned_grad_lines


def _inputs(module, rng):
    """Random inputs of the declared shapes; a vector called y holds 0s and
    1s, which serve as labels and as targets alike."""
    inputs = []
    for name in module.INPUTS:
        shape = tuple(SIZES.get(dim, dim) for dim in module.SHAPES.get(name, ()))
        if name == "y":
            inputs.append(rng.integers(0, 2, shape))
        else:
            inputs.append(rng.standard_normal(shape) if shape else 0.1)
    return inputs


NUMBER_OUTPUTS = [path.stem for path in sorted(ARRAYS.glob("*.txt"))
                  if "grad" in dir(build(path.read_text(encoding="utf-8"), target="numpy"))]


def test_the_examples_with_a_number_output_are_here():
    assert {"two_layer", "two_layer_labels", "softmax_loss", "svm_loss"} <= set(NUMBER_OUTPUTS)


@pytest.mark.parametrize("stem", NUMBER_OUTPUTS)
def test_grad_gives_forward_and_backward_s_bits_and_leaves_the_inputs_alone(stem):
    module = build((ARRAYS / f"{stem}.txt").read_text(encoding="utf-8"), target="numpy")
    inputs = _inputs(module, np.random.default_rng(3))
    kept = [np.copy(each) for each in inputs]
    value, gradient = module.grad(*inputs)
    for given, copy in zip(inputs, kept):
        np.testing.assert_array_equal(given, copy)
    whole, cache = module.forward(*inputs)
    assert value == whole
    for got, expected in zip(gradient, module.backward(cache)):
        np.testing.assert_array_equal(got, expected)
        assert not any(np.shares_memory(got, each) for each in inputs
                       if isinstance(each, np.ndarray))


def test_the_two_layer_step_writes_bias_relu_and_its_mask_in_place():
    lines = _grad_lines((ARRAYS / "two_layer.txt").read_text(encoding="utf-8"),
                        wrt=("W1", "b1", "W2", "b2"))
    for written in ["XW1pb1 = np.add(XW1, b1, out=XW1)  # [N, H]",
                    "h = np.maximum(XW1pb1, 0.0, out=XW1pb1)  # [N, H]",
                    "S = np.add(hW2, b2, out=hW2)  # [N, C]",
                    "dXW1pb1 = np.multiply(h > 0, dh, out=dh)  # [N, H]",
                    "dW1 = np.add(dW1, X.T @ dXW1, out=dW1)  # [D, N] @ [N, H] -> [D, H]"]:
        assert written in lines, lines
    # lsmS is read again by backward (np.exp(lsmS)): Y * lsmS is a new array.
    assert "YlsmS = Y * lsmS  # [N, C]" in lines


SHARED = """X: [N, D]
W: [D, H]
b: [H]
A = X @ W
B = A + b
C = relu(B)
loss = sum(A * C)
"""


def test_an_array_a_later_line_reads_is_not_written():
    lines = _grad_lines(SHARED)
    assert "B = A + b  # [N, H]" in lines                 # A is read by A * C
    assert "C = np.maximum(B, 0.0, out=B)  # [N, H]" in lines
    module = build(SHARED, target="numpy")
    rng = np.random.default_rng(4)
    X, W, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    A = X @ W
    value, (dX, dW, db) = module.grad(X, W, b)
    assert value == pytest.approx(np.sum(A * np.maximum(A + b, 0.0)), rel=1e-12)


VIEWED = """\
A: [N, N]
H = A * 2
T = Hᵀ
K = H + 1
f = sum(T * K)
"""


def test_an_array_a_later_line_reads_through_a_view_is_not_written():
    """T = H.T is H's memory: K may not go into H while T is still read."""
    lines = _grad_lines(VIEWED)
    assert "K = H + 1  # [N, N]" in lines
    module = build(VIEWED, target="numpy")
    A = np.arange(4.0).reshape(2, 2)
    value, (dA,) = module.grad(A)
    assert value == np.sum((2 * A).T * (2 * A + 1)) == 64.0
    np.testing.assert_array_equal(dA, 2 * ((2 * A + 1).T + (2 * A).T))


ACCUMULATED = """\
S: [N, C]
T = log_softmax(S) * 2
loss = sum(sin(log_softmax(T)) + exp(T))
"""


def test_a_contribution_that_is_a_difference_is_added_as_backward_adds_it():
    """backward writes `dT = dT + dlsmT - ...`, which Python adds left to
    right; grad adds in the same order, not `dlsmT - ...` first."""
    lines = _grad_lines(ACCUMULATED)
    assert ("dT = dT + dlsmT - np.exp(lsmT) * np.sum(dlsmT, axis=-1, keepdims=True)  # [N, C]"
            in lines)
    module = build(ACCUMULATED, target="numpy")
    S = np.random.default_rng(5).standard_normal((40, 30))
    value, (dS,) = module.grad(S)
    whole, cache = module.forward(S)
    assert value == whole
    np.testing.assert_array_equal(dS, module.backward(cache)[0])


def test_an_input_is_never_written_even_when_no_line_reads_it_again():
    """b's line reads X once, and X is the caller's array."""
    text = "X: [N, D]\nY = X * 2\nloss = sum(Y)\n"
    lines = _grad_lines(text)
    assert "Y = X * 2  # [N, D]" in lines
    X = np.ones((3, 2))
    build(text, target="numpy").grad(X)
    assert X.tolist() == [[1.0, 1.0]] * 3


def test_a_layer_keeps_forward_and_backward_alone():
    text = (ARRAYS / "relu_layer.txt").read_text(encoding="utf-8")
    assert _grad_lines(text) == ()
