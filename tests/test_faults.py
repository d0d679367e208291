"""Faults found by using gradc from outside: each test pins one down with
the smallest formula that showed it."""

from __future__ import annotations

import pytest

from compiler import GradcError, compile_source


def _error(text: str, **options) -> str:
    with pytest.raises(GradcError) as caught:
        compile_source(text, **options)
    return f"{caught.value.span}: {caught.value.message}"


# -- an axis given to a number ------------------------------------------------

@pytest.mark.parametrize("function", ["sum", "mean", "logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("axis", ["0", "1"])
def test_an_axis_of_a_number_is_a_located_error(function, axis):
    assert _error(f"f = {function}(x, {axis})\n") == \
        f"1:5: {function}(x, {axis}): x is a number: {function} takes a vector or a matrix"


def test_an_axis_of_a_number_beside_arrays_is_a_located_error():
    assert _error("x: [D]\nf = sum(x) + mean(s, 1)\n") == \
        "2:14: mean(s, 1): s is a number: mean takes a vector or a matrix"


def test_an_axis_of_a_constant_is_a_located_error():
    assert _error("f = x * sum(2, 0)\n") == \
        "1:9: sum(2, 0): 2 is a number: sum takes a vector or a matrix"
