"""Source text -> AST statements, quickly, for files that are plainly valid.

Lark's LALR parser (parse.py) defines the language and words every syntax
error, but its pure-Python lexer and parser cost about 7 µs a token: most of
the compile time of a big file.  This module reads the same tokens with one
regular expression and builds the same AST nodes (syntax.py) with an
operator-precedence parser whose stacks are lists, so deep nesting never
recurses.  At the first token that is not plainly valid it gives up and
returns None; parse.py then parses the whole file with Lark, which reports
the error exactly as before.  So it need only agree with Lark on valid
files, and tests/test_fastparse.py compares the two on every case file,
example and random near-formula.  What the two share is written once: the
terminals are read from grammar/gradc.lark, and names, implicit products
and statements are built by syntax.py's own functions.

Array syntax (declarations, `@`, `ᵀ`, `axis=`) is not plainly valid here:
array files are small, and Lark reads them.

Precedence, loosest first, as in grammar/gradc.lark: `+ -`; `* /` and
implicit multiplication (`2x`, whose right operand is a power); prefix
`- +`; `^`, right-associative, whose base is an atom.
"""

from __future__ import annotations

import math
import re

from compiler import gates
from compiler import resources
from compiler.errors import (COLUMN_AT, COLUMN_LIMIT, END_COLUMN, END_COLUMN_AT, GradcError,
                             token_origin)
from compiler.front.syntax import Apply, Name, Number, Statement, fold_text, implicit_product, statement

# The grammar's terminals, read from grammar/gradc.lark itself.
_TERMINAL = dict(re.findall(r"^([A-Z_]+): *(.+?) *$", resources.read_text("grammar", "gradc.lark"),
                            re.MULTILINE))


def _pattern(terminal: str) -> str:
    """A terminal's definition as a regular expression without groups:
    `/regex/` as written, or its `"literal" | ...` spellings, longest first,
    as Lark tries longer operators first (`**` before `*`)."""
    definition = _TERMINAL[terminal]
    if definition.startswith("/"):
        return definition[1:-1].replace("(", "(?:").replace("(?:?:", "(?:")
    return "|".join(map(re.escape, sorted(_spellings(terminal), key=len, reverse=True)))


def _spellings(terminal: str) -> list[str]:
    return re.findall(r'"([^"]+)"', _TERMINAL[terminal])


def _operator_levels(grammar: str) -> tuple[dict[str, int], dict[str, int], set[int]]:
    """Each binary operator's binding power, and each other alias's (the
    implicit product, the prefix sign), by the layer of the grammar's
    expression rules it appears in: the first rule with a binary operator
    binds loosest, at 1, and each rule it falls through to one tighter.
    Also the levels whose operators group to the right: those whose left
    operand is the next layer rather than the rule itself (`^`)."""
    rules = re.findall(r"^\?(\w+):(.*?)(?=^\S|\Z)", grammar, re.MULTILINE | re.DOTALL)
    loosest = next(i for i, (_, body) in enumerate(rules) if "-> binary" in body)
    binary: dict[str, int] = {}
    aliases: dict[str, int] = {}
    right: set[int] = set()
    for level, (rule, body) in enumerate(rules[loosest:], start=1):
        for left, terminal in re.findall(r"\b(\w+) ([A-Z]+) \w+ +-> binary", body):
            binary[terminal] = level
            if left != rule:
                right.add(level)
        for alias in re.findall(r"-> (implicit|unary)\b", body):
            aliases[alias] = level
    return binary, aliases, right


# `@` is array syntax, which Lark reads (above).
_LEVELS, _ALIAS_LEVELS, _RIGHT = _operator_levels(resources.read_text("grammar", "gradc.lark"))
del _LEVELS["MATMUL"]
_PRECEDENCE = {text: level for terminal, level in _LEVELS.items()
               for text in _spellings(terminal)}
_PREFIX = {text: terminal for terminal in ("MINUS", "PLUS") for text in _spellings(terminal)}

