"""compiler.scipy_objective: a generated module as SciPy's flat-vector
objective, and the NIST fits of examples/scipy_fit.py."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from compiler.scipy_objective import Objective
from conftest import EXAMPLES, build

LAYER_LOSS = "W: [H, D]\nx: [D]\nloss(W, x, c) = c * sum(tanh(W @ x)^2)\n"


def _objective(scale=()):
    module = build(LAYER_LOSS, second_order=("jvp", "hvp"))
    generator = np.random.default_rng(0)
    W, x = generator.standard_normal((2, 3)), generator.standard_normal(3)
    return module, Objective(module, start={"c": 1.5, "W": W}, fixed={"x": x}, scale=scale), x


def test_pack_and_unpack_are_inverse_in_the_order_given_with_scales():
    _, objective, _ = _objective(scale={"c": 10.0})
    vector = objective.pack(objective.start)
    assert vector.shape == (1 + 6,) and vector[0] == 0.15
    back = objective.unpack(vector)
    assert list(back) == ["c", "W"] and back["c"] == 1.5
    np.testing.assert_array_equal(back["W"], objective.start["W"])


@pytest.mark.parametrize("scale", [(), {"c": 10.0, "W": 0.5}])
def test_gradient_and_hessian_products_match_the_module_and_each_other(scale):
    module, objective, x = _objective(scale)
    vector = objective.pack(objective.start)
    value, gradient = objective.fun(vector)
    expected_value, (dW, _, dc) = module.grad(objective.start["W"], x, objective.start["c"])
    assert value == expected_value
    sizes = {"c": 10.0, "W": 0.5} if scale else {"c": 1.0, "W": 1.0}
    np.testing.assert_allclose(gradient, np.concatenate([[dc * sizes["c"]],
                                                         dW.ravel() * sizes["W"]]))
    p = np.random.default_rng(1).standard_normal(vector.size)
    step = 1e-6
    difference = (objective.fun(vector + step * p)[1]
                  - objective.fun(vector - step * p)[1]) / (2 * step)
    np.testing.assert_allclose(objective.hessp(vector, p), difference, rtol=1e-6, atol=1e-8)


def test_inputs_must_be_fitted_or_fixed_and_the_module_must_have_hvp():
    module, objective, x = _objective()
    with pytest.raises(ValueError, match=r"missing \['x'\], unknown \['z'\]"):
        Objective(module, start={"c": 1.0, "W": np.ones((2, 3))}, fixed={"z": 1.0})
    plain = build(LAYER_LOSS)
    with pytest.raises(ValueError, match="compile it with --hvp"):
        Objective(plain, start={"c": 1.0}, fixed={"W": np.ones((2, 3)), "x": x})
    only_c = build(LAYER_LOSS, second_order=("jvp", "hvp"), wrt=["c"])
    with pytest.raises(ValueError, match=r"differentiates no \['W'\]"):
        Objective(only_c, start={"W": np.ones((2, 3))}, fixed={"c": 1.0, "x": x})


def _example():
    spec = importlib.util.spec_from_file_location("scipy_fit", EXAMPLES / "scipy_fit.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name.
    sys.modules.setdefault("scipy_fit", module)
    spec.loader.exec_module(sys.modules["scipy_fit"])
    module = sys.modules["scipy_fit"]
    return module


@pytest.mark.parametrize("name, start", [("Misra1a", 0), ("Misra1a", 1), ("DanWood", 0),
                                         ("DanWood", 1), ("BoxBOD", 0), ("BoxBOD", 1)])
def test_trust_ncg_with_hvp_reaches_the_certified_values(name, start):
    example = _example()
    problem = next(p for p in example.PROBLEMS if p.name == name)
    # SciPy may stop with "A bad approximation caused failure to predict
    # improvement" once rounding is all that is left: judged on the digits.
    result, found = example.fit(problem, problem.starts[start], "trust-ncg")
    for got, certified in zip(found, problem.certified):
        assert example.digits(got, certified) >= 8.5
    assert result.fun == pytest.approx(problem.residual, rel=1e-9)


def test_misra1a_from_nists_first_start_needs_the_scaling():
    example = _example()
    problem = example.PROBLEMS[0]
    _, found = example.fit(problem, problem.starts[0], "trust-ncg", scaled=False)
    assert example.digits(found[0], problem.certified[0]) < 2
