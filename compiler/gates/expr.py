"""The gate table's snippets as expression trees, parsed once per snippet.

A row writes its code as Python text with placeholders (`math.exp({a})`,
`{g} @ {b}.T`); `parse` turns that text into a small tree once, the first
time a compile asks for it (Gate.trees), and the printers
(compiler/emit/printers.py) print the tree for each target and style.
Nothing after the table reads a snippet as text.

The nodes, all immutable (frozen, hashable, compared by value):

    Number(text)              a literal as the row writes it: `1.0`, `-1`, `2`
    Field(name)               a placeholder: `{a}`, `{out}`, `{c}`, `{g}`, `{shape_a}`
    Name(id)                  a name of Python or the module: `max`, `float`,
                              `dtype`, `None`, `True`
    Function(name)            a function of the target's module, by the math
                              and array API standard's name: `exp`, `asin`,
                              `pow`, `maximum`, `linalg.norm` (a printer spells
                              it `math.exp`, `np.arcsin`, `xp.pow`, `exp`)
    Attr(value, name)         `{a}.T`, `(...).astype`
    Call(func, args, keywords)  func a Function, Name or Attr; keywords are
                              (name, value) pairs: `np.sum({a}, axis=0)`
    UnaryOp(op, operand)      `-{a}`
    BinOp(op, left, right)    arithmetic (`+ - * / ** @`), `&`, comparisons
                              (`== != < <= > >=`) and `and`; `a and b and c`
                              is left-nested, as `a + b + c` is
    IfExp(test, body, orelse) `body if test else orelse`
    Subscript(value, index)   `{g}[:, None]`; index a tuple of nodes
    Slice()                   the `:` of an index
    Group(inner)              parentheses the row writes where precedence
                              needs none (`-1.0 / ({a}**2)`): kept so that the
                              printed code is the row's, to the character

Precedence is Python's, in one table (`LEVELS`) and one rule
(`parenthesize`): a printer wraps a child in parentheses exactly when the
child binds less tightly than its place needs.  A tree made by a program
rather than parsed (a derivative, say) holds no `Group`: the printer adds
the parentheses precedence needs.

`fields` lists a tree's placeholders in reading order, `walk` visits every
node, `map_children` rebuilds a node from its children, and `map_fields`
rebuilds a tree with each placeholder replaced: the generic helpers a pass
over trees (such as symbolic differentiation) needs.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, fields as dataclass_fields, replace
from typing import Callable, Iterator, Union

from compiler.gates.targets import NUMPY_NAMES


@dataclass(frozen=True, slots=True)
class Number:
    text: str

    @property
    def value(self) -> float:
        return float(self.text)


@dataclass(frozen=True, slots=True)
class Field:
    name: str


@dataclass(frozen=True, slots=True)
class Name:
    id: str


@dataclass(frozen=True, slots=True)
class Function:
    name: str


@dataclass(frozen=True, slots=True)
class Attr:
    value: "Expr"
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    func: "Expr"
    args: tuple["Expr", ...]
    keywords: tuple[tuple[str, "Expr"], ...] = ()


@dataclass(frozen=True, slots=True)
class UnaryOp:
    op: str
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class IfExp:
    test: "Expr"
    body: "Expr"
    orelse: "Expr"


@dataclass(frozen=True, slots=True)
class Subscript:
    value: "Expr"
    index: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Slice:
    pass


@dataclass(frozen=True, slots=True)
class Group:
    inner: "Expr"


Expr = Union[Number, Field, Name, Function, Attr, Call, UnaryOp, BinOp, IfExp,
             Subscript, Slice, Group]

# -- precedence ---------------------------------------------------------------

ARGUMENT, CONDITIONAL, AND, COMPARISON, BIT_AND, SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = (
    0, 1, 3, 5, 8, 10, 11, 12, 13, 14, 15)
"""Python's binding strengths, weakest first (ARGUMENT: a call's argument,
which needs no parentheses at all)."""

LEVELS = {"and": AND, "&": BIT_AND, "+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT,
          "@": PRODUCT, "**": POWER,
          **dict.fromkeys(("==", "!=", "<", "<=", ">", ">="), COMPARISON)}

FIELD_LEVELS = {"size_a": PRODUCT}
"""Placeholders filled with more than an atom: `{size_a}` is `N * D`.  The
others stand for a name, a number (a negative one in parentheses, as
gates.snippets prints it), or a tuple display."""


def level(node: Expr) -> int:
    """How tightly a node binds."""
    if isinstance(node, BinOp):
        return LEVELS[node.op]
    if isinstance(node, UnaryOp):
        return UNARY
    if isinstance(node, IfExp):
        return CONDITIONAL
    if isinstance(node, (Attr, Call, Subscript)):
        return POSTFIX
    if isinstance(node, Number):
        return UNARY if node.text.startswith("-") else ATOM
    if isinstance(node, Field):
        return FIELD_LEVELS.get(node.name, ATOM)
    return ATOM


def parenthesize(node: Expr, needed: int) -> Expr:
    """The node, in a `Group` when it binds less tightly than `needed`."""
    return Group(node) if level(node) < needed else node


def operand_levels(node: BinOp) -> tuple[int, int]:
    """The least binding strength each operand of `node` needs to stand
    without parentheses: left-associative operators take an equal one on
    the left only, `**` on neither side but a unary operand on its right,
    and comparisons none on either (`(a < b) < c` is no chain)."""
    own = LEVELS[node.op]
    if node.op == "**":
        return own + 1, UNARY
    if own == COMPARISON:
        return own + 1, own + 1
    return own, own + 1


def children(node: Expr) -> Iterator[Expr]:
    for field in dataclass_fields(node):
        value = getattr(node, field.name)
        if isinstance(value, tuple):
            for item in value:
                yield item[1] if isinstance(item, tuple) else item
        elif not isinstance(value, str):
            yield value


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of a tree, parents before children, left to right."""
    yield node
    for child in children(node):
        yield from walk(child)