# One token after any blanks; blanks at the very end match no group.  Any
# terminal not named here (`@`, `ᵀ`, `[`) is `other`: Lark parses the file.
_TOKEN = re.compile(r"[ \t\f]*(?:" + "|".join(f"(?P<{group}>{pattern})" for group, pattern in (
    ("name", _pattern("NAME")), ("number", _pattern("NUMBER")),
    ("binary", "|".join(map(re.escape, sorted(_PRECEDENCE, key=len, reverse=True)))),
    ("lpar", _pattern("LPAR")),
    ("rpar", _pattern("RPAR")), ("comma", _pattern("COMMA")), ("newline", r"\r?\n"),
    ("semicolon", ";"), ("equals", _pattern("EQUALS")), ("comment", _pattern("COMMENT")),
    ("other", r"[^ \t\f]"))) + r")|[ \t\f]+")
_BRACKET, _IMPLICIT, _SIGN = 0, _ALIAS_LEVELS["implicit"], _ALIAS_LEVELS["unary"]
_GROUP, _CALL = "(", "call"
(_NAME, _NUMBER, _BINARY, _LPAR, _RPAR, _COMMA, _NEWLINE, _SEMICOLON, _EQUALS,
 _COMMENT) = (_TOKEN.groupindex[group] for group in (
    "name", "number", "binary", "lpar", "rpar", "comma", "newline", "semicolon", "equals",
    "comment"))
_GATE_NAMES = {text: gates.lookup(text).name for text in _PRECEDENCE}
_NAME_EDGES, _NUMBER_EDGES = Name._field_defaults["edges"], Number._field_defaults["edges"]

# Nodes are made by the tuple constructor itself: a named tuple's own
# `__new__` is a Python function, which doubles the cost of a node.  A span
# is an int (errors.py), made from a token's offsets by two shifts and two
# additions.
_tuple_new = tuple.__new__
_GROUP_EDGES, _CALL_EDGES = ("LPAR", "RPAR"), ("NAME", "RPAR")


class _GiveUp(Exception):
    """The text is not plainly valid: Lark must decide."""


def parse_valid(text: str) -> tuple[Statement, ...] | None:
    """The statements of `text`, or None if Lark must parse it."""
    try:
        return tuple(_statements(text))
    except (_GiveUp, GradcError):
        return None


def _statements(text: str) -> list[Statement]:
    """One loop over the tokens, its state in locals: the parser's state is
    read at every token, and a local is read in a fraction of the time of
    an attribute."""
    statements: list[Statement] = []
    names: dict[str, str] = {}  # each name as written -> as folded
    operands: list = []
    ops: list[tuple] = []  # (precedence, kind, text, span, operand count)
    target = None  # the expression left of '=' once it is read
    expect_operand, after_name = True, False
    line, line_start = 1, 0
    origin = token_origin(line, line_start)  # a token's span from its offsets
    for match in _TOKEN.finditer(text):
        index = match.lastindex
        if index == _NAME:  # the most frequent token first
            start, end = match.span(index)
            written = text[start:end]
            name = names.get(written)
            if name is None:
                name = names[written] = fold_text(written, None)
            if not expect_operand:
                _push(ops, operands, _IMPLICIT, "implicit", "", None)
            operands.append(_tuple_new(Name, (
                name, (start << COLUMN_AT) + (end << END_COLUMN_AT) + origin, _NAME_EDGES)))
            expect_operand, after_name = False, True
            continue
        if index is None or index == _COMMENT:
            continue  # `None`: blanks at the very end
        if index == _NEWLINE or index == _SEMICOLON:
            finished = _statement(target, ops, operands, expect_operand)
            if finished is not None:
                statements.append(finished)
                target, expect_operand, after_name = None, True, False
            if index == _NEWLINE:
                if match.end() - line_start > COLUMN_LIMIT:
                    raise _GiveUp  # a column too far right for a compact span
                line, line_start = line + 1, match.end()
                origin = token_origin(line, line_start)
            continue
        start, end = match.span(index)
        after_name_before, after_name = after_name, False
        if index == _BINARY:
            written = text[start:end]
            span = (start << COLUMN_AT) + (end << END_COLUMN_AT) + origin
            if expect_operand:
                if written not in _PREFIX:
                    raise _GiveUp
                ops.append((_SIGN, _PREFIX[written], written, span, 0))
            else:
                _push(ops, operands, _PRECEDENCE[written], "binary", _GATE_NAMES[written], span)
                expect_operand = True
        elif index == _LPAR:
            if after_name_before:
                # NAME '(' is always a call, as in the LALR parser.
                func = operands.pop()
                ops.append((_BRACKET, _CALL, func.id, func.span, len(operands)))
            else:
                if not expect_operand:
                    _push(ops, operands, _IMPLICIT, "implicit", "", None)
                ops.append((_BRACKET, _GROUP, text[start:end],
                            (start << COLUMN_AT) + (end << END_COLUMN_AT) + origin, len(operands)))
            expect_operand = True
        elif index == _RPAR:
            _, kind, func, span, count = _reduce_to_bracket(ops, operands, expect_operand)
            whole = span & ~END_COLUMN | (end - line_start + 1) << END_COLUMN_AT
            if kind == _GROUP:
                if len(operands) != count + 1:
                    raise _GiveUp
                inner = operands.pop()
                operands.append(inner._replace(span=whole, edges=_GROUP_EDGES))
            else:
                args = tuple(operands[count:])
                del operands[count:]
                operands.append(_tuple_new(Apply, (func, args, whole, span, True, _CALL_EDGES)))
        elif index == _NUMBER:
            written = text[start:end]
            value = float(written)
            if not math.isfinite(value):
                raise _GiveUp
            if not expect_operand:
                _push(ops, operands, _IMPLICIT, "implicit", "", None)
            span = (start << COLUMN_AT) + (end << END_COLUMN_AT) + origin
            operands.append(_tuple_new(Number, (value, written.isdigit(), span, _NUMBER_EDGES)))
            expect_operand = False
        elif index == _COMMA:
            bracket = _reduce_to_bracket(ops, operands, expect_operand)
            if bracket[1] != _CALL:
                raise _GiveUp
            ops.append(bracket)
            expect_operand = True
        elif index == _EQUALS:
            if target is not None or expect_operand:
                raise _GiveUp
            target = _finished(ops, operands, expect_operand)
            expect_operand = True
        else:
            raise _GiveUp
    if len(text) - line_start > COLUMN_LIMIT:
        raise _GiveUp
    finished = _statement(target, ops, operands, expect_operand)
    if finished is not None:
        statements.append(finished)
    return statements


