"""Big and deep inputs: every step is iterative, so size is never a stack limit.

Python's own recursion limit is about 1,000 frames, so 10,000 levels of
nesting prove that no step (parse, resolve, stage, the passes, adjoint,
emit, render) recurses per level.  Timing belongs in benchmarks/, not here.
"""

from __future__ import annotations

import math
import sys

import pytest

from conftest import ROOT, build

sys.path.insert(0, str(ROOT / "benchmarks"))
from random_circuit import circuit  # noqa: E402

DEPTH = 10_000


def test_ten_thousand_nested_calls_compile_and_import():
    module = build("f = " + "σ(" * DEPTH + "x" + ")" * DEPTH)
    value, (dx,) = module.grad(0.3)
    expected, slope = 0.3, 1.0
    for _ in range(DEPTH):
        expected = 1.0 / (1 + math.exp(-expected))
        slope *= expected * (1 - expected)
    assert value == pytest.approx(expected, rel=1e-12)
    assert dx == pytest.approx(slope, rel=1e-9)


def test_ten_thousand_nested_parentheses_compile_and_import():
    module = build("f = " + "(" * DEPTH + "x" + " + 1)" * DEPTH)
    assert module.grad(0.5) == (0.5 + DEPTH, (1.0,))


def test_a_right_nested_power_tower_of_depth_ten_thousand_compiles():
    # `^` is right-associative: x^x^...^x nests to the right, unlike + above.
    module = build("f = " + "^".join(["x"] * DEPTH))
    value, (dx,) = module.grad(1.0)
    assert (value, dx) == (1.0, 1.0)


def test_a_random_circuit_of_five_thousand_gates_compiles_and_agrees_unoptimized():
    text = circuit(5_000, seed=3)
    point = [0.1 * (i - 3.5) for i in range(8)]
    value, gradient = build(text).grad(*point)
    plain_value, plain_gradient = build(text, fold=False, cse=False, dce=False).grad(*point)
    assert value == pytest.approx(plain_value, rel=1e-12)
    assert gradient == pytest.approx(plain_gradient, rel=1e-9, abs=1e-12)
    assert all(math.isfinite(g) for g in gradient) and any(g != 0 for g in gradient)


def test_the_random_circuit_is_seeded_and_every_stage_is_live():
    from compiler.driver import staged_ir
    assert circuit(500, seed=1) == circuit(500, seed=1) != circuit(500, seed=2)
    text = circuit(2_000)
    # Dead-code elimination finds nothing to drop; a few repeats (σ of one
    # input drawn twice) are merged by CSE.
    assert staged_ir(text, dce=False).stages == staged_ir(text).stages
    assert 1_900 <= len(staged_ir(text).stages) <= 2_100
