"""Every array operator and function of the language (docs/language.md §9):
the module's value against the same formula written directly in NumPy, and
every entry of every gradient against central differences of that NumPy
formula, which gradc never saw.  A layer (an array output) is checked
through its vector-Jacobian product with a random upstream gradient."""

from __future__ import annotations

import numpy as np
import pytest

from array_helpers import check, positive, unit

T = np.transpose
softplus = lambda x: np.logaddexp(0.0, x)  # noqa: E731
sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731


def _lse(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def _lsm(a, axis=-1):
    return a - np.max(a, axis=axis, keepdims=True) - np.log(
        np.sum(np.exp(a - np.max(a, axis=axis, keepdims=True)), axis=axis, keepdims=True))


MATMUL = {
    "matrix-vector": ("f(W: [H, D], x: [D]) = sum(σ(W @ x))", lambda W, x: sigmoid(W @ x).sum()),
    "vector-matrix": ("f(x: [D], W: [D, C]) = sum(tanh(x @ W))", lambda x, W: np.tanh(x @ W).sum()),
    "matrix-matrix": ("f(A: [N, K], B: [K, M]) = sum(sin(A @ B))", lambda A, B: np.sin(A @ B).sum()),
    "vector-vector": ("f(u: [D], v: [D]) = u @ v", lambda u, v: u @ v),
    "cdot-matrices": ("f(A: [N, K], B: [K, M]) = sum(exp(A · B))", lambda A, B: np.exp(A @ B).sum()),
    "quadratic-form": ("f(x: [D], A: [D, D]) = x @ A @ x", lambda x, A: x @ A @ x),
    "layer-matrix-vector": ("Z(W: [H, D], x: [D]) = W @ x", lambda W, x: W @ x),
    "layer-matrix-matrix": ("Z(W: [H, N], X: [N, D]) = W @ X", lambda W, X: W @ X),
}

TRANSPOSE = {
    "postfix": ("f(A: [N, M], B: [N, K]) = sum(cos(Aᵀ @ B))", lambda A, B: np.cos(A.T @ B).sum()),
    "call": ("f(A: [N, M], B: [N, K]) = sum(cos(transpose(A) @ B))",
             lambda A, B: np.cos(A.T @ B).sum()),
    "twice": ("f(A: [N, M]) = sum(exp(Aᵀᵀ) * A)", lambda A: (np.exp(A) * A).sum()),
    "layer": ("Z(A: [N, M]) = Aᵀ", lambda A: A.T),
    "outer": ("f(u: [N], v: [M], C: [N, M]) = sum(outer(u, v) * C)",
              lambda u, v, C: (np.outer(u, v) * C).sum()),
    "outer-layer": ("Z(u: [N], v: [M]) = outer(u, v)", lambda u, v: np.outer(u, v)),
}

REDUCTIONS = {
    "sum": ("f(A: [N, M]) = sum(A^2)", lambda A: (A ** 2).sum()),
    "sum0": ("f(A: [N, M], w: [M]) = sum(sum(A, 0) * w)", lambda A, w: (A.sum(0) * w).sum()),
    "sum1": ("f(A: [N, M], w: [N]) = sum(sum(A, 1) * w)", lambda A, w: (A.sum(1) * w).sum()),
    "sum-vector0": ("f(x: [D]) = sum(x, 0)^2", lambda x: x.sum() ** 2),
    "mean": ("f(A: [N, M]) = mean(A^3)", lambda A: (A ** 3).mean()),
    "mean0": ("f(A: [N, M], w: [M]) = sum(mean(A, 0) * w)", lambda A, w: (A.mean(0) * w).sum()),
    "mean1": ("Z(A: [N, M]) = mean(A, 1)", lambda A: A.mean(1)),
    "norm-vector": ("f(x: [D]) = norm(x)", lambda x: np.sqrt((x ** 2).sum())),
    "norm-matrix": ("f(A: [N, M]) = norm(A)^3", lambda A: np.sqrt((A ** 2).sum()) ** 3),
    "logsumexp": ("f(A: [N, M]) = logsumexp(A)", lambda A: _lse(A)),
    "logsumexp0": ("Z(A: [N, M]) = logsumexp(A, 0)", lambda A: _lse(A, 0)),
    "logsumexp1": ("f(A: [N, M], w: [N]) = sum(logsumexp(A, 1) * w)",
                   lambda A, w: (_lse(A, 1) * w).sum()),
    "softmax": ("Z(A: [N, M]) = softmax(A)", lambda A: np.exp(_lsm(A))),
    "softmax-vector": ("f(x: [D], w: [D]) = sum(w * softmax(x))", lambda x, w: (w * np.exp(_lsm(x))).sum()),
    "softmax0": ("f(A: [N, M], C: [N, M]) = sum(C * softmax(A, 0))",
                 lambda A, C: (C * np.exp(_lsm(A, 0))).sum()),
    "softmax1": ("Z(A: [N, M]) = softmax(A, 1)", lambda A: np.exp(_lsm(A, 1))),
    "log_softmax": ("f(A: [N, M], C: [N, M]) = -sum(C * log_softmax(A)) / N",
                    lambda A, C: -(C * _lsm(A)).sum() / A.shape[0]),
    "log_softmax0": ("Z(A: [N, M]) = log_softmax(A, 0)", lambda A: _lsm(A, 0)),
    "log_softmax1": ("f(A: [N, M], C: [N, M]) = sum(C * log_softmax(A, 1))",
                     lambda A, C: (C * _lsm(A, 1)).sum()),
    "log_softmax-vector": ("Z(x: [D]) = log_softmax(x)", lambda x: _lsm(x)),
}

# Each function of §4, entry by entry; the domain keeps log, sqrt, asin
# and acos where they are defined.
ELEMENTWISE = {
    "sigmoid": ("Z(A: [N, M]) = σ(A) + sigmoid(A)", lambda A: 2 * sigmoid(A), None),
    "exp-log": ("Z(A: [N, M]) = exp(A) * log(A) + ln(A)",
                lambda A: np.exp(A) * np.log(A) + np.log(A), positive),
    "sqrt": ("Z(x: [D]) = sqrt(x)", np.sqrt, positive),
    "tanh": ("Z(x: [D]) = tanh(x)", np.tanh, None),
    "trig": ("Z(A: [N, M]) = sin(A) * cos(A) + tan(A)",
             lambda A: np.sin(A) * np.cos(A) + np.tan(A), unit),
    "inverse-trig": ("Z(x: [D]) = asin(x) + arccos(x) * atan(x) - arctan(x) + arcsin(x) * acos(x)",
                     lambda x: np.arcsin(x) + np.arccos(x) * np.arctan(x) - np.arctan(x)
                     + np.arcsin(x) * np.arccos(x), unit),
    "atan2": ("Z(y: [D], x: [D]) = atan2(y, x)", np.arctan2, None),
    "hyperbolic": ("Z(x: [D]) = sinh(x) * cosh(x)", lambda x: np.sinh(x) * np.cosh(x), None),
    "log1p-expm1": ("Z(x: [D]) = log1p(x) + expm1(x)", lambda x: np.log1p(x) + np.expm1(x),
                    positive),
    "abs-relu-softplus": ("Z(x: [D]) = abs(x) + 3relu(x) + softplus(x)",
                          lambda x: np.abs(x) + 3 * np.maximum(x, 0) + softplus(x), None),
    "power-division": ("Z(A: [N, M], B: [N, M]) = A^B / (A + B) - A^2 + 2^A",
                       lambda A, B: A ** B / (A + B) - A ** 2 + 2 ** A, positive),
    "max-min": ("Z(a: [D], b: [D], c: [D]) = max(a, b, c) - 2min(a, b)",
                lambda a, b, c: np.maximum(np.maximum(a, b), c) - 2 * np.minimum(a, b), None),
    "hadamard": ("Z(a: [N, M], b: [N, M]) = a ⊙ b - a × b + a * a",
                 lambda a, b: a * a, None),
}

BROADCASTING = {
    "row-bias": ("S(X: [N, H], b: [H]) = X + b", lambda X, b: X + b),
    "column-bias": ("Z(W: [H, D], X: [D, N], b: [H, 1]) = relu(W @ X + b)",
                    lambda W, X, b: np.maximum(W @ X + b, 0)),
    "row-and-column": ("Z(c: [N, 1], r: [M]) = c * r", lambda c, r: c * r),
    "scalar-input": ("f(x: [D], s) = sum(s * x + s^2)", lambda x, s: (s * x + s ** 2).sum()),
    "scalar-layer": ("Z(x: [D], s, t) = exp(x * s) + t", lambda x, s, t: np.exp(x * s) + t),
    "numbered-dims": ("f(A: [3 × 4], b: [4]) = sum(A * b)", lambda A, b: (A * b).sum()),
    "max-broadcast": ("Z(a: [N, M], b: [M]) = max(a, b, 0)",
                      lambda a, b: np.maximum(np.maximum(a, b), 0)),
    "dimension-as-number": ("f(x: [D]) = sum(x) / D", lambda x: x.mean()),
    "mlp": ("X: [N, D]\nW: [D, C]\nb: [C]\nY: [N, C]\nS = X @ W + b\n"
            "loss = -sum(Y * log_softmax(S)) / N",
            lambda X, W, b, Y: -(Y * _lsm(X @ W + b)).sum() / X.shape[0]),
}


def _cases(table):
    return pytest.mark.parametrize("case", list(table.values()), ids=list(table))


@_cases(MATMUL)
def test_matrix_products(case):
    check(*case)


@_cases(TRANSPOSE)
def test_transpose_and_outer(case):
    check(*case)


@_cases(REDUCTIONS)
def test_reductions_and_softmax(case):
    check(*case)


@_cases(ELEMENTWISE)
def test_every_function_of_section_4_entry_by_entry(case):
    check(*case)


@_cases(BROADCASTING)
def test_broadcasting(case):
    check(*case)
