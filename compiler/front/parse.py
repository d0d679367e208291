"""Source text -> AST statements, with Lark's LALR parser.

A file that is plainly valid is read by `fastparse`, which builds the same
AST three times faster; anything else is parsed again by Lark, which
reports the error.  The grammar is loaded once per process, when first
needed.  Lark's AST is built during the parse by `syntax.AstBuilder` (its
inline transformer), so no parse tree is kept and deep nesting never
recurses.  Lark's failures become `GradcError`s
whose message is chosen by `match_examples`: the failing parser state is
compared with the states reached by the curated wrong inputs below.
"""

from __future__ import annotations

import functools
import gc
import re

from typing import TYPE_CHECKING

from compiler import resources
from compiler.errors import GradcError, Span
from compiler.front.fastparse import parse_valid
from compiler.front.syntax import AstBuilder, Statement

if TYPE_CHECKING:  # Lark is imported only when the fast parser gives up
    from lark import Lark, UnexpectedCharacters, UnexpectedInput

# Each label's examples fail in the parser state that the message explains.
# Placeholders: {token} is the offending text, {before} the operator just
# before it, {open} the position of the unclosed '('.
_WRONG_INPUTS: dict[str, list[str]] = {
    "expected ')' to close the '(' at {open}": [
        "f = (x + y * 2", "f = (x", "f = σ(x", "f = max(x, y", "(x + y", "σ(x",
        "f = (x + y) * (z", "f = (x + y\n", "f = σ(x\n",
    ],
    "expected an operand after '{before}'": [
        "f = x +", "f = x -", "f = x *", "f = x /", "f = x ^", "x +", "x *", "f = x @", "x @",
        "x ^", "f = -", "f = x + -", "x +\n", "x *\n", "f = x ^\n", "f = x + -\n",
        "f = (x +)", "f = (x *)", "f = max(x +, y)", "f = max(x, y *)",
    ],
    "'{token}' cannot follow a power operator: write one '^' (or '**') for a power": [
        "f = x ^^ 2", "f = x ^ ^ 2", "f = x ** ^ 2", "f = x ^ ** 2", "f = x ** ** 2",
    ],
    "expected an expression after '='": ["f =", "x =", "f =\n", "x = \n", "f(x) =\n"],
    "expected an expression inside '()'": ["f = ()", "f = x * ()", "()"],
    "expected an argument: a function takes at least one": ["f = σ()", "f = max()"],
    "unmatched ')': no '(' is open here": ["f = x + y)", "x)", "f = (x))", "f = σ(x))"],
    "expected an argument after ','": ["f = max(x, )", "f = max(x,)", "f = max(, x)"],
    "',' separates a function's arguments: write max(x, y) or an operator": [
        "f = x, y", "x, y", "f = (x, y)",
    ],
    "expected one '=' per statement: put each stage on its own line": [
        "f = x = y", "x = y = 3", "f = (x = 3)",
    ],
    "expected an expression before '{token}'": [
        "f = * x", "* x", "= x", "f = / x", "f = ^ x", "f = x + * y", "f = x * / y",
        "/ x", "^ x", "f = max(*x)", "f = (* x)",
    ],
    "expected ']' to close the shape's '['": ["X: [N, D", "X: [N", "X: [N,\n", "f(X: [N) = X"],
    "expected a dimension, a name or a whole number, in the shape": [
        "X: []", "X: [N, ]", "X: [, N]", "X: [N × ]", "f(X: []) = X",
    ],
    "expected ',' or '×' between the dimensions of a shape": ["X: [N D]", "X: [2 3]"],
    "expected a shape in brackets after ':', as in X: [N, D]": [
        "X: N", "X:", "X: (N, D)", "f(X: N) = X", "X:\n",
    ],
    "expected an operator or a new line before '{token}'": [
        "f = (x) )", "f = x ) y", "f = max(x, y) )",
    ],
}


