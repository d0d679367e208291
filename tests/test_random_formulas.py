"""Random formulas, written in random spellings, against SymPy and finite
differences.

The strategy builds formula text and the SymPy expression it means side by
side, from smooth gates only (kinks are tested where their convention is),
with arguments kept inside each function's domain: `log(1 + A^2)`,
`sqrt(2 + sin(A))`, `A / (1 + B^2)`.
"""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import central_difference
from conftest import build

NAMES = ("x", "y", "z")
SYMBOLS = {name: sp.Symbol(name, real=True) for name in NAMES}


def _sigmoid(a):
    return 1 / (1 + sp.exp(-a))


# Each: (spellings, SymPy meaning); every argument is allowed.
_UNARY = [
    (("σ({})", "sigmoid({})"), _sigmoid),
    (("tanh({})",), sp.tanh),
    (("sin({})",), sp.sin),
    (("cos({})",), sp.cos),
    (("atan({})", "arctan({})"), sp.atan),
    (("log(1 + ({})^2)", "ln(1 + ({})**2)"), lambda a: sp.log(1 + a**2)),
    (("sqrt(2 + sin({}))",), lambda a: sp.sqrt(2 + sp.sin(a))),
    (("exp(tanh({}))", "e^(tanh({}))"), lambda a: sp.exp(sp.tanh(a))),
    (("log1p(({})^2)",), lambda a: sp.log(1 + a**2)),
    (("softplus({})",), lambda a: sp.log(1 + sp.exp(a))),
    (("({})^2", "({})**2"), lambda a: a**2),
    (("-({})", "−({})"), lambda a: -a),
    (("-log(σ({}))", "-ln(sigmoid({}))"), lambda a: -sp.log(_sigmoid(a))),
]
_BINARY = [
    (("({}) + ({})",), lambda a, b: a + b),
    (("({}) - ({})", "({}) − ({})"), lambda a, b: a - b),
    (("({}) * ({})", "({}) · ({})", "({}) × ({})", "({})({})"), lambda a, b: a * b),
    (("({}) / (1 + ({})^2)", "({}) ÷ (1 + ({})^2)"), lambda a, b: a / (1 + b**2)),
    # The cross-entropy of a logit against a target, one stage however spelled.
    (("-({1})*log(σ({0})) - (1 - ({1}))*log(1 - σ({0}))",
      "-(1.0 - ({1}))*ln(1 - sigmoid({0})) - ({1})*ln(sigmoid({0}))",
      "-(log(σ({0}))*({1}) + log(1 - σ({0}))*(1 - ({1})))"),
     lambda a, b: -b * sp.log(_sigmoid(a)) - (1 - b) * sp.log(1 - _sigmoid(a))),
]

leaves = st.one_of(
    st.sampled_from(NAMES).map(lambda n: (n, SYMBOLS[n])),
    st.integers(1, 5).map(lambda k: (str(k), sp.Integer(k))),
    st.sampled_from(["0.5", ".25", "1.5e-1"]).map(lambda t: (t, sp.Rational(sp.Float(t)))),
    st.sampled_from(NAMES).map(lambda n: (f"2{n}", 2 * SYMBOLS[n])),
)


def _extend(children):
    unary = st.tuples(st.sampled_from(_UNARY), children, st.data()).map(_apply_unary)
    binary = st.tuples(st.sampled_from(_BINARY), children, children, st.integers(0, 3)) \
        .map(_apply_binary)
    return st.one_of(unary, binary)


def _apply_unary(args):
    (spellings, meaning), (text, expr), data = args
    spelling = data.draw(st.sampled_from(spellings))
    return spelling.format(text), meaning(expr)


def _apply_binary(args):
    (spellings, meaning), (left, a), (right, b), pick = args
    return spellings[pick % len(spellings)].format(left, right), meaning(a, b)


expressions = st.recursive(leaves, _extend, max_leaves=8)


@st.composite
def formulas(draw):
    text, expr = draw(expressions)
    if draw(st.booleans()):
        second, other = draw(expressions)
        text, expr = f"q = {text}\nf = q * ({second}) + q", expr * other + expr
    return text, expr


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(formulas(), st.tuples(*[st.floats(-1.5, 1.5) for _ in NAMES]))
def test_random_formula_matches_sympy_and_central_differences(formula, values):
    text, expr = formula
    module = build(text)
    point = dict(zip(NAMES, values))
    args = [point[name] for name in module.INPUTS]
    subs = {SYMBOLS[name]: sp.Float(point[name], 30) for name in module.INPUTS}
    value, gradient = module.grad(*args)
    assert value == pytest.approx(float(expr.evalf(30, subs=subs)), rel=1e-9, abs=1e-9)
    for name, got in zip(module.INPUTS, gradient):
        exact = float(sp.diff(expr, SYMBOLS[name]).evalf(30, subs=subs))
        assert got == pytest.approx(exact, rel=1e-8, abs=1e-8), (text, name)
        assert got == pytest.approx(_central(module, args, module.INPUTS.index(name)),
                                    rel=1e-4, abs=1e-5), (text, name)


def _central(module, args, index):
    return central_difference(lambda *values: module.forward(*values)[0], args, index)
