"""Parse tree -> AST: frozen dataclasses that carry source spans.

`AstBuilder` runs inside the LALR parser (Lark's inline `transformer=`), so
no parse tree is ever built and no recursion happens, however deep the
nesting.  It folds every alternative spelling into one: `−` `·` `×` `÷` `**`
into their operators, and subscript digits and other compatibility forms of
names by NFKC (the normalisation Python itself applies to identifiers, so a
name means the same thing to gradc and to the generated module).

Function names stay as written; `resolve` maps them to gates, so that an
unknown function is reported with the program's full knowledge.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Callable, NamedTuple, Union

from lark import Token, Transformer

from . import gates
from .errors import GradcError, Span


# Expression nodes are named tuples: immutable like the frozen dataclasses
# used elsewhere, and made three times as fast, which counts at a node per
# token.  `edges`, the kinds of the first and last token, decide where
# implicit multiplication may go.

class Number(NamedTuple):
    value: float
    integral: bool
    span: Span
    edges: tuple[str, str] = ("NUMBER", "NUMBER")


class Name(NamedTuple):
    id: str
    span: Span
    edges: tuple[str, str] = ("NAME", "NAME")


class Apply(NamedTuple):
    """An operator or a function call.  `func` is a gate name for operators
    and the name as written (NFKC) for calls; `func_span` locates it."""

    func: str
    args: tuple["Expr", ...]
    span: Span
    func_span: Span
    is_call: bool = False
    edges: tuple[str, str] = ("", "")


Expr = Union[Number, Name, Apply]


@dataclass(frozen=True, slots=True)
class Assign:
    """`name = expr`: a named stage."""

    target: Name
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Signature:
    """`f(x, y) = expr`: names the output and fixes the inputs' order."""

    target: Name
    params: tuple[Name, ...]
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Bare:
    """A bare expression; allowed only as the last statement."""

    value: Expr
    span: Span


Statement = Union[Assign, Signature, Bare]


def token_span(token: Token) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


def fold_name(token: Token) -> str:
    name = unicodedata.normalize("NFKC", str(token))
    if not name.isidentifier():
        raise GradcError(f"'{name}' is not a valid name: start a name with a letter or '_'",
                         token_span(token))
    return name


def _binary_gate(token: Token) -> str:
    return gates.lookup(str(token)).name


class AstBuilder(Transformer):
    """One method per grammar alias; each returns an AST node."""

    def number(self, children):
        (token,) = children
        text = str(token)
        value = float(text)
        if not math.isfinite(value):
            raise GradcError("number too large for a 64-bit float", token_span(token))
        return Number(value, text.isdigit(), token_span(token))

    def name(self, children):
        (token,) = children
        return Name(fold_name(token), token_span(token))

    def call(self, children):
        func, _, arguments, close = children
        span = Span.between(token_span(func), token_span(close))
        return Apply(fold_name(func), tuple(arguments), span, token_span(func),
                     is_call=True, edges=("NAME", "RPAR"))

    def arguments(self, children):
        return [child for child in children if not isinstance(child, Token)]

    def group(self, children):
        open_, inner, close = children
        span = Span.between(token_span(open_), token_span(close))
        return inner._replace(span=span, edges=("LPAR", "RPAR"))

    def binary(self, children):
        left, op, right = children
        return Apply(_binary_gate(op), (left, right), Span.between(left.span, right.span),
                     token_span(op), edges=(left.edges[0], right.edges[1]))

    def unary(self, children):
        op, operand = children
        span = Span.between(token_span(op), operand.span)
        if op.type == "PLUS":
            return operand._replace(span=span, edges=(op.type, operand.edges[1]))
        return Apply("neg", (operand,), span, token_span(op), edges=(op.type, operand.edges[1]))

    def implicit(self, children):
        left, right = children
        _check_implicit(left, right)
        return Apply("mul", (left, right), Span.between(left.span, right.span), right.span,
                     edges=(left.edges[0], right.edges[1]))

    def assign(self, children):
        target, _, value = children
        span = Span.between(target.span, value.span)
        if isinstance(target, Name):
            return Assign(target, value, span)
        if isinstance(target, Apply) and target.is_call:
            return Signature(Name(target.func, target.func_span), _params(target), value, span)
        raise GradcError("expected a name or a signature such as f(x, y) before '='",
                         target.span)

    def bare(self, children):
        (value,) = children
        return Bare(value, value.span)

    def start(self, children):
        return tuple(children)


def _params(call: Apply) -> tuple[Name, ...]:
    for arg in call.args:
        if not isinstance(arg, Name):
            raise GradcError(f"expected an input name in the signature of '{call.func}'",
                             arg.span)
    return call.args


def _check_implicit(left: Expr, right: Expr) -> None:
    # Implicit multiplication follows a number or a closing parenthesis and
    # precedes a name or an opening parenthesis: `2x`, `(x+y)z`, `3σ(x)`.
    # Between two names it would be ambiguous (`xy` is one name), and a
    # number after anything reads as a typo.
    if left.edges[1] == "NAME":
        raise GradcError("expected an operator before this: write '*' between names, "
                         "or join them into one name", right.span)
    if right.edges[0] == "NUMBER":
        raise GradcError("expected an operator before this number: write '*' to multiply",
                         right.span)


# -- walks over expressions: iterative, so deep nesting never recurses -------

def preorder(root: Expr):
    """Nodes in the order their text appears."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Apply):
            stack.extend(reversed(node.args))


def fold(root: Expr, leaf: Callable, apply: Callable):
    """Evaluates an expression bottom-up: `leaf(node)` for a name or number,
    `apply(node, args)` for an Apply once its arguments have values, left to
    right."""
    if not isinstance(root, Apply):
        return leaf(root)
    # One frame per Apply being evaluated: the node and its argument values
    # so far.  Leaf arguments are evaluated in place, without a frame.
    frames: list[tuple[Apply, list]] = [(root, [])]
    while True:
        node, values = frames[-1]
        args = node.args
        while len(values) < len(args):
            arg = args[len(values)]
            if isinstance(arg, Apply):
                frames.append((arg, []))
                break
            values.append(leaf(arg))
        else:
            frames.pop()
            value = apply(node, values)
            if not frames:
                return value
            frames[-1][1].append(value)