# A parser state includes the depth of its stack, which differs between a
# file's first statement and any later one; so each example is matched in
# both places.
_EXAMPLES = {label: examples + ["\n" + example for example in examples]
             for label, examples in _WRONG_INPUTS.items()}


@functools.cache
def _parser() -> Lark:
    from lark import Lark

    return Lark(resources.read_text("grammar", "gradc.lark"), parser="lalr",
                transformer=AstBuilder(), maybe_placeholders=False)


def parse(text: str) -> tuple[Statement, ...]:
    """Parse a whole formula file into its statements."""
    # The cyclic GC would walk the growing AST again and again (quadratic
    # time on big files); nothing allocated here forms cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        statements = parse_valid(text)
        return statements if statements is not None else _parsed_by_lark(text)
    finally:
        if was_enabled:
            gc.enable()


def _parsed_by_lark(text: str) -> tuple[Statement, ...]:
    from lark import UnexpectedInput

    try:
        return _parser().parse(text)
    except UnexpectedInput as failure:
        raise _explain(failure, text) from None


def _explain(failure: UnexpectedInput, text: str) -> GradcError:
    from lark import UnexpectedCharacters, UnexpectedToken

    if isinstance(failure, UnexpectedCharacters):
        return _stray_character(failure, text)
    token = failure.token if isinstance(failure, UnexpectedToken) else None
    span = _failure_span(token, text)
    shape_message = _shape_mistake(failure, token) or _indexing(token, text)
    if shape_message:
        return GradcError(shape_message, span)
    try:
        label = failure.match_examples(_parse_example, _EXAMPLES, use_accepts=True)
    except TypeError:
        # Lark 1.3 formats a debug message with '%d' and a parser state
        # when an example reaches the same state with other accepts.
        label = None
    shown = _shown(token)
    if label is None:
        return GradcError(_shape_fallback(failure) or _fallback(shown), span)
    return GradcError(label.format(token=shown, before=_operator_before(text, span),
                                   open=_unclosed_paren(text, span)), span)


def _shape_mistake(failure: UnexpectedInput, token) -> str | None:
    """Mistakes around a declaration, told by the tokens rather than by the
    parser state: a ':' fails in a different state after every kind of
    operand, and only the shape rule expects '[' or ']'."""
    if token is not None and token.type == "COLON":
        return "a shape is declared in a signature or on a line of its own, as in X: [N, D]"
    history = getattr(failure, "token_history", None) or ()
    if history and getattr(history[-1], "type", None) == "RSQB":
        return "expected a new line after a shape (in a signature, ',' or ')')"
    return None


# Where an operand's text ends: a '[' or '.' after one is NumPy's
# indexing or attribute, not a shape or a number.
_OPERAND_END = re.compile(r"(?:[^\W\d][^\Wᵀ]*|[)\]ᵀ])[ \t]*$")
# A statement that is a name and a shape: a declaration without its ':'.
_UNMARKED_SHAPE = re.compile(r"(?:^|;)[ \t]*[^\W\d][^\Wᵀ]*[ \t]*\[[\w ,×\t]*\][ \t]*(?:#.*)?$")
# The same in a signature: `f(X [N, D]) = ...`, before the line's '='.
_UNMARKED_PARAMETER = re.compile(
    r"^[ \t]*[^\W\d][^\Wᵀ]*[ \t]*\([^()=]*?[^\W\d][^\Wᵀ]*[ \t]*\[[\w ,×\t]*\][^=]*\)[ \t]*=")


def _indexing(token, text: str) -> str | None:
    """`x[0]`, `x[0:2]`, `probs[range(N), y]`: the parser fails at the '['
    in whichever state the operand left it, so the token tells."""
    if token is None or token.type != "LSQB" or token.line is None:
        return None
    line = text.splitlines()[token.line - 1]
    if not _OPERAND_END.search(line[: token.column - 1]):
        return None
    if _UNMARKED_SHAPE.search(line) or _UNMARKED_PARAMETER.search(line):
        return "expected ':' between the name and its shape, as in X: [N, D]"
    return ("indexing is not part of the language, which works on whole arrays: for each "
            "row's entry at its label, as S[range(N), y], declare the labels y: [N] of C "
            "and write pick(S, y), or onehot(y) * S")


