"""Source positions and the one error type every step raises.

A `Span` travels with every AST and IR node so that any step can point at
the text that caused a problem.  `GradcError` is the only exception the CLI
catches; `format_error` renders it the way compilers do:

    expr.txt:1:15: error: expected ')' to close the '(' at 1:5
    f = (x + y * 2
                  ^
"""

from __future__ import annotations

from typing import NamedTuple


class Span(NamedTuple):
    """A 1-based, inclusive start and exclusive end position in the source.

    A named tuple rather than a frozen dataclass: every token and node has
    one, and a tuple is made in a third of the time."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def between(first: "Span", last: "Span") -> "Span":
        return Span(first.line, first.column, last.end_line, last.end_column)

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class GradcError(Exception):
    """A problem with the user's input, located in the source when possible.

    `span` is None for problems that have no place in the text, such as a
    file that cannot be read.  The message starts lowercase and says what
    was expected.
    """

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        return f"{self.span}: {self.message}" if self.span else self.message


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