def fields(node: Expr) -> tuple[str, ...]:
    """The tree's placeholders, in reading order, repeats included."""
    return tuple(n.name for n in walk(node) if isinstance(n, Field))


def map_children(node: Expr, function: Callable[[Expr], Expr]) -> Expr:
    """The node with each child replaced by `function(child)`."""
    changes = {}
    for field in dataclass_fields(node):
        value = getattr(node, field.name)
        if isinstance(value, tuple):
            changes[field.name] = tuple((item[0], function(item[1])) if isinstance(item, tuple)
                                        else function(item) for item in value)
        elif not isinstance(value, str):
            changes[field.name] = function(value)
    return replace(node, **changes) if changes else node


def map_fields(node: Expr, function: Callable[[Field], Expr]) -> Expr:
    """The tree with each `Field` replaced by `function(field)`."""
    if isinstance(node, Field):
        return function(node)
    return map_children(node, lambda child: map_fields(child, function))


# -- parsing -------------------------------------------------------------------

_FIELD = "__field_"
MODULES = ("math", "np", "xp")
"""How the table's snippets call a target's module."""
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
              ast.MatMult: "@", ast.BitAnd: "&", ast.Eq: "==", ast.NotEq: "!=",
              ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.And: "and"}


@functools.cache
def parse(snippet: str) -> Expr:
    """A row's snippet as a tree; ValueError for text outside the tree's
    language.  Asked once per distinct snippet."""
    source = _with_names(snippet)
    node = ast.parse(source, mode="eval").body
    return _Reader(source).read(node, None)


def _with_names(snippet: str) -> str:
    """`{a}` as the identifier `__field_a`, so that Python parses it."""
    out, rest = [], snippet
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        out += [before, _FIELD + name]
    return "".join(out) + rest


