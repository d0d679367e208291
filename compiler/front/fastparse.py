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
from compiler.errors import GradcError, Span
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
_NAME, _NEWLINE = _TOKEN.groupindex["name"], _TOKEN.groupindex["newline"]
_NAME_EDGES, _NUMBER_EDGES = Name._field_defaults["edges"], Number._field_defaults["edges"]

# Nodes and spans are made by the tuple constructor itself: a named tuple's
# own `__new__` is a Python function, which doubles the cost of a node.
_tuple_new = tuple.__new__
_GROUP_EDGES, _CALL_EDGES = ("LPAR", "RPAR"), ("NAME", "RPAR")


class _GiveUp(Exception):
    """The text is not plainly valid: Lark must decide."""


def parse_valid(text: str) -> tuple[Statement, ...] | None:
    """The statements of `text`, or None if Lark must parse it."""
    parser = _Parser()
    try:
        parser.run(text)
    except (_GiveUp, GradcError):
        return None
    return tuple(parser.statements)


class _Parser:
    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.names: dict[str, str] = {}
        self.gate_names = {op: gates.lookup(op).name for op in _PRECEDENCE}
        # One list each for the whole file, so that `run` may hold them.
        self.operands: list = []
        self.ops: list[tuple] = []  # (precedence, kind, text, span, operand count)
        self._begin()

    def _begin(self) -> None:
        self.operands.clear()
        self.ops.clear()
        self.expect_operand = True
        self.target = None
        self.after_name = False

    def run(self, text: str) -> None:
        line, line_start = 1, 0
        handlers = (None, None, self._number, self._binary, self._lpar, self._rpar,
                    self._comma, None, self._end, self._equals, _skip, _give_up)
        names, operands = self.names, self.operands
        for match in _TOKEN.finditer(text):
            index = match.lastindex
            if index == _NAME:
                # The most frequent token: its operand is pushed here, to
                # save a call per name.
                start, end = match.span(index)
                written = text[start:end]
                name = names.get(written) or self._new_name(written)
                if not self.expect_operand:
                    self._push_operator(_IMPLICIT, "implicit", "", None)
                operands.append(_tuple_new(Name, (name, _tuple_new(Span, (
                    line, start - line_start + 1, line, end - line_start + 1)), _NAME_EDGES)))
                self.expect_operand = False
                self.after_name = True
            elif index == _NEWLINE:
                self._end()
                line, line_start = line + 1, match.end()
            elif index is not None:
                # The other handlers make a span only where a node keeps one.
                start, end = match.span(index)
                handlers[index](text[start:end], line, start - line_start + 1,
                                end - line_start + 1)
        self._end()

    # -- operands ----------------------------------------------------------

    def _juxtapose(self) -> None:
        if not self.expect_operand:
            # Implicit multiplication: `2x`, `(x + y)z`, `3σ(x)`.
            self._push_operator(_IMPLICIT, "implicit", "", None)

    def _operand(self, node) -> None:
        self._juxtapose()
        self.operands.append(node)
        self.expect_operand = False

    def _new_name(self, text: str) -> str:
        name = self.names[text] = fold_text(text, None)
        return name

    def _number(self, text: str, line: int, column: int, end: int) -> None:
        value = float(text)
        if not math.isfinite(value):
            raise _GiveUp
        span = _tuple_new(Span, (line, column, line, end))
        self._operand(_tuple_new(Number, (value, text.isdigit(), span, _NUMBER_EDGES)))
        self.after_name = False

    # -- operators ---------------------------------------------------------

    def _binary(self, text: str, line: int, column: int, end: int) -> None:
        self.after_name = False
        span = _tuple_new(Span, (line, column, line, end))
        if self.expect_operand:
            if text not in _PREFIX:
                raise _GiveUp
            self.ops.append((_SIGN, _PREFIX[text], text, span, 0))
            return
        precedence = _PRECEDENCE[text]
        self._push_operator(precedence, "binary", self.gate_names[text], span)
        self.expect_operand = True

    def _push_operator(self, precedence: int, kind: str, text: str, span) -> None:
        ops = self.ops
        # `^` is right-associative: an equal power stays on the stack.
        while ops and ops[-1][0] >= precedence and precedence not in _RIGHT:
            self._reduce()
        ops.append((precedence, kind, text, span, 0))

    def _reduce(self) -> None:
        _, kind, text, span, _ = self.ops.pop()
        right = self.operands.pop()
        if kind == "binary":
            left = self.operands.pop()
            node = _tuple_new(Apply, (text, (left, right), _between(left.span, right.span), span,
                                      False, _edges(left.edges[0], right.edges[1])))
        elif kind == "implicit":
            node = implicit_product(self.operands.pop(), right)
        elif kind == "MINUS":
            node = _tuple_new(Apply, (gates.NEG, (right,), _between(span, right.span), span,
                                      False, _edges(kind, right.edges[1])))
        else:
            node = right._replace(span=_between(span, right.span),
                                  edges=_edges(kind, right.edges[1]))
        self.operands.append(node)

    def _reduce_to_bracket(self) -> tuple:
        """Reduces the operators after the innermost '(' and pops it."""
        if self.expect_operand:
            raise _GiveUp
        ops = self.ops
        while ops and ops[-1][0] != _BRACKET:
            self._reduce()
        if not ops:
            raise _GiveUp
        return ops.pop()

    # -- brackets and statements ---------------------------------------------

    def _lpar(self, text: str, line: int, column: int, end: int) -> None:
        if self.after_name:
            # NAME '(' is always a call, as in the LALR parser.
            self.after_name = False
            func = self.operands.pop()
            self.ops.append((_BRACKET, _CALL, func.id, func.span, len(self.operands)))
            self.expect_operand = True
            return
        self._juxtapose()
        self.ops.append((_BRACKET, _GROUP, text, _tuple_new(Span, (line, column, line, end)),
                         len(self.operands)))
        self.expect_operand = True

    def _rpar(self, text: str, line: int, column: int, end: int) -> None:
        self.after_name = False
        _, kind, func, span, count = self._reduce_to_bracket()
        whole = _tuple_new(Span, (span[0], span[1], line, end))
        if kind == _GROUP:
            if len(self.operands) != count + 1:
                raise _GiveUp
            inner = self.operands.pop()
            node = inner._replace(span=whole, edges=_GROUP_EDGES)
        else:
            args = tuple(self.operands[count:])
            del self.operands[count:]
            node = _tuple_new(Apply, (func, args, whole, span, True, _CALL_EDGES))
        self.operands.append(node)

    def _comma(self, *_token) -> None:
        self.after_name = False
        bracket = self._reduce_to_bracket()
        if bracket[1] != _CALL:
            raise _GiveUp
        self.ops.append(bracket)
        self.expect_operand = True

    def _equals(self, *_token) -> None:
        self.after_name = False
        if self.target is not None or self.expect_operand:
            raise _GiveUp
        self.target = self._finished()
        self.expect_operand = True

    def _finished(self):
        """The statement's expression so far, with every operator applied."""
        if self.expect_operand:
            raise _GiveUp
        while self.ops:
            if self.ops[-1][0] == _BRACKET:
                raise _GiveUp
            self._reduce()
        (value,) = self.operands
        self.operands.clear()
        return value

    def _end(self, *_token) -> None:
        if self.expect_operand and not self.operands and not self.ops:
            if self.target is not None:
                raise _GiveUp
            return
        value = self._finished()
        self.statements.append(statement(self.target, value))
        self._begin()


_EDGE_PAIRS: dict[tuple[str, str], tuple[str, str]] = {}


def _edges(first: str, last: str) -> tuple[str, str]:
    """The pair, shared: a handful of pairs for a node per operator."""
    pair = first, last
    return _EDGE_PAIRS.setdefault(pair, pair)


def _between(first: Span, last: Span) -> Span:
    return _tuple_new(Span, (first[0], first[1], last[2], last[3]))


def _skip(*_token) -> None:
    pass


def _give_up(*_token) -> None:
    raise _GiveUp
