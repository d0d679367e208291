"""Parse tree -> AST: named tuples that carry source spans.

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
import re
import unicodedata
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple, Union

if TYPE_CHECKING:  # Lark is imported only where the fast parser gives up
    from lark import Token

from compiler import gates
from compiler.errors import GradcError, between, location


# Nodes and statements are named tuples: immutable like the frozen
# dataclasses used elsewhere, and made three times as fast, which counts at
# a node per token and a statement per line.  `edges`, the kinds of the
# first and last token, decide where implicit multiplication may go.  A
# span is the int a `Span` is (errors.py), read through `Span.of`: a node
# per token keeps one.

class Number(NamedTuple):
    value: float
    integral: bool
    span: int
    edges: tuple[str, str] = ("NUMBER", "NUMBER")


class Name(NamedTuple):
    id: str
    span: int
    edges: tuple[str, str] = ("NAME", "NAME")


class Apply(NamedTuple):
    """An operator or a function call.  `func` is a gate name for operators
    and the name as written (NFKC) for calls; `func_span` locates it."""

    func: str
    args: tuple["Expr", ...]
    span: int
    func_span: int
    is_call: bool = False
    edges: tuple[str, str] = ("", "")


class Dim(NamedTuple):
    """One dimension of a declared shape: a name (`D`) or a whole number."""

    value: str | int
    span: int


class Declared(NamedTuple):
    """`W: [H, D]` where a signature lists its inputs; anywhere else in an
    expression it is an error, which `resolve` reports."""

    target: Name
    shape: tuple[Dim, ...]
    span: int
    edges: tuple[str, str] = ("NAME", "RSQB")
    classes: Dim | None = None
    """For labels (`y: [N] of C`), how many classes there are."""


class Keyword(NamedTuple):
    """`axis=1` among a call's arguments; `resolve` checks where it stands."""

    name: Name
    value: "Expr"
    span: int
    edges: tuple[str, str] = ("NAME", "")


Expr = Union[Number, Name, Apply]


class Assign(NamedTuple):
    """`name = expr`: a named stage."""

    target: Name
    value: Expr
    span: int


class Signature(NamedTuple):
    """`f(x, y) = expr`: names the output and fixes the inputs' order."""

    target: Name
    params: tuple[Name, ...]
    value: Expr
    span: int
    declared: tuple["Declare", ...] = ()
    """The shapes the signature declares beside its inputs."""


class Bare(NamedTuple):
    """A bare expression; allowed only as the last statement."""

    value: Expr
    span: int


class Declare(NamedTuple):
    """`X: [N, D]`: the shape of an input, on a line of its own."""

    target: Name
    shape: tuple[Dim, ...]
    span: int
    classes: Dim | None = None
    """For labels (`y: [N] of C`), how many classes there are."""


Statement = Union[Assign, Signature, Bare, Declare]


def token_span(token: Token) -> int:
    return location(token.line, token.column, token.end_line, token.end_column)


def fold_name(token: Token) -> str:
    return fold_text(str(token), token_span(token))


# NFKC folds x² into the name x2, where a reader of the formula sees a power.
_SUPERSCRIPT = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹]+")


def fold_text(text: str, span: int | None) -> str:
    """A name as Python will read it: NFKC, as Python folds identifiers."""
    if _SUPERSCRIPT.search(text):
        power = _SUPERSCRIPT.sub(lambda digits: "^" + unicodedata.normalize(
            "NFKC", digits.group()), text)
        raise GradcError(f"'{text}': a name holds no superscript digit: write {power} "
                         "for a power", span)
    name = unicodedata.normalize("NFKC", text)
    if not name.isidentifier():
        raise GradcError(f"'{name}' is not a valid name: start a name with a letter or '_'",
                         span)
    return name


def _binary_gate(token: Token) -> str:
    return gates.lookup(str(token)).name


