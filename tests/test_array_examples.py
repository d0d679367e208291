"""The array examples against the lectures' own NumPy listings.

Each example's module is compared, value and every gradient entry, with
the backward pass the lecture writes by hand, at random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import softmax_rows, two_layer_by_hand
from conftest import GENERATED
from compiler.loader import module_from_source

RTOL = 1e-12


def _module(stem: str):
    path = GENERATED / "arrays" / f"{stem}.py"
    return module_from_source(path.read_text(encoding="utf-8"), stem, str(path))


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-14)


def test_matrix_product_is_the_notes_dimension_analysis():
    rng = np.random.default_rng(1)
    W, X, dD = rng.standard_normal((5, 10)), rng.standard_normal((10, 3)), rng.standard_normal((5, 3))
    module = _module("matrix_product")
    D, cache = module.forward(W, X)
    dW, dX = module.backward(cache, dD)
    _close(D, W.dot(X))
    _close(dW, dD.dot(X.T))
    _close(dX, W.T.dot(dD))


def test_relu_layer_passes_the_gradient_where_the_input_is_positive():
    x = np.array([-2.0, 0.0, 3.0, 0.5])
    dz = np.array([1.0, 2.0, 3.0, 4.0])
    module = _module("relu_layer")
    z, cache = module.forward(x)
    (dx,) = module.backward(cache, dz)
    assert z.tolist() == [0.0, 0.0, 3.0, 0.5]
    assert dx.tolist() == [0.0, 0.0, 3.0, 4.0]


def test_linear_layer_is_xW_with_an_outer_product_for_W():
    rng = np.random.default_rng(2)
    x, W, dz = rng.standard_normal(4), rng.standard_normal((4, 6)), rng.standard_normal(6)
    module = _module("linear_layer")
    z, cache = module.forward(x, W)
    dx, dW = module.backward(cache, dz)
    _close(z, x @ W)
    _close(dx, dz @ W.T)
    _close(dW, np.outer(x, dz))


def test_dense_module_backward_and_update():
    rng = np.random.default_rng(3)
    x, W, b, dg = (rng.standard_normal(5), rng.standard_normal((3, 5)),
                   rng.standard_normal(3), rng.standard_normal(3))
    module = _module("dense")
    g, cache = module.forward(x, W, b)
    dx, dW, db = module.backward(cache, dg)
    _close(g, W @ x + b)
    _close(dx, W.T @ dg)
    _close(dW, np.outer(dg, x))
    _close(db, dg)


def test_dense_bce_gradient_is_prediction_minus_target():
    rng = np.random.default_rng(4)
    x, W, b = rng.standard_normal(5), rng.standard_normal((3, 5)), rng.standard_normal(3)
    y = np.array([1.0, 0.0, 1.0])
    module = _module("dense_bce")
    l, (dx, dW, db, dy) = module.grad(x, W, b, y)
    z = W @ x + b
    p = 1 / (1 + np.exp(-z))
    _close(l, np.sum(-y * np.log(p) - (1 - y) * np.log(1 - p)))
    _close(db, p - y)
    _close(dW, np.outer(p - y, x))
    _close(dx, W.T @ (p - y))
    _close(dy, -z)


def _softmax_batch(seed, N=6, D=4, C=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    Y = np.eye(C)[rng.integers(0, C, N)]
    return rng, X, Y


def test_softmax_regression_gradient_is_probs_minus_onehot():
    rng, X, Y = _softmax_batch(5)
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    loss, (dX, dW, db, dY) = _module("softmax_regression").grad(X, W, b, Y)
    probs = softmax_rows(X @ W + b)
    dS = (probs - Y) / len(X)
    _close(loss, -np.sum(Y * np.log(probs)) / len(X))
    _close(dW, X.T @ dS)
    _close(db, dS.sum(axis=0))
    _close(dX, dS @ W.T)


@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_two_layer_network_matches_the_hand_written_backward_pass(reg):
    rng, X, Y = _softmax_batch(6)
    W1, b1 = rng.standard_normal((4, 5)), rng.standard_normal(5)
    W2, b2 = rng.standard_normal((5, 3)), rng.standard_normal(3)
    loss, grads = _module("two_layer").grad(X, W1, b1, W2, b2, Y, reg)
    expected, hand, _ = two_layer_by_hand(X, Y, W1, b1, W2, b2, reg)
    _close(loss, expected)
    for actual, wanted in zip(grads[1:5], hand):
        _close(actual, wanted)
