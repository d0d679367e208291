"""Gates at the thresholds where naive formulas overflow or lose precision.

Each value and gradient is compared, to a relative tolerance, with mpmath at
50 digits, in both targets.  The numpy modules run with overflow, division
by zero and invalid operations raising, so a hidden inf or nan fails too.
The boundary policy (log(0), sqrt(0), 1/0) is pinned as docs/targets.md
states it.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from compiler import compile_source
from compiler.driver import adjoint_ir
from compiler.gates import GATES, SCALAR_GATES
from compiler.emit.render import TARGET_NAMES as TARGETS
from compiler.tools.trace import trace
from conftest import ROOT, build

mpmath.mp.dps = 50
REL = 4e-16 * 4   # four ulps


def _sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _softplus(x):
    return mpmath.log(1 + mpmath.exp(x))


# formula, its value and derivative in mpmath, the points
CASES = {
    "sigmoid": ("f = σ(x)", _sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x),
                (-1000.0, -37.0, 0.0, 37.0, 1000.0)),
    "softplus": ("f = softplus(x)", _softplus, _sigmoid,
                 (-40.0, -17.5, 0.0, 17.5, 18.5, 40.0)),
    "log_sigmoid": ("f = log(σ(x))", lambda x: mpmath.log(_sigmoid(x)), lambda x: _sigmoid(-x),
                    (-40.0, 40.0)),
}
# The one documented exception: the math target keeps the lecture's
# (1 - σ)·σ, which is 0 once σ(x) rounds to 1 (x > 36.7); so does numba's
# loop, which runs the math target's code.
LECTURE_FORM = {(case, target, x) for case, x in (("sigmoid", 37.0), ("sigmoid", 1000.0))
                for target in ("math", "numba")}


def _at(module, x: float):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, (gradient,) = module.grad(x)
    return float(value), float(gradient)


def _close(got: float, exact) -> bool:
    exact = float(exact)   # rounds to the nearest double: a tiny value stays tiny
    return got == exact or abs(got - exact) <= REL * abs(exact)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_value_and_gradient_keep_their_relative_precision(case, target):
    formula, value_of, gradient_of, points = CASES[case]
    module = build(formula, target=target)
    for x in points:
        value, gradient = _at(module, x)
        assert _close(value, value_of(mpmath.mpf(x))), (case, target, x, value)
        if (case, target, x) in LECTURE_FORM:
            assert gradient == 0.0 and float(gradient_of(mpmath.mpf(x))) < 2.0**-53
        else:
            assert _close(gradient, gradient_of(mpmath.mpf(x))), (case, target, x, gradient)


@pytest.mark.parametrize("target", TARGETS)
def test_sigmoid_saturates_without_overflow(target):
    module = build("f = σ(x)", target=target)
    assert _at(module, -1000.0) == (0.0, 0.0)
    assert _at(module, 1000.0) == (1.0, 0.0)
    assert _at(module, 0.0) == (0.5, 0.25)


@pytest.mark.parametrize("target", TARGETS)
def test_softplus_gradient_at_zero_is_exactly_one_half(target):
    assert _at(build("f = softplus(x)", target=target), 0.0)[1] == 0.5


def test_log_of_a_sigmoid_is_rewritten_named_or_not():
    # The lecture's logistic loss, the cross-entropy with y = 1: softplus(-z),
    # and the lecture's ŷ - 1 as -σ(-z), from σ(-z) cached.
    rewritten = compile_source("f = -log(σ(w*x))")
    assert "math.log(" not in rewritten
    assert "    f = max(-wx, 0.0) + math.log1p(math.exp(-abs(wx)))\n" in rewritten
    assert "    dwx = (-signegwx) * df  # df/dsigwx · dsigwx/dwx = (sigwx − 1)/(sigwx(1 − sigwx))" \
        " · sigwx(1 − sigwx)\n" in rewritten
    # Through a stage the user named: the loss reads σ's operand, and the
    # stage stays in the forward pass, as the file wrote it; the comment names it.
    named = compile_source("h2 = σ(x)\ne = -log(h2)\n")
    assert "math.log(" not in named and "    h2 = 1.0 / (1 + math.exp(-x))" in named
    assert "    e = max(-x, 0.0) + math.log1p(math.exp(-abs(x)))\n" in named
    assert "    dx = (-signegx) * de  # de/dh2 · dh2/dx = (h2 − 1)/(h2(1 − h2)) · h2(1 − h2)\n" \
        in named
    # Without the minus it is log σ, -softplus(-x), as before.
    assert "    f = -softpnegx\n" in compile_source("f = log(σ(x))")
    # A named σ that something else reads stays, beside the rewritten log.
    shared = compile_source("h2 = σ(x)\ne = -log(h2) + h2\n")
    assert "    h2 = 1.0 / (1 + math.exp(-x))" in shared and "math.log(" not in shared


def test_a_negated_negation_is_the_value_itself():
    assert "    f = x * y\n" in compile_source("f = -(-(x*y))")


@pytest.mark.parametrize("target", TARGETS)
def test_log_sigmoid_of_a_large_negative_input_is_exact_in_every_target(target):
    assert _at(build("f = log(σ(x))", target=target), -1000.0) == (-1000.0, 1.0)


BCE = "l(x, y) = -y*log(σ(x)) - (1 - y)*log(1 - σ(x))"
BCE_POINTS = (-700.0, -500.0, -40.0, -37.0, -36.7, -20.0, -5.0, -1.0, -0.5, 0.5, 1.0, 5.0, 20.0,
              36.7, 37.0, 40.0, 100.0, 500.0, 700.0,
              *np.random.default_rng(37).uniform(2.0, 700.0, 40) * np.tile([-1.0, 1.0], 20))


def _bce_exact(x: float, y: float):
    """The lecture's formula, value and gradient (σ(x) - y, -x), as written:
    at 400 digits 1 - σ(700) does not cancel to 0."""
    with mpmath.workdps(400):
        x, y = mpmath.mpf(x), mpmath.mpf(y)
        value = -y * mpmath.log(_sigmoid(x)) - (1 - y) * mpmath.log(1 - _sigmoid(x))
        return float(value), (float(_sigmoid(x) - y), float(-x))


def _bce_close(got: float, exact: float) -> bool:
    return got == exact or abs(got - exact) <= 1e-12 * abs(exact)


@pytest.mark.parametrize("style", ["lecture", "compact"])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_binary_cross_entropy_after_sigmoid_to_1e_12_for_x_up_to_700(target, style, y):
    """log(1 - σ(x)) is -softplus(x) and 1 - σ(x) is σ(-x), by the table's
    rewrites; 1 - σ(37) would round to 0 and its log raise."""
    _assert_bce_accurate(build(BCE, target=target, style=style), y)


def _assert_bce_accurate(module, y: float):
    for x in map(float, BCE_POINTS):
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            value, (dx, dy) = module.grad(x, y)
        exact, (exact_dx, exact_dy) = _bce_exact(x, y)
        assert _bce_close(float(value), exact), (x, y, value, exact)
        assert _bce_close(float(dx), exact_dx), (x, y, dx, exact_dx)
        assert _bce_close(float(dy), exact_dy), (x, y, dy, exact_dy)


MILA_BCE = "ŷ = σ(x)\nl = -y*log(ŷ) - (1 - y)*log(1 - ŷ)"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_the_lectures_named_prediction_is_as_accurate_as_the_inline_form(target, y):
    """With ŷ = σ(x) a stage of its own, log(ŷ) and log(1 - ŷ) read
    through it, so the loss is the inline form's to the same 1e-12."""
    _assert_bce_accurate(build(MILA_BCE, target=target), y)