def _shape_fallback(failure: UnexpectedInput) -> str | None:
    """Inside a shape, for what the examples above do not cover."""
    expected = set(getattr(failure, "expected", None) or ())
    if "LSQB" in expected or "RSQB" in expected or expected == {"NAME", "NUMBER"}:
        return ("a shape is one or two dimensions in brackets, separated by ',' or "
                "'×', as in [N, D] or [5 × 10]")
    return None


def _parse_example(text: str) -> None:
    # Parser states are numbered per Lark instance, so the examples must run
    # through the very parser that failed; one that trips gradc's own checks
    # in the AST builder simply matches nothing.
    try:
        _parser().parse(text)
    except GradcError:
        pass


def _stray_character(failure: UnexpectedCharacters, text: str) -> GradcError:
    char = text[failure.pos_in_stream]
    span = Span(failure.line, failure.column, failure.line, failure.column + 1)
    shown = char if char.isprintable() else repr(char)[1:-1]
    hint = _attribute(text, failure.pos_in_stream) if char == "." else None
    return GradcError(hint or f"unexpected character '{shown}': expected a name, a number, "
                      "an operator (+ - * / ^), a parenthesis or a comma", span)


def _attribute(text: str, position: int) -> str | None:
    """NumPy's `W.T` and `W.dot(X)` in the language's own notation."""
    before = text[text.rfind("\n", 0, position) + 1: position]
    operand = _OPERAND_END.search(before)
    if operand is None:
        return None
    name = operand.group().rstrip()
    if not (name[0].isalpha() or name[0] == "_") or name.endswith("ᵀ"):
        name = "(...)"
    inner = "..." if name == "(...)" else name
    after = text[position + 1:]
    if re.match(r"T(?![^\W])", after):
        return f"'.T' is not part of the language: write {name}ᵀ or transpose({inner}) " \
               "for the transpose"
    product = re.match(r"dot\(([^\W\d]\w*)\)", after)
    if product:
        return f"'.dot' is not part of the language: write {name} @ {product.group(1)} " \
               "for the matrix product"
    return ("'.' is not part of the language, which has no attributes or methods: write "
            f"{name}ᵀ for the transpose, {name} @ X for the matrix product, and functions "
            f"as calls, sum({inner})")


def _shown(token) -> str:
    if token is None or token.type in ("$END", "_SEP"):
        return "the end of the line"
    return str(token)


def _fallback(shown: str) -> str:
    return f"unexpected {shown!s}: expected an operator, an operand or a new line"


def _failure_span(token, text: str) -> Span:
    if token is not None and token.type != "$END" and token.line is not None:
        return Span(token.line, token.column, token.end_line, token.end_column)
    lines = text.splitlines() or [""]
    # A failure at the end of the text points just past its last character.
    if text.endswith(("\n", "\r")):
        lines.append("")
    return Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 1)


def _operator_before(text: str, span: Span) -> str:
    """The operator written just before the failure (`**` is one operator)."""
    lines = text.splitlines()
    line = lines[span.line - 1][: span.column - 1].rstrip() if span.line <= len(lines) else ""
    return "**" if line.endswith("**") else line[-1:]


def _unclosed_paren(text: str, span: Span) -> str:
    """Where the innermost '(' still open before the failure was written."""
    lines = text.splitlines()
    if not 1 <= span.line <= len(lines):
        return "?"
    line = lines[span.line - 1][: span.column - 1]
    open_columns: list[int] = []
    for column, char in enumerate(line, start=1):
        if char == "#":
            break
        if char == ";":
            open_columns.clear()
        elif char == "(":
            open_columns.append(column)
        elif char == ")" and open_columns:
            open_columns.pop()
    return f"{span.line}:{open_columns[-1]}" if open_columns else "?"
