"""A backward term's tree -> the tree of its tangent: forward-mode
differentiation of an expression (gates/expr.py), one rule per kind of node.

The backward pass's terms are the rows' trees with their fields filled by
forward values and adjoints (`((1 - sigx) * sigx) * dsigx`, `dS @ W2.T`);
forward over reverse needs the tangent of each, `t_dx` for a term that adds
to `dx`.  Rather than a second rule per gate, the tree is differentiated:
sums and products by the product rule, each function of the targets'
modules by its derivative, comparisons as constants (a branch or a mask has
derivative 0, which is §4's convention at a kink), and the linear functions
(sums, `.T`, `[:, None]`, `full`) applied to the tangent.  A name's tangent
is what `tangents` maps it to; a name it leaves out has none (a constant, a
size, an input without a direction), and a tree with no tangent anywhere
gives None, so that no line of zeros is written.  The tangent is printed by
the target's printer, as every other line is.
"""

from __future__ import annotations

from typing import Callable, Mapping

from compiler.gates.expr import (Attr, BinOp, Call, Expr, Function, Group, IfExp, Name, Number,
                                 Subscript, UnaryOp, map_children)


class NoDerivative(Exception):
    """A function this module has no rule for: a gap in gradc."""


def tangent_tree(tree: Expr, tangents: Mapping[str, str],
                 by_module: Callable[[str], Expr] | None = None) -> Expr | None:
    """The tangent of `tree` (None: it is 0).  `by_module`: how a call the
    rules add is spelled where the target's function of that name is not
    the module's (the numba target's own `_log`): None for the table's."""
    return _Differentiator(tangents, by_module).of(_plain(tree))


def _plain(node: Expr) -> Expr:
    """The tree without the parentheses its row wrote: the tangent reuses
    parts of it, and the printer puts back the ones precedence needs."""
    if isinstance(node, Group):
        return _plain(node.inner)
    return map_children(node, _plain)


def _number(text: str) -> Number:
    return Number(text)


def _is_number(node, value: float) -> bool:
    return isinstance(node, Number) and node.value == value


def _minus(number: Number) -> Number:
    text = number.text
    return Number(text[1:] if text.startswith("-") else "-" + text)


def _lowered(number: Number) -> Number:
    """The exponent less one, written as the row writes a number."""
    try:
        return Number(str(int(number.text) - 1))
    except ValueError:
        return Number(repr(number.value - 1))


def _neg(node):
    if node is None:
        return None
    if isinstance(node, UnaryOp) and node.op == "-":
        return node.operand
    if isinstance(node, Number):
        return _minus(node)
    return UnaryOp("-", node)


def _mul(left, right):
    """left * right, where None is 0 and 1 is dropped."""
    if left is None or right is None:
        return None
    if _is_number(left, 1):
        return right
    if _is_number(right, 1):
        return left
    return BinOp("*", left, right)


def _binary(op: str, left, right):
    return None if left is None or right is None else BinOp(op, left, right)


def _negated(node):
    """`node` with its sign taken off its first factor (`-1.0 / b * t` ->
    `1.0 / b * t`), or None when it starts with no sign."""
    if isinstance(node, UnaryOp) and node.op == "-":
        return node.operand
    if isinstance(node, Number) and node.text.startswith("-"):
        return _minus(node)
    if isinstance(node, BinOp) and node.op in ("*", "/", "@"):
        first = _negated(node.left)
        return None if first is None else BinOp(node.op, first, node.right)
    return None


def _add(left, right):
    """left + right, written `left - x` where right is `-x`."""
    if left is None:
        return right
    if right is None:
        return left
    positive = _negated(right)
    if positive is not None:
        return BinOp("-", left, positive)
    return BinOp("+", left, right)


def _sub(left, right):
    return _add(left, _neg(right))


def _zero_if_none(node) -> Expr:
    return _number("0.0") if node is None else node


def _square(node) -> Expr:
    return BinOp("**", node, _number("2"))


# Functions linear in their first argument, whatever the others say (an
# axis, a shape): the tangent is the function of the argument's tangent.
_LINEAR = frozenset({"sum", "mean", "transpose", "matrix_transpose", "expand_dims",
                     "reshape", "broadcast_to", "squeeze", "negative", "asarray", "copy",
                     "float"})
# Functions whose value is piecewise constant or carries no value: a sign,
# arrays made from a shape, and a cast, which the table applies only to a
# comparison's mask.
_CONSTANT = frozenset({"sign", "ones", "ones_like", "zeros", "zeros_like", "full_like",
                       "astype", "isfinite", "empty"})


