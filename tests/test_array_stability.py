"""logsumexp, softmax and log_softmax with entries up to ±1000: value and
gradient to 1e-12 relative, against mpmath at 50 digits (§4's promise for
the array functions).  An entry whose true value is below 1e-300 may
underflow to 0."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import build

mpmath.mp.dps = 50
ENTRIES = [[1000.0, 999.5, -1000.0, 0.0], [-1000.0, -999.0, -998.25, -1000.0],
           [3.0, -2.0, 1000.0, 1000.0]]
WEIGHTS = [[0.5, -1.25, 2.0, 0.75], [1.5, 0.25, -0.5, 3.0], [-2.0, 1.0, 0.5, 0.125]]


def _close(got, want):
    want = np.array([[float(v) for v in row] for row in want]) if np.ndim(got) == 2 \
        else np.array([float(v) for v in want])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def _rows(matrix, axis):
    """The lines softmax works along, as lists of mpf, and a way back."""
    m = [[mpmath.mpf(v) for v in row] for row in matrix]
    return m if axis == 1 else [list(col) for col in zip(*m)]


def _back(lines, axis):
    return lines if axis == 1 else [list(row) for row in zip(*lines)]


def _lse(line):
    return mpmath.log(mpmath.fsum(mpmath.exp(v) for v in line))


def _softmax(line):
    total = _lse(line)
    return [mpmath.exp(v - total) for v in line]


@pytest.mark.parametrize("axis", [0, 1])
def test_log_softmax_value_and_gradient(axis):
    module = build(f"f(A: [N, M], C: [N, M]) = sum(C * log_softmax(A, {axis}))")
    value, (dA, _) = module.grad(ENTRIES, WEIGHTS)
    lines, weights = _rows(ENTRIES, axis), _rows(WEIGHTS, axis)
    want = mpmath.fsum(w * (v - _lse(line)) for line, wl in zip(lines, weights)
                       for v, w in zip(line, wl))
    assert value == pytest.approx(float(want), rel=1e-12)
    gradient = [[w - s * mpmath.fsum(wl) for w, s in zip(wl, _softmax(line))]
                for line, wl in zip(lines, weights)]
    _close(dA, _back(gradient, axis))


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_value_and_gradient(axis):
    module = build(f"f(A: [N, M], C: [N, M]) = sum(C * softmax(A, {axis}))")
    value, (dA, _) = module.grad(ENTRIES, WEIGHTS)
    lines, weights = _rows(ENTRIES, axis), _rows(WEIGHTS, axis)
    soft = [_softmax(line) for line in lines]
    want = mpmath.fsum(w * s for sl, wl in zip(soft, weights) for s, w in zip(sl, wl))
    assert value == pytest.approx(float(want), rel=1e-12)
    gradient = [[s * (w - mpmath.fsum(a * b for a, b in zip(sl, wl))) for s, w in zip(sl, wl)]
                for sl, wl in zip(soft, weights)]
    _close(dA, _back(gradient, axis))
    layer = build(f"Z(A: [N, M]) = softmax(A, {axis})")
    _close(layer.Z(ENTRIES), _back(soft, axis))


def test_softmax_and_log_softmax_default_to_the_last_axis():
    for name in ("softmax", "log_softmax"):
        default = build(f"Z(A: [N, M]) = {name}(A)").Z(ENTRIES)
        np.testing.assert_array_equal(default, build(f"Z(A: [N, M]) = {name}(A, 1)").Z(ENTRIES))


@pytest.mark.parametrize("axis", [None, 0])
def test_logsumexp_value_and_gradient(axis):
    module = build("f(A: [N, M]) = logsumexp(A)" if axis is None
                   else "f(A: [N, M]) = sum(logsumexp(A, 0))")
    value, (dA,) = module.grad(ENTRIES)
    lines = [sum(_rows(ENTRIES, 1), [])] if axis is None else _rows(ENTRIES, axis)
    assert value == pytest.approx(float(mpmath.fsum(_lse(line) for line in lines)), rel=1e-12)
    soft = [_softmax(line) for line in lines]
    if axis is None:
        _close(dA, [soft[0][i:i + 4] for i in range(0, 12, 4)])
    else:
        _close(dA, _back(soft, axis))


def test_logsumexp_along_rows_weighted():
    module = build("f(A: [N, M], w: [N]) = sum(logsumexp(A, 1) * w)")
    w = [0.5, -2.0, 1.25]
    value, (dA, dw) = module.grad(ENTRIES, w)
    lines = _rows(ENTRIES, 1)
    assert value == pytest.approx(float(mpmath.fsum(
        mpmath.mpf(wi) * _lse(line) for wi, line in zip(w, lines))), rel=1e-12)
    _close(dA, [[mpmath.mpf(wi) * s for s in _softmax(line)] for wi, line in zip(w, lines)])
    _close(dw, [_lse(line) for line in lines])


def test_vectors_at_plus_and_minus_a_thousand_stay_finite():
    module = build("f(x: [D], w: [D]) = logsumexp(x) + sum(w * log_softmax(x)) "
                   "+ sum(w * softmax(x))")
    x = np.array([1000.0, -1000.0, 999.0])
    value, gradient = module.grad(x, [1.0, 2.0, 3.0])
    assert np.isfinite(value) and all(np.isfinite(g).all() for g in gradient)
