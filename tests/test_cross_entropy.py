"""The binary cross-entropy after σ as one stage, the lecture's: its backward
line is ŷ − y, computed as (1 − y)·ŷ − y·σ(−z) from the cached ŷ and σ(−z),
with the lecture's derivation in the line's comment; value and gradients to
1e-12 relative, against mpmath, at z = ±40 and ±700, in every spelling a
file may write it."""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest

from compiler import compile_source
from compiler.emit.render import TARGET_NAMES as TARGETS
from conftest import EXAMPLES, build

EXTREMES = (-700.0, -40.0, -36.7, 0.0, 36.7, 40.0, 700.0)


def _exact(z: float, y: float) -> tuple[float, float, float]:
    """The lecture's formula as written, value and gradient (σ(z) − y, −z),
    at 400 digits, where 1 − σ(700) does not cancel to 0."""
    with mpmath.workdps(400):
        z, y = mpmath.mpf(z), mpmath.mpf(y)
        s = 1 / (1 + mpmath.exp(-z))
        return float(-y * mpmath.log(s) - (1 - y) * mpmath.log(1 - s)), float(s - y), float(-z)


def _close(got, exact: float) -> bool:
    got = float(got)
    return got == exact or abs(got - exact) <= 1e-12 * abs(exact)


def test_dense_bce_backward_line_is_the_lectures_prediction_minus_target():
    code = compile_source((EXAMPLES / "arrays" / "dense_bce.txt").read_text(encoding="utf-8"))
    assert re.search(r"^    ŷ = np\.exp\(np\.minimum\(z, 0\)\) / \(1 \+ np\.exp\(-np\.abs\(z\)\)\)"
                     r"  # \[H\]$", code, flags=re.M)
    assert "    dz = ((1 - y) * ŷ - y * signegz) * " in code
    assert "  # [H]; dl/dŷ · dŷ/dz = (ŷ − y)/(ŷ(1 − ŷ)) · ŷ(1 − ŷ)\n" in code
    assert "  # [H]; dl/dy = log(1 − ŷ) − log(ŷ) = −z\n" in code
    assert "return l, (x, W, y, H, z, ŷ, signegz)" in code or \
        "return l, (x, W, y, z, ŷ, signegz)" in code
    assert "softp" not in code and "np.log(" not in code


def test_the_lectures_logistic_loss_is_the_cross_entropy_with_y_one():
    code = compile_source((EXAMPLES / "logistic_loss.txt").read_text(encoding="utf-8"))
    assert "    h2 = 1.0 / (1 + math.exp(-h1))" in code
    assert "    e = max(-h1, 0.0) + math.log1p(math.exp(-abs(h1)))\n" in code
    assert "    dh1 = (-signegh1) * de  # de/dh2 · dh2/dh1 = (h2 − 1)/(h2(1 − h2)) · h2(1 − h2)\n" \
        in code


@pytest.mark.parametrize("target", ["numpy", "array-api"])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_dense_bce_keeps_1e_12_at_the_extremes(target, y):
    module = build((EXAMPLES / "arrays" / "dense_bce.txt").read_text(encoding="utf-8"),
                   target=target)
    for z in EXTREMES:
        # x = [1] and W = 0 make z = b, so db is dl/dz.
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            value, (dx, dW, db, dy) = module.grad(np.ones(1), np.zeros((1, 1)),
                                                  np.array([z]), np.array([y]))
        exact, exact_dz, exact_dy = _exact(z, y)
        assert _close(value, exact), (z, y, value, exact)
        assert _close(np.asarray(db)[0], exact_dz), (z, y, db, exact_dz)
        assert _close(np.asarray(dy)[0], exact_dy), (z, y, dy, exact_dy)


@pytest.mark.parametrize("style", ["lecture", "compact"])
@pytest.mark.parametrize("target", TARGETS)
def test_the_logistic_loss_keeps_1e_12_at_the_extremes(target, style):
    module = build((EXAMPLES / "logistic_loss.txt").read_text(encoding="utf-8"),
                   target=target, style=style)
    for z in EXTREMES:
        value, (dw, dx) = module.grad(z, 1.0)  # h1 = w * x = z
        exact, exact_dz, _ = _exact(z, 1.0)
        assert _close(value, exact), (z, value, exact)
        assert _close(dw, exact_dz), (z, dw, exact_dz)