def _name_of(func: Expr) -> tuple[bool, str]:
    """(whether the target's module has it, its name): (True, `exp`) for
    `np.exp`; (False, `abs`) for the builtin; `astype` for the method."""
    if isinstance(func, Function):
        return True, func.name
    if isinstance(func, Name):
        return False, func.id
    if isinstance(func, Attr):
        return False, func.name
    raise NoDerivative(repr(func))


class _Differentiator:
    def __init__(self, tangents: Mapping[str, str], by_module):
        self.tangents = tangents
        self.by_module = by_module

    def call(self, name: str, *args: Expr) -> Expr:
        spelled = self.by_module(name) if self.by_module else None
        return Call(spelled or Function(name), args)

    def of(self, node: Expr):
        method: Callable = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NoDerivative(repr(node))
        return method(node)

    # -- leaves ---------------------------------------------------------------

    def _Number(self, node):
        return None

    def _Function(self, node):
        return None  # a constant of a module (math.pi)

    def _Slice(self, node):
        return None

    def _Name(self, node):
        tangent = self.tangents.get(node.id)
        return None if tangent is None else Name(tangent)

    # -- operators ------------------------------------------------------------

    def _BinOp(self, node):
        op = node.op
        if op not in ("+", "-", "*", "@", "/", "**"):
            return None  # a comparison or a mask
        left, right = self.of(node.left), self.of(node.right)
        if op == "+":
            return _add(left, right)
        if op == "-":
            return _sub(left, right)
        if op == "*":
            return _add(_mul(left, node.right), _mul(node.left, right))
        if op == "@":
            return _add(_binary("@", left, node.right), _binary("@", node.left, right))
        if op == "/":
            return self._quotient(node, left, right)
        return self._power(node, node.left, node.right, left, right, None)

    def _quotient(self, node, left, right):
        if left is None and isinstance(node.left, Number):
            # (c / b)' = -c · b' / b²
            minus_c = _minus(node.left)
            scaled = _neg(right) if _is_number(node.left, 1) else _mul(minus_c, right)
            return _binary("/", scaled, _square(node.right))
        if left is None and isinstance(_negated(node.left), Number):
            return _binary("/", _mul(_negated(node.left), right), _square(node.right))
        # (a / b)' = a' / b - (a / b) * b' / b
        first = _binary("/", left, node.right)
        second = _binary("/", _mul(node, right), node.right)
        return _sub(first, second)

    def _power(self, node, base, exponent, d_base, d_exponent, func):
        """(a^b)' = b·a^(b−1)·a' + a^b·ln(a)·b'; `func`: the call's
        function, None for `**`."""
        lowered = _lowered(exponent) if isinstance(exponent, Number) \
            else BinOp("-", exponent, _number("1"))
        power = BinOp("**", base, lowered) if func is None else Call(func, (base, lowered))
        if _is_number(exponent, 2):
            from_base = _mul(BinOp("*", _number("2"), base), d_base)
        else:
            from_base = _mul(BinOp("*", exponent, power), d_base)
        from_exponent = _mul(_mul(node, self.call("log", base)), d_exponent)
        return _add(from_base, from_exponent)

    def _UnaryOp(self, node):
        return _neg(self.of(node.operand))

    def _IfExp(self, node):
        body, orelse = self.of(node.body), self.of(node.orelse)
        if body is None and orelse is None:
            return None
        return IfExp(node.test, _zero_if_none(body), _zero_if_none(orelse))

    def _Attr(self, node):
        if node.name == "T":
            inner = self.of(node.value)
            return None if inner is None else Attr(inner, "T")
        return None

    def _Subscript(self, node):
        inner = self.of(node.value)
        return None if inner is None else Subscript(inner, node.index)

    # -- calls ----------------------------------------------------------------

    def _Call(self, node):
        in_module, name = _name_of(node.func)
        args = node.args
        if name in _CONSTANT:
            return None
        if name in _LINEAR:
            inner = self.of(args[0])
            return None if inner is None else Call(node.func, (inner, *args[1:]), node.keywords)
        tangents = [self.of(arg) for arg in args]
        if all(t is None for t in tangents):
            return None
        rule = getattr(self, "_call_" + name, None)
        if rule is None or (not in_module and name not in _BUILTINS):
            raise NoDerivative(name)
        return rule(node, in_module, args, tangents)

    def _call_exp(self, node, in_module, args, tangents):
        return _mul(node, tangents[0])

    def _call_expm1(self, node, in_module, args, tangents):
        return _mul(BinOp("+", node, _number("1")), tangents[0])

    def _call_log(self, node, in_module, args, tangents):
        return _binary("/", tangents[0], args[0])

    def _call_log1p(self, node, in_module, args, tangents):
        return _binary("/", tangents[0], BinOp("+", _number("1"), args[0]))

    def _call_sqrt(self, node, in_module, args, tangents):
        return _binary("/", tangents[0], BinOp("*", _number("2"), node))

    def _call_sin(self, node, in_module, args, tangents):
        return _mul(self.call("cos", args[0]), tangents[0])

    def _call_cos(self, node, in_module, args, tangents):
        return _neg(_mul(self.call("sin", args[0]), tangents[0]))

    def _call_sinh(self, node, in_module, args, tangents):
        return _mul(self.call("cosh", args[0]), tangents[0])

    def _call_cosh(self, node, in_module, args, tangents):
        return _mul(self.call("sinh", args[0]), tangents[0])

    def _call_tan(self, node, in_module, args, tangents):
        return _mul(BinOp("+", _number("1"), _square(node)), tangents[0])

    def _call_tanh(self, node, in_module, args, tangents):
        return _mul(BinOp("-", _number("1"), _square(node)), tangents[0])

    def _call_asin(self, node, in_module, args, tangents):
        root = self.call("sqrt", BinOp("-", _number("1"), _square(args[0])))
        return _binary("/", tangents[0], root)

    def _call_acos(self, node, in_module, args, tangents):
        return _neg(self._call_asin(node, in_module, args, tangents))

    def _call_atan(self, node, in_module, args, tangents):
        return _binary("/", tangents[0], BinOp("+", _number("1"), _square(args[0])))

    def _call_atan2(self, node, in_module, args, tangents):
        (y, x), (dy, dx) = args, tangents
        squares = BinOp("+", _square(x), _square(y))
        return _binary("/", _sub(_mul(x, dy), _mul(y, dx)), squares)

    def _call_pow(self, node, in_module, args, tangents):
        return self._power(node, args[0], args[1], tangents[0], tangents[1], node.func)

    # abs, max and min occur in backward lines only inside the stable form
    # of a smooth function (σ as exp(min(x, 0)) / (1 + exp(-|x|))): the gates
    # abs, relu and max have local gradients that are comparisons.  So at a
    # join each is differentiated from above (|x|' = 1 and max(x, 0)' = 1 at
    # x = 0, min(x, 0)' = 0), as every piece of the form then is, and the
    # pieces add up to the smooth function's derivative there too.

    def _call_abs(self, node, in_module, args, tangents):
        (arg,), (tangent,) = args, tangents
        return self._branch(in_module, BinOp(">=", arg, _number("0")), tangent, _neg(tangent))

    def _branch(self, in_module: bool, test, body, orelse):
        """`where` of the target's module, or Python's conditional."""
        if in_module:
            return self.call("where", test, body, orelse)
        return IfExp(test, body, orelse)

    def _extremum(self, node, in_module, args, tangents, larger: bool):
        """The tangent of the argument that is the extremum, from above at a
        tie: the first's for max(x, 0), the second's for min(x, 0)."""
        if len(args) != 2 or node.keywords:
            raise NoDerivative(repr(node))
        (a, b), (da, db) = args, tangents
        test = BinOp(">=" if larger else "<", a, b)
        return self._branch(in_module, test, _zero_if_none(da), _zero_if_none(db))

    def _call_maximum(self, node, in_module, args, tangents):
        return self._extremum(node, in_module, args, tangents, True)

    def _call_minimum(self, node, in_module, args, tangents):
        return self._extremum(node, in_module, args, tangents, False)

    _call_max, _call_min = _call_maximum, _call_minimum

    def _call_where(self, node, in_module, args, tangents):
        return Call(node.func, (args[0], _zero_if_none(tangents[1]),
                                _zero_if_none(tangents[2])), node.keywords)

    def _call_full(self, node, in_module, args, tangents):
        return None if tangents[1] is None else Call(node.func, (args[0], tangents[1]),
                                                     node.keywords)

    def _call_outer(self, node, in_module, args, tangents):
        (a, b), (da, db) = args, tangents
        left = None if da is None else Call(node.func, (da, b))
        right = None if db is None else Call(node.func, (a, db))
        return _add(left, right)


_BUILTINS = frozenset({"abs", "max", "min"})
"""Python's functions a row calls (the math target's `abs`)."""
