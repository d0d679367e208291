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


class _CountedReads(dict):
    """The last reads of grad's lines, counting how often they are looked up."""

    lookups = 0

    def __getitem__(self, key):
        type(self).lookups += 1
        return super().__getitem__(key)


def test_grad_s_writes_in_place_look_at_each_line_a_bounded_number_of_times(monkeypatch):
    """A chain of sums, each written into the array of the one before: the
    lines an array has held are not gone over again at every line."""
    from compiler.emit import in_place
    last_reads = in_place._last_reads
    monkeypatch.setattr(in_place, "_last_reads",
                        lambda *args: _CountedReads(last_reads(*args)))
    terms = 2_000
    compile_source("x: [D]\nf = sum(" + " * ".join(["x"] * terms) + ")\n")
    assert 0 < _CountedReads.lookups <= 4 * terms
