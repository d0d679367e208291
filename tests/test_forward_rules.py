"""Every row's forward rule, against SymPy and central differences.

Each scalar row is compiled alone, as the single stage of a module with
--hvp, so that its forward rule (jvp), the tangent of its backward lines
(hvp) and the Hessian assembled from them (hessian) are checked against
SymPy's first and second derivatives.  Each array row's forward rule is
evaluated on random arrays of every rank its operands may have and checked
against central differences of the row's own forward code.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from compiler.driver import with_second_order
from compiler.emit import second_order as second_order_emit
from compiler.emit.context import context
from compiler.emit.printers import printer
from compiler.emit.render import render
from compiler.gates import CHAINS, GATES, SCALAR_GATES
from compiler.gates import checks as gate_checks
from compiler.gates.arrays import fixed
from compiler.loader import module_from_source
from compiler.passes.adjoint import adjoint
from compiler.passes.stage import Const, Ref, Stage, StagedIR
from gate_math import MEANING, NEGATIVE_POINTS, POINTS, POSITIVE_ONLY
from helpers import OPERAND_NAMES, gate_stages, operand_count

DIRECTIONS = (0.7, -1.3, 0.4)


def second_order_module(gate, constant=None, target: str = "math"):
    """The --hvp module of `f = gate(a, b, ...)`."""
    names = OPERAND_NAMES[:operand_count(gate)]
    const = Const(float(constant)) if gate.takes_constant else None
    staged = StagedIR(names, gate_stages(gate, tuple(map(Ref, names)), const), "f",
                      {n: n for n in names})
    module = context(adjoint(staged), "lecture", target, with_terms=True)
    module = with_second_order(module, staged, second_order_emit.scalar_lines(module, target),
                               ("jvp", "hvp"), target)
    return module_from_source(render(module, target), f"hvp_{gate.name}_{target}",
                              f"<hvp {gate.name}>")


def _points(gate):
    extra = [] if gate.name in POSITIVE_ONLY else NEGATIVE_POINTS
    return [p[:operand_count(gate)] for p in POINTS + extra]


def _exact(expression, at) -> float:
    return float(expression.evalf(30, subs=at))


@pytest.mark.parametrize("target", ["math", "numpy"])
@pytest.mark.parametrize("name", sorted(name for name in SCALAR_GATES if name != "const"))
def test_forward_rule_and_its_tangent_match_sympy(name, target):
    gate = GATES[name]
    meaning, constant = MEANING[name]
    module = second_order_module(gate, constant, target)
    symbols = sp.symbols(OPERAND_NAMES[:operand_count(gate)], real=True)
    expression = meaning(*symbols, *((constant,) if gate.takes_constant else ()))
    directions = DIRECTIONS[:len(symbols)]
    keywords = {f"v_{s}": v for s, v in zip(symbols, directions)}
    for point in _points(gate):
        at = dict(zip(symbols, point))
        value, tangent = module.jvp(*point, **keywords)
        derivative = sum(sp.diff(expression, s) * v for s, v in zip(symbols, directions))
        assert tangent == pytest.approx(_exact(derivative, at), rel=1e-12, abs=1e-13)
        _, gradient, product = module.hvp(*point, **keywords)
        for row_symbol, got in zip(symbols, product):
            exact = sum(sp.diff(expression, row_symbol, s) * v for s, v in zip(symbols, directions))
            assert got == pytest.approx(_exact(exact, at), rel=1e-10, abs=1e-12), \
                (name, row_symbol, point)
        _, _, hessian = module.hessian(*point)
        for i, row in enumerate(hessian):
            for j, got in enumerate(row):
                exact = _exact(sp.diff(expression, symbols[i], symbols[j]), at)
                assert got == pytest.approx(exact, rel=1e-10, abs=1e-12), (name, i, j, point)
                assert got == hessian[j][i]


def test_the_second_derivative_at_a_kink_is_zero_and_the_first_keeps_its_convention():
    for name, point in (("relu", 0.0), ("abs", 0.0), ("relu", 2.0), ("abs", -2.0)):
        module = second_order_module(GATES[name])
        _, gradient, (product,) = module.hvp(point, v_a=1.0)
        assert product == 0.0
        assert module.jvp(point, v_a=1.0)[1] == gradient[0]
    tied = second_order_module(GATES["max"])
    assert tied.jvp(0.5, 0.5, 0.5, v_a=1.0, v_b=10.0, v_u=100.0)[1] == 1.0


def test_softplus_tangent_stays_finite_and_exact_far_out():
    module = second_order_module(GATES["softplus"])
    for x in (-700.0, -40.0, 40.0, 700.0):
        sigma = 1 / (1 + np.exp(-x)) if x > 0 else np.exp(x) / (1 + np.exp(x))
        assert module.jvp(x, v_a=2.0)[1] == pytest.approx(2 * sigma, rel=1e-15)
        second = sigma * (1 - sigma) if x < 0 else np.exp(-x) / (1 + np.exp(-x))**2
        assert module.hvp(x, v_a=1.0)[2][0] == pytest.approx(second, rel=1e-12)


# -- the array rows ------------------------------------------------------------

_RANKS = {
    "matrix_product": ((1, 1), (1, 2), (2, 1), (2, 2)),
    "swap_axes": ((2,),),
    "outer_product": ((1, 1),),
    "reduce": ((1,), (2,)),
    "along": ((1,), (2,)),
    "elementwise": ((1,), (2,)),
    "as_column": ((1,),),
}
_SHAPES = {1: (4,), 2: (4, 4)}


def _array_rows():
    for row in GATES.values():
        if row.jvp is None or row.staged_as or row.label_operands:
            continue  # rows that read labels: tests/test_labels.py
        for ranks in _RANKS[row.shape_rule]:
            if row.axis is not None and row.axis > max(ranks) - 1:
                continue
            yield row, ranks


def _evaluate(code: str, values: dict):
    return eval(code, {"np": np}, values)


def _helper_values(row, operands: dict) -> dict:
    """The values the row's code reads beside its operands (Gate.helpers),
    each computed by its plan's rows' own NumPy code."""
    def planned(plan):
        if isinstance(plan, int):
            return operands["ab"[plan]]
        gate, *parts = plan
        args = [planned(part) for part in parts]
        names = "ab"[:len(args)]
        code = printer("numpy")(GATES[gate].forward_tree(len(args), "numpy"))
        return _evaluate(code.format_map(dict(zip(names, names))), dict(zip(names, args)))
    return {field: planned(plan) for field, plan in row.helpers}


@pytest.mark.parametrize("row, ranks", list(_array_rows()),
                         ids=lambda value: getattr(value, "name", str(value)))
def test_array_forward_rule_matches_central_differences(row, ranks):
    generator = np.random.default_rng(3)
    operands = [generator.uniform(0.2, 1.5, _SHAPES[rank]) for rank in ranks]
    tangents = [generator.standard_normal(_SHAPES[rank]) for rank in ranks]
    letters = "ab"[:len(ranks)]
    code = printer("numpy")
    forward = code(row.forward_tree(len(ranks), "numpy"))

    def value(*arrays):
        values = dict(zip(letters, arrays))
        values.update(_helper_values(row, values))
        return _evaluate(forward.format_map({name: name for name in values}), values)

    out = value(*operands)
    total = 0
    for index in range(len(ranks)):
        rule = code(row.jvp_tree(index, len(ranks), ranks, "numpy"))
        filled = rule.format_map({**dict(zip(letters, letters)), "out": "out", "t": "t"})
        total = total + _evaluate(filled, {**dict(zip(letters, operands)), "out": out,
                                         "t": tangents[index]})
    step = 1e-6
    estimate = (value(*[a + step * t for a, t in zip(operands, tangents)])
                - value(*[a - step * t for a, t in zip(operands, tangents)])) / (2 * step)
    np.testing.assert_allclose(total, estimate, rtol=1e-7, atol=1e-8)


def test_a_row_with_a_backward_rule_of_its_own_needs_a_forward_rule():
    gate_checks.check_table([GATES["matmul"]], GATES, CHAINS)
    broken = replace(GATES["matmul"], jvp=None)
    with pytest.raises(AssertionError, match=r"gate matmul: a backward rule \(vjp\) without "
                                             r"a forward rule \(jvp\)"):
        gate_checks.check_table([broken], GATES, CHAINS)
    unknown = replace(GATES["transpose"], jvp=fixed("{g}.T"))
    with pytest.raises(AssertionError, match=r"gate transpose: unknown placeholders \['g'\] "
                                             r"in its forward rule"):
        gate_checks.check_table([unknown], GATES, CHAINS)