def test_one_minus_an_unnamed_sigmoid_is_sigmoid_of_the_negation():
    assert "    f = 1.0 / (1 + math.exp(-negx)) if negx >= 0.0" in compile_source("f = 1 - σ(x)")
    assert "    f = 2 - sigx\n" in compile_source("f = 2 - σ(x)")
    assert "    f = 1.0 / (1 + math.exp(-negx))" in compile_source("s = σ(x)\nf = 1 - s\n")


# -- the boundary policy ------------------------------------------------------

@pytest.mark.parametrize("formula, x, error, stage", [
    ("f = log(x)", 0.0, ValueError, "f"),
    ("f = 1 / x", 0.0, ZeroDivisionError, "f"),
    ("f = sqrt(x)", 0.0, ZeroDivisionError, "f"),   # the value is 0; the gradient 1/0
    ("f = exp(x)", 1000.0, OverflowError, "f"),
])
def test_math_target_raises_as_python_math_and_trace_names_the_stage(formula, x, error, stage):
    with pytest.raises(error):
        build(formula).grad(x)
    failure = trace(adjoint_ir(formula), (x,)).failure
    assert failure is not None and failure.stage.name == stage
    assert (failure.stage.span.line, failure.stage.span.column) == (1, 5)


@pytest.mark.parametrize("formula, x, value, gradient", [
    ("f = log(x)", 0.0, -math.inf, math.inf),
    ("f = 1 / x", 0.0, math.inf, -math.inf),
    ("f = sqrt(x)", 0.0, 0.0, math.inf),
])
def test_numpy_target_follows_ieee_and_numpys_error_state(formula, x, value, gradient):
    module = build(formula, target="numpy")
    with np.errstate(divide="ignore"):
        assert module.grad(np.array([x]))[0].tolist() == [value]
        assert module.grad(np.array([x]))[1][0].tolist() == [gradient]
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        module.grad(np.array([x]))


def test_the_stability_table_in_the_docs_names_every_gate():
    text = (ROOT / "docs" / "targets.md").read_text(encoding="utf-8")
    table = text.split("## Stability")[1].split("### ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert sorted({name for name in SCALAR_GATES if any(f"`{name}`" in row for row in rows)}) == \
        sorted(SCALAR_GATES)