def _statement(target, ops: list, operands: list, expect_operand: bool):
    """The statement a line ends, or None for a line without one."""
    if expect_operand and not operands and not ops:
        if target is not None:
            raise _GiveUp
        return None
    return statement(target, _finished(ops, operands, expect_operand))


def _finished(ops: list, operands: list, expect_operand: bool):
    """The statement's expression so far, with every operator applied."""
    if expect_operand:
        raise _GiveUp
    while ops:
        if ops[-1][0] == _BRACKET:
            raise _GiveUp
        _reduce(ops, operands)
    (value,) = operands
    operands.clear()
    return value


def _push(ops: list, operands: list, precedence: int, kind: str, text: str, span) -> None:
    # `^` is right-associative: an equal power stays on the stack.
    while ops and ops[-1][0] >= precedence and precedence not in _RIGHT:
        _reduce(ops, operands)
    ops.append((precedence, kind, text, span, 0))


def _reduce(ops: list, operands: list) -> None:
    _, kind, text, span, _ = ops.pop()
    right = operands.pop()
    if kind == "binary":
        left = operands.pop()
        node = _tuple_new(Apply, (text, (left, right), _between(left.span, right.span), span,
                                  False, _edges(left.edges[0], right.edges[1])))
    elif kind == "implicit":
        node = implicit_product(operands.pop(), right)
    elif kind == "MINUS":
        node = _tuple_new(Apply, (gates.NEG, (right,), _between(span, right.span), span,
                                  False, _edges(kind, right.edges[1])))
    else:
        node = right._replace(span=_between(span, right.span),
                              edges=_edges(kind, right.edges[1]))
    operands.append(node)


def _reduce_to_bracket(ops: list, operands: list, expect_operand: bool) -> tuple:
    """Reduces the operators after the innermost '(' and pops it."""
    if expect_operand:
        raise _GiveUp
    while ops and ops[-1][0] != _BRACKET:
        _reduce(ops, operands)
    if not ops:
        raise _GiveUp
    return ops.pop()


_EDGE_PAIRS: dict[tuple[str, str], tuple[str, str]] = {}


def _edges(first: str, last: str) -> tuple[str, str]:
    """The pair, shared: a handful of pairs for a node per operator."""
    pair = first, last
    return _EDGE_PAIRS.setdefault(pair, pair)


def _between(first: int, last: int) -> int:
    """`errors.between` for spans of one line, as every span here is."""
    return first & ~END_COLUMN | last & END_COLUMN
