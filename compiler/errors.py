"""Source positions and the one error type every step raises.

A span travels with every AST and IR node, as the int a `Span` is, so that
any step can point at the text that caused a problem.  `GradcError` is the
only exception the CLI catches; `format_error` renders it the way
compilers do:

    expr.txt:1:15: error: expected ')' to close the '(' at 1:5
    f = (x + y * 2
                  ^
"""

from __future__ import annotations


# A span is one int.  The AST keeps a span per name, number and operator
# and per operator node, millions for a big file, as a plain int: 32 bytes,
# made by arithmetic alone, where a tuple of four was 80.  `Span` is the same
# int read as its fields (`Span.of`), which errors, `Stage.span` and the
# tools give.
#
# A span on one line whose columns fit in 16 bits is compact, bit 0 clear:
# from the top its line, column and end column, so that compact spans sort
# as their fields do.  Any other is wide, bit 0 set, a field per 64 bits.
_COLUMN_BITS = 16
_COLUMNS = (1 << _COLUMN_BITS) - 1
END_COLUMN_AT, COLUMN_AT, _LINE_AT = 1, 1 + _COLUMN_BITS, 1 + 2 * _COLUMN_BITS
END_COLUMN = _COLUMNS << END_COLUMN_AT
"""The bits of a compact span's end column."""
COLUMN_LIMIT = _COLUMNS - 1
"""The longest line whose spans are compact: the fast parser leaves a
longer one to Lark."""
_WIDE_BITS = 64
_WIDE = (1 << _WIDE_BITS) - 1
_WIDE_END_COLUMN_AT, _WIDE_END_LINE_AT, _WIDE_COLUMN_AT, _WIDE_LINE_AT = (
    1 + _WIDE_BITS * i for i in range(4))
_int_new = int.__new__


def location(line: int, column: int, end_line: int, end_column: int) -> int:
    """The int a span is, for whole numbers `line`, `column`, ... ."""
    if end_line == line and 0 <= column <= _COLUMNS and 0 <= end_column <= _COLUMNS:
        return line << _LINE_AT | column << COLUMN_AT | end_column << END_COLUMN_AT
    return 1 | line << _WIDE_LINE_AT | column << _WIDE_COLUMN_AT \
        | end_line << _WIDE_END_LINE_AT | end_column << _WIDE_END_COLUMN_AT


def token_origin(line: int, line_start: int) -> int:
    """For the parser, which makes a span per token in its hot loop: the
    span of offsets `start`..`end` of the text on `line`, which begins at
    offset `line_start` and is at most COLUMN_LIMIT long, is
    `(start << COLUMN_AT) + (end << END_COLUMN_AT) + token_origin(...)`."""
    return (line << _LINE_AT) + (1 - line_start) * ((1 << COLUMN_AT) + (1 << END_COLUMN_AT))


def between(first: int, last: int) -> int:
    """The span from `first`'s start to `last`'s end."""
    if not (first | last) & 1 and first >> _LINE_AT == last >> _LINE_AT:
        return first & ~END_COLUMN | last & END_COLUMN
    first, last = Span.of(first), Span.of(last)
    return location(first.line, first.column, last.end_line, last.end_column)


class Span(int):
    """A 1-based, inclusive start and exclusive end position in the source:
    `line`, `column`, `end_line`, `end_column`."""

    __slots__ = ()

    def __new__(cls, line: int, column: int, end_line: int, end_column: int) -> "Span":
        return _int_new(cls, location(line, column, end_line, end_column))

    @staticmethod
    def of(span: int) -> "Span":
        """The span whose int the AST holds (or a `Span` itself)."""
        return _int_new(Span, span)

    @staticmethod
    def between(first: int, last: int) -> "Span":
        return _int_new(Span, between(first, last))

    @property
    def line(self) -> int:
        return self >> _LINE_AT if not self & 1 else self >> _WIDE_LINE_AT

    @property
    def column(self) -> int:
        return (self >> COLUMN_AT) & _COLUMNS if not self & 1 \
            else (self >> _WIDE_COLUMN_AT) & _WIDE

    @property
    def end_line(self) -> int:
        return self >> _LINE_AT if not self & 1 else (self >> _WIDE_END_LINE_AT) & _WIDE

    @property
    def end_column(self) -> int:
        return (self >> END_COLUMN_AT) & _COLUMNS if not self & 1 \
            else (self >> _WIDE_END_COLUMN_AT) & _WIDE

    @property
    def start(self) -> tuple[int, int]:
        """(line, column), which orders positions in the text."""
        return self.line, self.column

    def __iter__(self):
        return iter((self.line, self.column, self.end_line, self.end_column))

    def __reduce__(self):
        return Span, tuple(self)

    def __repr__(self) -> str:
        return (f"Span(line={self.line}, column={self.column}, end_line={self.end_line}, "
                f"end_column={self.end_column})")

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class GradcError(Exception):
    """A problem with the user's input, located in the source when possible.

    `span` is None for problems that have no place in the text, such as a
    file that cannot be read.  The message starts lowercase and says what
    was expected.
    """

    def __init__(self, message: str, span: int | None = None):
        """`span`: a `Span`, or the int an AST node holds for one."""
        super().__init__(message)
        self.message = message
        self.span = None if span is None else Span.of(span)

    def __str__(self) -> str:
        return f"{self.span}: {self.message}" if self.span is not None else self.message


def format_error(error: GradcError, path: str, source: str | None) -> str:
    """`path:line:col: error: message`, the source line, and a caret."""
    if error.span is None:
        return f"{path}: error: {error.message}"
    line_no, column = error.span.line, error.span.column
    header = f"{path}:{line_no}:{column}: error: {error.message}"
    if source is None:
        return header
    lines = source.splitlines() or [""]  # an empty file's one line is empty
    if not 1 <= line_no <= len(lines):
        return header
    text = lines[line_no - 1]
    # Tabs keep their width in the caret line so the caret stays aligned.
    pad = "".join("\t" if ch == "\t" else " " for ch in text[: column - 1])
    return f"{header}\n{text}\n{pad}^"
