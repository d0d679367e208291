"""A span is one int that reads as its four fields: the same positions,
messages and order as the named tuple it replaced, however long a line."""

from __future__ import annotations

import copy
import pickle

import pytest

from compiler import GradcError, Span
from compiler.errors import COLUMN_LIMIT, format_error
from compiler.front.parse import parse

FIELDS = [(1, 1, 1, 1), (3, 5, 3, 9), (470_000, 12, 470_000, 40), (2, 7, 5, 3),
          (1, COLUMN_LIMIT, 1, COLUMN_LIMIT + 1), (9, 70_000, 9, 70_004), (2**40, 3, 2**40, 4)]


@pytest.mark.parametrize("fields", FIELDS)
def test_a_span_reads_as_its_fields(fields):
    span = Span(*fields)
    assert (span.line, span.column, span.end_line, span.end_column) == fields
    assert tuple(span) == fields
    assert str(span) == f"{fields[0]}:{fields[1]}" == f"{span}"
    assert repr(span) == ("Span(line={}, column={}, end_line={}, end_column={})"
                          .format(*fields))
    assert pickle.loads(pickle.dumps(span)) == span == copy.deepcopy(span)
    assert type(pickle.loads(pickle.dumps(span))) is Span
    assert {Span(*fields): 1}[span] == 1


def test_spans_sort_as_their_fields_on_one_line():
    fields = [(2, 1, 2, 3), (1, 9, 1, 10), (1, 2, 1, 20), (1, 2, 1, 3), (10, 1, 10, 2)]
    assert [tuple(span) for span in sorted(Span(*f) for f in fields)] == sorted(fields)


@pytest.mark.parametrize("first, last", [((1, 2, 1, 4), (1, 8, 1, 12)),
                                         ((1, 2, 1, 4), (3, 1, 3, 6)),
                                         ((1, 2, 1, 4), (1, 80_000, 1, 80_003)),
                                         ((2, 7, 5, 3), (6, 1, 6, 2))])
def test_between_runs_from_the_first_start_to_the_last_end(first, last):
    assert tuple(Span.between(Span(*first), Span(*last))) == (*first[:2], *last[2:])


def test_a_line_too_long_for_a_compact_span_is_located_as_written():
    # The fast parser leaves such a line to Lark, whose spans are wide.
    line = "f(x) = x" + " + x" * 20_000
    (statement,) = parse(line)
    last = statement.value.args[1]
    assert tuple(Span.of(last.span)) == (1, len(line), 1, len(line) + 1)
    with pytest.raises(GradcError) as caught:
        parse(line + " + )")
    assert format_error(caught.value, "long.txt", line + " + )").splitlines()[0] == \
        f"long.txt:1:{len(line) + 4}: error: expected an operand after '+'"
