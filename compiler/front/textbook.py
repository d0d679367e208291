"""Textbook notation in a file with arrays (§8), read as the textbook means it.

The parser reads `A^T` as a power and `xᵀWx` as `xᵀ` times a name `Wx`,
as it must in a file of numbers.  Where a file declares shapes and `T`
is no name of the file, `A^T` is the transpose `Aᵀ`; where the file also
uses `T`, the notation is ambiguous and refused.  After a transpose, a
name the file does not know that is several of its names written
together (`Wx` for `W` and `x`) is their implicit product, so `xᵀWx`
is `xᵀ W x`.  Files without shapes are never rewritten.
"""

from __future__ import annotations


from compiler import gates
from compiler.errors import GradcError, Span, between, location
from compiler.front.syntax import (Apply, Expr, Name, Statement, fold, follows_transpose,
                                   is_implicit, preorder, spelled)

_POWER = gates.lookup("^").name
_TEXTBOOK_T = "T"


def textbook_notation(statements: tuple[Statement, ...], known: set[str]
                      ) -> tuple[Statement, ...]:
    """`known`: the names the file assigns, lists, declares or sizes by."""
    named = known | {node.id for statement in statements
                     for node in preorder(statement.value)
                     if isinstance(node, Name) and not _exponent_t(statement.value, node)}
    splittable = known - {_TEXTBOOK_T}

    def rebuild(node: Apply, args) -> Apply:
        if any(new is not old for new, old in zip(args, node.args)):
            node = node._replace(args=tuple(args))
        if node.func == _POWER and not node.is_call and _is_bare_t(node.args[1]):
            return _transpose(node, _TEXTBOOK_T in named)
        if is_implicit(node) and isinstance(node.args[1], Name) \
                and node.args[1].id not in known and follows_transpose(node):
            return _split(node, splittable) or node
        return node

    return tuple(statement._replace(value=fold(statement.value, lambda n: n, rebuild))
                 for statement in statements)


def _is_bare_t(node: Expr) -> bool:
    # `A^(T)` is written in parentheses: the power, whatever T is.
    return isinstance(node, Name) and node.id == _TEXTBOOK_T and node.edges == ("NAME", "NAME")


def _exponent_t(root: Expr, name: Name) -> bool:
    if not _is_bare_t(name):
        return False
    return any(isinstance(node, Apply) and node.func == _POWER and not node.is_call
               and node.args[1] is name for node in preorder(root))


def _transpose(power: Apply, clash: bool) -> Apply:
    base, exponent = power.args
    if clash:
        text = spelled(base) if isinstance(base, Name) else f"({spelled(base)})"
        raise GradcError(f"{text}^T: this file also uses T as a name, so {text}^T could be "
                         f"a power: write {text}ᵀ or transpose({spelled(base)}) for the "
                         f"transpose, or {text}^(T) for the power", power.func_span)
    sign = between(power.func_span, exponent.span)
    return Apply(gates.TRANSPOSE, (base,), power.span, sign, edges=(base.edges[0], "TRANSPOSE"))


def _split(product: Apply, known: set[str]) -> Apply | None:
    """`xᵀ` times `Wx` as `xᵀ W x`, when `Wx` is written as it is spelled
    and splits into known names in exactly one way."""
    left, name = product.args
    span = Span.of(name.span)
    if span.end_line != span.line or span.end_column - span.column != len(name.id):
        return None
    ways = _ways(name.id, known)
    if len(ways) != 1:
        return None
    node, column = left, span.column
    for part in ways[0]:
        piece = Name(part, location(span.line, column, span.line, column + len(part)))
        node = implicit_product_after_transpose(node, piece)
        column += len(part)
    return node


def implicit_product_after_transpose(left: Expr, right: Name) -> Apply:
    # Two names in a row are refused by the parser's rule; here the file's
    # own names say where one ends, so the product is built directly.
    return Apply(gates.MUL, (left, right), between(left.span, right.span), right.span,
                 edges=(left.edges[0], right.edges[1]))


def _ways(text: str, known: set[str]) -> list[tuple[str, ...]]:
    """Every way to write `text` as two or more known names in a row."""
    ways = []
    for end in range(1, len(text)):
        head, rest = text[:end], text[end:]
        if head in known:
            if rest in known:
                ways.append((head, rest))
            ways.extend((head, *tail) for tail in _ways(rest, known))
    return ways
