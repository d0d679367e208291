"""Every row of the gate table, against SymPy and central differences.

Each row is compiled on its own, as the single stage of a module, so rows
that no formula spells directly (the constant forms, `inv`, `square`) are
tested just like `σ`.  A new row is picked up here automatically.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp

from compiler.gates import CHAINS, GATES, SCALAR_GATES
from helpers import OPERAND_NAMES, central_difference, operand_count, single_gate_module
from conftest import build
from gate_math import MEANING, NEGATIVE_POINTS, POINTS, POSITIVE_ONLY


def _operand_count(gate) -> int:
    return 3 if gate.variadic else gate.arity


def _single_gate_module(gate, constant):
    return single_gate_module(gate, constant), OPERAND_NAMES[:operand_count(gate)]


def _points(gate):
    extra = [] if gate.name in POSITIVE_ONLY else NEGATIVE_POINTS
    return [p[: _operand_count(gate)] for p in POINTS + extra]


def test_every_gate_has_a_meaning_in_the_tests():
    assert sorted(MEANING) == sorted(SCALAR_GATES)


@pytest.mark.parametrize("name", sorted(SCALAR_GATES))
def test_gate_value_and_gradient_match_sympy(name):
    gate = GATES[name]
    meaning, constant = MEANING[name]
    module, names = _single_gate_module(gate, constant)
    symbols = sp.symbols(names, real=True)
    args = symbols + ((constant,) if gate.takes_constant else ())
    expression = meaning(*args)
    for point in _points(gate):
        at = dict(zip(symbols, point))
        value, gradient = module.grad(*point)
        assert value == pytest.approx(float(expression.evalf(30, subs=at)), rel=1e-13, abs=1e-15)
        for symbol, got in zip(symbols, gradient):
            exact = float(sp.diff(expression, symbol).evalf(30, subs=at))
            assert got == pytest.approx(exact, rel=1e-12, abs=1e-14), (name, symbol, point)


@pytest.mark.parametrize("name", sorted(SCALAR_GATES))
def test_gate_gradient_matches_central_differences(name):
    gate = GATES[name]
    module, names = _single_gate_module(gate, MEANING[name][1])
    for point in _points(gate):
        _, gradient = module.grad(*point)
        for index, got in enumerate(gradient):
            estimate = central_difference(lambda *args: module.forward(*args)[0], point, index)
            assert got == pytest.approx(estimate, rel=1e-6, abs=1e-8), (name, index, point)


@pytest.mark.parametrize("name", ["max", "min"])
def test_tied_extremum_gives_the_whole_gradient_to_the_first(name):
    module, _ = _single_gate_module(GATES[name], None)
    assert module.grad(0.5, 0.5, 0.5)[1] == (1.0, 0.0, 0.0)
    assert module.grad(0.1, 0.5, 0.5)[1] == ((0.0, 1.0, 0.0) if name == "max" else (1.0, 0.0, 0.0))


def test_kinks_follow_the_stated_convention():
    abs_module, _ = _single_gate_module(GATES["abs"], None)
    relu_module, _ = _single_gate_module(GATES["relu"], None)
    assert abs_module.grad(0.0)[1] == (0.0,)
    assert relu_module.grad(0.0)[1] == (0.0,)
    assert math.copysign(1.0, abs_module.grad(-2.0)[1][0]) == -1.0


@pytest.mark.parametrize("formula", ["f = x^0.5", "f = x^y", "f = x^(1/3)"])
def test_negative_base_with_fractional_exponent_raises_never_goes_complex(formula):
    module = build(formula)
    with pytest.raises(ValueError):
        module.grad(*([-2.0] * len(module.INPUTS)))


def test_whole_exponent_of_a_negative_base_is_real():
    assert build("f = x^3").grad(-2.0) == (-8.0, (12.0,))
    assert build("f = x^-1").grad(-2.0) == (-0.5, (-0.25,))


def test_a_compact_form_must_fit_its_rows_placeholders():
    from dataclasses import replace

    from compiler.gates import checks as gate_checks
    from compiler.gates import Form

    gate_checks.check_table([GATES["square"]], GATES, CHAINS)
    broken = replace(GATES["square"], compact=Form("{a} * {b}", ("2.0 * {a}",)))
    with pytest.raises(AssertionError, match=r"gate square: bad math form \['b'\]"):
        gate_checks.check_table([broken], GATES, CHAINS)


def test_every_row_of_the_table_checks_out():
    # The checks no longer run at import (table.py): this is where a
    # malformed row fails.
    from compiler.gates import check

    assert check() == len(GATES)