SPELLINGS = [
    "l = -y*log(σ(z)) - (1 - y)*log(1 - σ(z))",
    "l = -(1 - y)*log(1 - σ(z)) - y*log(σ(z))",
    "l = -(y*log(σ(z)) + (1 - y)*log(1 - σ(z)))",
    "l = -(log(1 - sigmoid(z))*(1.0 - y) + ln(sigmoid(z))*y)",
    "l = -y ⊙ log(σ(z)) - (1 - y) ⊙ log(1 - σ(z))",
    "ŷ = σ(z)\nl = -y*log(ŷ) - (1 - y)*log(1 - ŷ)",
    "ŷ = σ(z)\nl = -y*log(ŷ) - (1 - y)*log(1 - σ(z))",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_is_one_stage_with_the_lectures_backward_line(spelling):
    code = compile_source(f"z: [H]\ny: [H]\n{spelling.replace('l = ', 'l = sum(', 1)})\n")
    assert re.search(r"^    dz = \(\(1 - y\) \* \w+ - y \* signegz\) \* \w+  # \[H\]; ", code,
                     flags=re.M), code
    assert "softp" not in code
    module = build(f"z: [H]\ny: [H]\n{spelling.replace('l = ', 'l = sum(', 1)})\n")
    z, y = np.array([-700.0, -40.0, 0.5, 40.0, 700.0]), np.array([1.0, 0.0, 0.25, 1.0, 0.0])
    value, (dz, dy) = module.grad(z, y)
    for i in range(len(z)):
        _, exact_dz, exact_dy = _exact(z[i], y[i])
        assert _close(dz[i], exact_dz) and _close(dy[i], exact_dy)


def test_a_cross_entropy_of_two_logits_is_not_fused_and_stays_right():
    text = "l = -y*log(σ(z)) - (1 - y)*log(1 - σ(w))"
    code = compile_source(text)
    assert "bce" not in code and "signegz" not in code
    value, (dy, dz, dw) = build(text).grad(0.5, 2.0, -1.0)
    s = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    assert value == pytest.approx(-0.5 * np.log(s(2.0)) - 0.5 * np.log(1 - s(-1.0)), rel=1e-14)
    assert dz == pytest.approx(-0.5 * (1 - s(2.0)), rel=1e-14)
    assert dw == pytest.approx(0.5 * s(-1.0), rel=1e-14)


def test_without_optimizations_the_fused_stage_is_still_right():
    module = build("ŷ = σ(z)\nl = -y*log(ŷ) - (1 - y)*log(1 - ŷ)", fold=False, cse=False, dce=False)
    value, (dz, dy) = module.grad(40.0, 1.0)
    exact, exact_dz, exact_dy = _exact(40.0, 1.0)
    assert _close(value, exact) and _close(dz, exact_dz) and _close(dy, exact_dy)


@pytest.mark.parametrize("target, points", [("numpy", (-40.0, -2.0, 0.5, 40.0)),
                                            ("math", (-40.0, -2.0, 0.5))])
def test_the_hessian_reads_the_cached_stages_tangents(target, points):
    """The backward line's tangent is (1 − y)·ŷ′ − y·σ(−z)′ − (ŷ + σ(−z))·ẏ:
    σ(z)σ(−z), −1 and 0, relatively exact where σ(−z)′ would lose it.  (The
    math target's σ′ is the lecture's (1 − ŷ)·ŷ, 0 for z > 36.7.)"""
    module = build("ŷ = σ(z)\nl = -y*log(ŷ) - (1 - y)*log(1 - ŷ)\n", target=target,
                   second_order=("jvp", "hvp"))
    for z in points:
        _, _, hessian = module.hessian(z, 0.3)
        with mpmath.workdps(50):
            curvature = float(1 / ((1 + mpmath.exp(-z)) * (1 + mpmath.exp(z))))
        assert _close(hessian[0][0], curvature), (z, hessian)
        assert (hessian[0][1], hessian[1][0], hessian[1][1]) == (-1.0, -1.0, 0.0)
