"""Code of one line -> the code of its tangent: forward-mode differentiation
of an expression, one rule per kind of node.

The backward pass's lines are expressions over forward values and
adjoints (`((1 - sigx) * sigx) * dsigx`, `dS @ W2.T`); forward over
reverse needs the tangent of each, `t_dx` for a line that assigns `dx`.
Rather than a second rule per gate, the printed line is differentiated as
an expression tree: sums and products by the product rule, each function of
the targets' modules (`math.`, `np.`, `xp.`, or called bare) by its
derivative, comparisons as constants (a branch or a mask has derivative 0,
which is §4's convention at a kink), and the linear functions (sums, `.T`,
`[:, None]`, `full`) applied to the tangent.  A name's tangent is what
`tangents` maps it to; a name it leaves out has none (a constant, a size,
an input without a direction), and a tree with no tangent anywhere gives
None, so that no line of zeros is written.
"""

from __future__ import annotations

import ast
from typing import Callable, Mapping

Node = ast.expr


class NoDerivative(Exception):
    """A function this module has no rule for: a gap in gradc."""


def tangent_code(code: str, tangents: Mapping[str, str], module: str) -> str | None:
    """The tangent of `code` (None: it is 0), calling new functions as
    `module` + name (`np.`; "" for bare names)."""
    tree = ast.parse(code, mode="eval").body
    tangent = _Differentiator(tangents, module).of(tree)
    # Printed as the table writes a power, `x**2`: no operand of `**` in
    # gradc's code holds a string that the replacement could reach.
    return None if tangent is None else ast.unparse(tangent).replace(" ** ", "**")


def _number(value: float) -> Node:
    return ast.Constant(value)


def _is_number(node, value) -> bool:
    return isinstance(node, ast.Constant) and node.value == value \
        and not isinstance(node.value, bool)


def _neg(node):
    if node is None:
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return node.operand
    return ast.UnaryOp(ast.USub(), node)


def _mul(left, right):
    """left * right, where None is 0 and 1 is dropped."""
    if left is None or right is None:
        return None
    for one, other in ((left, right), (right, left)):
        if _is_number(one, 1):
            return other
        if _is_number(one, -1):
            return _neg(other)
    return ast.BinOp(left, ast.Mult(), right)


def _binary(op: ast.operator, left, right):
    return None if left is None or right is None else ast.BinOp(left, op, right)


