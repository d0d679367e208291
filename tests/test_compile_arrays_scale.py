"""Array files compile in time linear in their size (benchmarks/compile_arrays.py
measures it against the same formula over numbers)."""

from __future__ import annotations

import numpy as np

from compiler import GradcError, compile_source
from conftest import build

TERMS = 20_000


def test_a_sum_of_twenty_thousand_array_terms_compiles():
    module = build("x: [D]\nf = sum(" + " + ".join(["x"] * TERMS) + ")\n")
    value, (dx,) = module.grad(np.array([0.5, -1.0]))
    assert value == -0.5 * TERMS
    np.testing.assert_array_equal(dx, [TERMS, TERMS])


def test_a_shape_error_still_spells_its_operands_as_written():
    try:
        compile_source("x: [D]\ny: [C]\nf = sum(x + x + y)\n")
    except GradcError as error:
        assert str(error) == ("3:15: (x + x) + y: x + x is [D] and y is [C]; shapes broadcast "
                              "only where their dimensions agree from the last axis "
                              "(D and C differ)")
    else:
        raise AssertionError("a sum of [D] and [C] compiled")