class AstBuilder:
    """One method per grammar alias; each returns an AST node.  Lark calls
    a transformer's methods by name, so no Lark base class is needed (and
    a rule without a method would stay a Lark tree, as with one)."""

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
        span = between(token_span(func), token_span(close))
        return Apply(fold_name(func), tuple(arguments), span, token_span(func),
                     is_call=True, edges=("NAME", "RPAR"))

    def arguments(self, children):
        # A Token is a str; an AST node is a tuple.
        return [child for child in children if not isinstance(child, str)]

    def group(self, children):
        open_, inner, close = children
        span = between(token_span(open_), token_span(close))
        return inner._replace(span=span, edges=("LPAR", "RPAR"))

    def binary(self, children):
        left, op, right = children
        return Apply(_binary_gate(op), (left, right), between(left.span, right.span),
                     token_span(op), edges=(left.edges[0], right.edges[1]))

    def transpose(self, children):
        operand, op = children
        return Apply(gates.TRANSPOSE, (operand,), between(operand.span, token_span(op)),
                     token_span(op), edges=(operand.edges[0], op.type))

    def dimension(self, children):
        (token,) = children
        if token.type == "NAME":
            return Dim(fold_name(token), token_span(token))
        if not str(token).isdigit() or int(token) == 0:
            raise GradcError("a dimension is a name or a whole number of at least 1",
                             token_span(token))
        return Dim(int(token), token_span(token))

    def shape(self, children):
        dims = tuple(child for child in children if isinstance(child, Dim))
        if len(dims) > 2:
            raise GradcError(f"a shape has one or two dimensions, not {len(dims)}: "
                             "gradc has vectors and matrices", token_span(children[0]))
        return dims, between(token_span(children[0]), token_span(children[-1]))

    def declared(self, children):
        name, _, (dims, span) = children
        target = Name(fold_name(name), token_span(name))
        return Declared(target, dims, between(target.span, span))

    def declare(self, children):
        name, _, (dims, span) = children
        target = Name(fold_name(name), token_span(name))
        return Declare(target, dims, between(target.span, span))

    def declare_labels(self, children):
        name, _, (dims, _shape_span), _of, classes = children
        target = Name(fold_name(name), token_span(name))
        return Declare(target, dims, between(target.span, classes.span), classes)

    def declared_labels(self, children):
        name, _, (dims, _shape_span), _of, classes = children
        target = Name(fold_name(name), token_span(name))
        return Declared(target, dims, between(target.span, classes.span), classes=classes)

    def keyword(self, children):
        name, _, value = children
        key = Name(fold_name(name), token_span(name))
        return Keyword(key, value, between(key.span, value.span), ("NAME", value.edges[1]))

    def unary(self, children):
        op, operand = children
        span = between(token_span(op), operand.span)
        if op.type == "PLUS":
            return operand._replace(span=span, edges=(op.type, operand.edges[1]))
        return Apply(gates.NEG, (operand,), span, token_span(op), edges=(op.type, operand.edges[1]))

    def implicit(self, children):
        left, right = children
        return implicit_product(left, right)

    def assign(self, children):
        target, _, value = children
        return statement(target, value)

    def bare(self, children):
        (value,) = children
        return statement(None, value)

    def start(self, children):
        return tuple(children)


def statement(target: Expr | None, value: Expr) -> Statement:
    """What stands left of `=` decides the statement: nothing (a bare
    expression), a name (a stage), or a call (the signature)."""
    if target is None:
        return Bare(value, value.span)
    span = between(target.span, value.span)
    if isinstance(target, Name):
        return Assign(target, value, span)
    if isinstance(target, Apply) and target.is_call:
        declared = tuple(Declare(arg.target, arg.shape, arg.span, arg.classes)
                         for arg in target.args if isinstance(arg, Declared))
        return Signature(Name(target.func, target.func_span), _params(target), value, span,
                         declared)
    raise GradcError("expected a name or a signature such as f(x, y) before '='",
                     target.span)


def implicit_product(left: Expr, right: Expr) -> Apply:
    """`2x`, `(x+y)z`: a product without an operator, located at its right
    operand (see `is_implicit`)."""
    _check_implicit(left, right)
    return Apply(gates.MUL, (left, right), between(left.span, right.span), right.span,
                 edges=(left.edges[0], right.edges[1]))


def _params(call: Apply) -> tuple[Name, ...]:
    params = tuple(arg.target if isinstance(arg, Declared) else arg for arg in call.args)
    for arg in params:
        if not isinstance(arg, Name):
            raise GradcError(f"expected an input name in the signature of '{call.func}'",
                             arg.span)
    return params


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
    # One frame per Apply being evaluated: the node, its arguments not yet
    # evaluated, and the values of those before.  Leaf arguments are
    # evaluated in place, without a frame.
    frames: list[tuple[Apply, Iterator, list]] = [(root, iter(root.args), [])]
    while True:
        node, pending, values = frames[-1]
        for arg in pending:
            if isinstance(arg, Apply):
                frames.append((arg, iter(arg.args), []))
                break
            values.append(leaf(arg))
        else:
            frames.pop()
            value = apply(node, values)
            if not frames:
                return value
            frames[-1][2].append(value)


def is_implicit(node: Apply) -> bool:
    """Whether a product was written without an operator (`2x`, `(a)(b)`):
    both parsers locate such a product at its right operand."""
    return not node.is_call and len(node.args) == 2 and node.func_span == node.args[1].span


def follows_transpose(product: Apply) -> bool:
    """Whether an implicit product's first factor is a transpose (`Wᵀx`,
    `xᵀWx`): then, as textbooks write, its array factors multiply by `@`."""
    node = product.args[0]
    while isinstance(node, Apply) and is_implicit(node):
        node = node.args[0]
    return isinstance(node, Apply) and not node.is_call and node.func == gates.TRANSPOSE


# A message quotes the user's operators as typed on a keyboard, where the
# notation `gradc explain` shows writes the minus and times signs.
_AS_TYPED = str.maketrans({"−": "-", "×": "*"})


def spelled(root: Expr) -> str:
    """An expression as text again, for error messages: names and numbers
    as parsed, each operator in its gate's notation with `-` and `*` as
    typed, compound operands of an operator in parentheses."""
    def leaf(node):
        if isinstance(node, Name):
            return node.id, True
        if isinstance(node, Keyword):
            return f"{node.name.id}={spelled(node.value)}", True
        return (str(int(node.value)) if node.integral else repr(node.value)), True

    def apply(node: Apply, args):
        if node.is_call:
            return f"{node.func}({', '.join(text for text, _ in args)})", True
        row = gates.GATES[node.func]  # an operator: its gate by name
        texts = [text if simple else f"({text})" for text, simple in args]
        return row.notation.translate(_AS_TYPED).format_map(dict(zip("ab", texts))), False

    return fold(root, leaf, apply)[0]