def _negated(node):
    """`node` with its sign taken off its first factor (`-1.0 / b * t` ->
    `1.0 / b * t`), or None when it starts with no sign."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return node.operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div, ast.MatMult)):
        first = _negated(node.left)
        return None if first is None else ast.BinOp(first, node.op, node.right)
    return None


def _add(left, right):
    """left + right, written `left - x` where right is `-x`."""
    if left is None:
        return right
    if right is None:
        return left
    positive = _negated(right)
    if positive is not None:
        return ast.BinOp(left, ast.Sub(), positive)
    return ast.BinOp(left, ast.Add(), right)


def _sub(left, right):
    return _add(left, _neg(right))


def _zero_if_none(node) -> Node:
    return _number(0.0) if node is None else node


def _name_of(func: Node) -> tuple[str, str]:
    """(`np.`, `exp`) for `np.exp`; ("", `abs`) for the builtin."""
    if isinstance(func, ast.Name):
        return "", func.id
    if isinstance(func, ast.Attribute):
        return ast.unparse(func.value) + ".", func.attr
    raise NoDerivative(ast.unparse(func))


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


_OWN = frozenset({"exp", "expm1", "log", "log1p", "tanh"})
"""Functions a module may define for itself, whose derivatives read only
the call and its argument."""


class _Differentiator:
    def __init__(self, tangents: Mapping[str, str], module: str):
        self.tangents = tangents
        self.module = module

    def call(self, name: str, *args: Node, prefix: str | None = None) -> Node:
        func = prefix if prefix is not None else self.module
        target = ast.Name(name) if not func else ast.Attribute(
            ast.parse(func[:-1], mode="eval").body, name)
        return ast.Call(target, list(args), [])

    def of(self, node: Node):
        method: Callable = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NoDerivative(ast.unparse(node))
        return method(node)

    # -- leaves ---------------------------------------------------------------

    def _Constant(self, node):
        return None

    def _Name(self, node):
        tangent = self.tangents.get(node.id)
        return None if tangent is None else ast.Name(tangent)

    # -- operators ------------------------------------------------------------

    def _BinOp(self, node):
        left, right = self.of(node.left), self.of(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return _add(left, right)
        if isinstance(op, ast.Sub):
            return _sub(left, right)
        if isinstance(op, (ast.Mult, ast.MatMult)):
            times = _mul if isinstance(op, ast.Mult) else \
                (lambda a, b: _binary(ast.MatMult(), a, b))
            return _add(times(left, node.right), times(node.left, right))
        if isinstance(op, ast.Div):
            if left is None and isinstance(node.left, ast.Constant):
                # (c / b)' = -c · b' / b²
                square = ast.BinOp(node.right, ast.Pow(), _number(2))
                return _binary(ast.Div(), _mul(_number(-node.left.value), right), square)
            if left is None and _negated(node.left) is not None \
                    and isinstance(_negated(node.left), ast.Constant):
                square = ast.BinOp(node.right, ast.Pow(), _number(2))
                return _binary(ast.Div(), _mul(_negated(node.left), right), square)
            # (a / b)' = a' / b - (a / b) * b' / b
            first = _binary(ast.Div(), left, node.right)
            second = _binary(ast.Div(), _mul(node, right), node.right)
            return _sub(first, second)
        if isinstance(op, ast.Pow):
            return self._power(node, node.left, node.right, left, right, "**")
        raise NoDerivative(ast.unparse(node))

    def _power(self, node, base, exponent, d_base, d_exponent, spelled, prefix=None):
        """(a^b)' = b·a^(b−1)·a' + a^b·ln(a)·b'."""
        lowered = (ast.BinOp(exponent, ast.Sub(), _number(1))
                   if not isinstance(exponent, ast.Constant)
                   else _number(exponent.value - 1))
        power = ast.BinOp(base, ast.Pow(), lowered) if spelled == "**" else \
            self.call(spelled, base, lowered, prefix=prefix)
        if _is_number(exponent, 2):
            from_base = _mul(ast.BinOp(_number(2), ast.Mult(), base), d_base)
        else:
            from_base = _mul(ast.BinOp(exponent, ast.Mult(), power), d_base)
        from_exponent = _mul(_mul(node, self.call("log", base, prefix=prefix)), d_exponent)
        return _add(from_base, from_exponent)

    def _UnaryOp(self, node):
        if isinstance(node.op, ast.USub):
            return _neg(self.of(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self.of(node.operand)
        return None  # `not`: a truth value

    def _Compare(self, node):
        return None

    def _Tuple(self, node):
        return None  # a shape

    def _BoolOp(self, node):
        return None

    def _IfExp(self, node):
        body, orelse = self.of(node.body), self.of(node.orelse)
        if body is None and orelse is None:
            return None
        return ast.IfExp(node.test, _zero_if_none(body), _zero_if_none(orelse))

    def _Attribute(self, node):
        if node.attr == "T":
            inner = self.of(node.value)
            return None if inner is None else ast.Attribute(inner, "T")
        return None  # a constant of a module (math.pi)

    def _Subscript(self, node):
        inner = self.of(node.value)
        return None if inner is None else ast.Subscript(inner, node.slice)

    # -- calls ----------------------------------------------------------------

    def _Call(self, node):
        prefix, name = _name_of(node.func)
        args = node.args
        if name in _CONSTANT:
            return None
        if name in _LINEAR:
            inner = self.of(args[0])
            if inner is None:
                return None
            return ast.Call(node.func, [inner, *args[1:]], node.keywords)
        tangents = [self.of(arg) for arg in args]
        if all(t is None for t in tangents):
            return None
        # A module's own version of a function (the numba target's `_exp`)
        # has the function's derivative; the rules that call another
        # function reuse the call itself (exp, expm1, log, log1p, tanh).
        rule = getattr(self, "_call_" + (name[1:] if not prefix and name.startswith("_")
                                         and name[1:] in _OWN else name), None)
        if rule is None:
            raise NoDerivative(f"{prefix}{name}")
        return rule(node, prefix, args, tangents)

    def _call_exp(self, node, prefix, args, tangents):
        return _mul(node, tangents[0])

    def _call_expm1(self, node, prefix, args, tangents):
        return _mul(ast.BinOp(node, ast.Add(), _number(1)), tangents[0])

    def _call_log(self, node, prefix, args, tangents):
        return _binary(ast.Div(), tangents[0], args[0])

    def _call_log1p(self, node, prefix, args, tangents):
        return _binary(ast.Div(), tangents[0], ast.BinOp(_number(1), ast.Add(), args[0]))

    def _call_sqrt(self, node, prefix, args, tangents):
        return _binary(ast.Div(), tangents[0], ast.BinOp(_number(2), ast.Mult(), node))

    def _call_sin(self, node, prefix, args, tangents):
        return _mul(self.call("cos", args[0], prefix=prefix), tangents[0])

    def _call_cos(self, node, prefix, args, tangents):
        return _neg(_mul(self.call("sin", args[0], prefix=prefix), tangents[0]))

    def _call_sinh(self, node, prefix, args, tangents):
        return _mul(self.call("cosh", args[0], prefix=prefix), tangents[0])

    def _call_cosh(self, node, prefix, args, tangents):
        return _mul(self.call("sinh", args[0], prefix=prefix), tangents[0])

    def _call_tan(self, node, prefix, args, tangents):
        square = ast.BinOp(node, ast.Pow(), _number(2))
        return _mul(ast.BinOp(_number(1), ast.Add(), square), tangents[0])

    def _call_tanh(self, node, prefix, args, tangents):
        square = ast.BinOp(node, ast.Pow(), _number(2))
        return _mul(ast.BinOp(_number(1), ast.Sub(), square), tangents[0])

    def _root_of_one_minus_square(self, arg, prefix):
        return self.call("sqrt", ast.BinOp(_number(1), ast.Sub(),
                                           ast.BinOp(arg, ast.Pow(), _number(2))), prefix=prefix)

    def _call_asin(self, node, prefix, args, tangents):
        return _binary(ast.Div(), tangents[0], self._root_of_one_minus_square(args[0], prefix))

    _call_arcsin = _call_asin

    def _call_acos(self, node, prefix, args, tangents):
        return _neg(self._call_asin(node, prefix, args, tangents))

    _call_arccos = _call_acos

    def _call_atan(self, node, prefix, args, tangents):
        return _binary(ast.Div(), tangents[0], ast.BinOp(
            _number(1), ast.Add(), ast.BinOp(args[0], ast.Pow(), _number(2))))

    _call_arctan = _call_atan

    def _call_atan2(self, node, prefix, args, tangents):
        (y, x), (dy, dx) = args, tangents
        squares = ast.BinOp(ast.BinOp(x, ast.Pow(), _number(2)), ast.Add(),
                            ast.BinOp(y, ast.Pow(), _number(2)))
        return _binary(ast.Div(), _sub(_mul(x, dy), _mul(y, dx)), squares)

    _call_arctan2 = _call_atan2

    def _call_pow(self, node, prefix, args, tangents):
        return self._power(node, args[0], args[1], tangents[0], tangents[1], "pow", prefix)

    def _call_power(self, node, prefix, args, tangents):
        return self._power(node, args[0], args[1], tangents[0], tangents[1], "power", prefix)

    # abs, max and min occur in backward lines only inside the stable form
    # of a smooth function (σ as exp(min(x, 0)) / (1 + exp(-|x|))): the gates
    # abs, relu and max have local gradients that are comparisons.  So at a
    # join each is differentiated from above (|x|' = 1 and max(x, 0)' = 1 at
    # x = 0, min(x, 0)' = 0), as every piece of the form then is, and the
    # pieces add up to the smooth function's derivative there too.

    def _call_abs(self, node, prefix, args, tangents):
        (arg,), (tangent,) = args, tangents
        test = ast.Compare(arg, [ast.GtE()], [_number(0)])
        if prefix:
            return self.call("where", test, tangent, _neg(tangent), prefix=prefix)
        return ast.IfExp(test, tangent, _neg(tangent))

    def _extremum(self, node, prefix, args, tangents, larger: bool):
        """The tangent of the argument that is the extremum, from above at a
        tie: the first's for max(x, 0), the second's for min(x, 0)."""
        (a, b), (da, db) = args, tangents
        test = ast.Compare(a, [ast.GtE() if larger else ast.Lt()], [b])
        if prefix:
            return self.call("where", test, _zero_if_none(da), _zero_if_none(db),
                             prefix=prefix)
        return ast.IfExp(test, _zero_if_none(da), _zero_if_none(db))

    def _call_maximum(self, node, prefix, args, tangents):
        return self._extremum(node, prefix, args, tangents, True)

    def _call_minimum(self, node, prefix, args, tangents):
        return self._extremum(node, prefix, args, tangents, False)

    def _call_max(self, node, prefix, args, tangents):
        if len(args) != 2 or node.keywords:
            raise NoDerivative(ast.unparse(node))
        return self._extremum(node, prefix, args, tangents, True)

    def _call_min(self, node, prefix, args, tangents):
        if len(args) != 2 or node.keywords:
            raise NoDerivative(ast.unparse(node))
        return self._extremum(node, prefix, args, tangents, False)

    def _call_where(self, node, prefix, args, tangents):
        return ast.Call(node.func, [args[0], _zero_if_none(tangents[1]),
                                    _zero_if_none(tangents[2])], node.keywords)

    def _call_full(self, node, prefix, args, tangents):
        return None if tangents[1] is None else \
            ast.Call(node.func, [args[0], tangents[1]], node.keywords)

    def _call_outer(self, node, prefix, args, tangents):
        (a, b), (da, db) = args, tangents
        left = None if da is None else ast.Call(node.func, [da, b], [])
        right = None if db is None else ast.Call(node.func, [a, db], [])
        return _add(left, right)