class _Reader:
    """Python's tree of one snippet -> ours, keeping written parentheses
    that precedence does not need as `Group`s."""

    def __init__(self, source: str):
        self.source = source

    def read(self, node: ast.AST, parent: ast.AST | None, needed: int = ARGUMENT,
             first: bool = False, last: bool = False) -> Expr:
        tree = self._convert(node)
        if self._written_in_parentheses(node, parent, first, last) and level(tree) >= needed:
            return Group(tree)
        return tree

    def _written_in_parentheses(self, node, parent, first: bool, last: bool) -> bool:
        start = parent.col_offset if parent is not None else 0
        end = parent.end_col_offset if parent is not None else len(self.source)
        before = self.source[start:node.col_offset].replace(" ", "")
        after = self.source[node.end_col_offset:end].replace(" ", "")
        opens = len(before) - len(before.rstrip("(")) - first
        closes = len(after) - len(after.lstrip(")")) - last
        return min(opens, closes) > 0

    def _convert(self, node: ast.AST) -> Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ValueError(f"{ast.unparse(node)!r} is not in the snippets' language")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Expr:
        if isinstance(node.value, (bool, type(None))):
            return Name(repr(node.value))
        return Number(ast.get_source_segment(self.source, node))

    def _Name(self, node: ast.Name) -> Expr:
        if node.id.startswith(_FIELD):
            return Field(node.id[len(_FIELD):])
        return Name(node.id)

    def _Attribute(self, node: ast.Attribute) -> Expr:
        path = _module_path(node)
        if path is not None:
            return Function(NUMPY_NAMES.get(path, path))
        return Attr(self.read(node.value, node, POSTFIX), node.attr)

    def _Call(self, node: ast.Call) -> Expr:
        count = len(node.args)
        args = tuple(self.read(arg, node, ARGUMENT, i == 0, i == count - 1 and not node.keywords)
                     for i, arg in enumerate(node.args))
        keywords = tuple((k.arg, self.read(k.value, node)) for k in node.keywords)
        return Call(self.read(node.func, node, POSTFIX), args, keywords)

    def _UnaryOp(self, node: ast.UnaryOp) -> Expr:
        if not isinstance(node.op, ast.USub):
            raise ValueError(f"{ast.unparse(node)!r}: only `-` is a unary operator here")
        operand = self.read(node.operand, node, UNARY)
        if isinstance(operand, Number):
            return Number("-" + operand.text)
        return UnaryOp("-", operand)

    def _BinOp(self, node: ast.BinOp) -> Expr:
        return self._binary(_OPERATORS[type(node.op)], node.left, node.right, node)

    def _Compare(self, node: ast.Compare) -> Expr:
        if len(node.ops) != 1:
            raise ValueError(f"{ast.unparse(node)!r}: write a chained comparison with `and`")
        return self._binary(_OPERATORS[type(node.ops[0])], node.left, node.comparators[0], node)

    def _BoolOp(self, node: ast.BoolOp) -> Expr:
        op = _OPERATORS[type(node.op)]
        tree = self.read(node.values[0], node, LEVELS[op])
        for value in node.values[1:]:
            tree = BinOp(op, tree, self.read(value, node, LEVELS[op] + 1))
        return tree

    def _binary(self, op: str, left: ast.AST, right: ast.AST, node: ast.AST) -> BinOp:
        needed_left, needed_right = operand_levels(BinOp(op, Slice(), Slice()))
        return BinOp(op, self.read(left, node, needed_left), self.read(right, node, needed_right))

    def _IfExp(self, node: ast.IfExp) -> Expr:
        return IfExp(self.read(node.test, node, CONDITIONAL + 1),
                     self.read(node.body, node, CONDITIONAL + 1),
                     self.read(node.orelse, node, CONDITIONAL))

    def _Subscript(self, node: ast.Subscript) -> Expr:
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return Subscript(self.read(node.value, node, POSTFIX),
                         tuple(self.read(item, node) for item in items))

    def _Slice(self, node: ast.Slice) -> Expr:
        if node.lower or node.upper or node.step:
            raise ValueError("only the whole slice `:` is in the snippets' language")
        return Slice()


def _module_path(node: ast.Attribute) -> str | None:
    """`exp` for `math.exp`, `linalg.norm` for `np.linalg.norm`; None when
    the attribute is not a function of a module."""
    parts = [node.attr]
    while isinstance(node.value, ast.Attribute):
        node = node.value
        parts.append(node.attr)
    if isinstance(node.value, ast.Name) and node.value.id in MODULES:
        return ".".join(reversed(parts))
    return None
