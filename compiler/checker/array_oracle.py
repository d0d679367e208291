"""Program + sizes -> Oracle: an array formula's value and gradient by SymPy.

The array counterpart of `oracle.py`, for `gradc check` on shaped files.
At the sizes the check runs with, every entry of every array input is a
SymPy symbol of its own (`W[0, 2]`), and every array function is written
out entry by entry from its definition: a matrix product is the sums of
products, softmax is exp over a sum of exps, broadcasting repeats entries.
None of it comes from the gate table or from NumPy, so the oracle cannot
share a mistake with the generated module.  Elementwise gates take their
meaning from `oracle.SMOOTH` and `oracle.PIECEWISE`, entry by entry.

An array output (a layer) is checked through its vector-Jacobian product:
the oracle's number is `sum(U * Z)` for an upstream `U` of the output's
shape, whose entries are symbols too, given their values at each point.
Its gradient with respect to the inputs is then the VJP the module's
`backward(cache, U)` must return.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product
from typing import Callable

import sympy as sp

from compiler.checker.oracle import CONSTANTS, PIECEWISE, SMOOTH, Oracle, Switch, gate_name, switch
from compiler.front.resolve import Program
from compiler.front.syntax import Apply, Expr, Keyword, Number, fold, follows_transpose, is_implicit


@dataclass(frozen=True)
class Tensor:
    """A number (shape ()) or an array of SymPy expressions, row-major."""

    shape: tuple[int, ...]
    entries: tuple
    classes: int | None = None
    """For labels, how many classes there are (onehot's width)."""

    @classmethod
    def of(cls, shape: tuple[int, ...], entry: Callable[[tuple], sp.Expr]) -> "Tensor":
        return cls(tuple(shape), tuple(entry(i) for i in product(*map(range, shape))))

    @classmethod
    def number(cls, value) -> "Tensor":
        return cls((), (value,))

    def at(self, index: tuple) -> sp.Expr:
        flat = 0
        for i, size in zip(index, self.shape):
            flat = flat * size + i
        return self.entries[flat]

    def line(self, index: tuple, axis: int) -> list:
        """The entries along `axis` through `index` (whose own `axis`
        coordinate is left out)."""
        return [self.at(index[:axis] + (j,) + index[axis:]) for j in range(self.shape[axis])]


# -- what each array function means, entry by entry ----------------------------

def matmul(a: Tensor, b: Tensor) -> Tensor:
    # A vector on the left is a row, on the right a column; the axis it
    # gained is dropped again from the result.
    left = a if len(a.shape) == 2 else Tensor((1,) + a.shape, a.entries)
    right = b if len(b.shape) == 2 else Tensor(b.shape + (1,), b.entries)
    inner = left.shape[1]
    full = Tensor.of((left.shape[0], right.shape[1]), lambda ij: sp.Add(
        *(left.at((ij[0], k)) * right.at((k, ij[1])) for k in range(inner))))
    shape = a.shape[:-1] + b.shape[1:]
    return Tensor(shape, full.entries)


def transpose(a: Tensor) -> Tensor:
    if len(a.shape) == 1:
        return a  # a row, which the compiler lets only a matrix product read
    return Tensor.of((a.shape[1], a.shape[0]), lambda ji: a.at((ji[1], ji[0])))


def outer(u: Tensor, v: Tensor) -> Tensor:
    return Tensor.of(u.shape + v.shape, lambda ij: u.at((ij[0],)) * v.at((ij[1],)))


def _reduce(combine: Callable[[list], sp.Expr]):
    """Over every entry (axis None), or over one axis, which is removed."""
    def reduction(a: Tensor, axis: int | None = None) -> Tensor:
        if axis is None:
            return Tensor.number(combine(list(a.entries)))
        kept = a.shape[:axis] + a.shape[axis + 1:]
        return Tensor.of(kept, lambda index: combine(a.line(index, axis)))
    return reduction


def _along(entry: Callable[[sp.Expr, list], sp.Expr]):
    """Each entry from itself and its line along the axis (default: the
    last axis); the shape is kept."""
    def function(a: Tensor, axis: int | None = None) -> Tensor:
        axis = len(a.shape) - 1 if axis is None else axis
        return Tensor.of(a.shape, lambda index: entry(
            a.at(index), a.line(index[:axis] + index[axis + 1:], axis)))
    return function


def _log_sum_exp(xs: list) -> sp.Expr:
    return sp.log(sp.Add(*map(sp.exp, xs)))


def pick(scores: Tensor, labels: Tensor) -> Tensor:
    """Each row's entry at its label: the entry whose column equals it."""
    def entry(index: tuple) -> sp.Expr:
        row, label = index[0], labels.at(index)
        return sp.Piecewise(*((scores.at((row, c)), sp.Eq(label, c))
                              for c in range(scores.shape[1])), (0, True))
    return Tensor.of(labels.shape, entry)


def onehot(labels: Tensor, classes: int) -> Tensor:
    return Tensor.of(labels.shape + (classes,), lambda index: sp.Piecewise(
        (1, sp.Eq(labels.at(index[:1]), index[1])), (0, True)))


def _cdot(a: Tensor, b: Tensor) -> Tensor:
    """`·` is the matrix product between two arrays, a product otherwise."""
    return matmul(a, b) if a.shape and b.shape else broadcast(SMOOTH["mul"], (a, b))


ARRAY: dict[str, Callable[..., Tensor]] = {
    "matmul": matmul,
    "cdot": _cdot,
    "pick": pick,
    "onehot": onehot,
    "transpose": transpose,
    "outer": outer,
    "sum": _reduce(lambda xs: sp.Add(*xs)),
    "mean": _reduce(lambda xs: sp.Add(*xs) / len(xs)),
    "logsumexp": _reduce(_log_sum_exp),
    "norm": lambda a: Tensor.number(sp.sqrt(sp.Add(*(x**2 for x in a.entries)))),
    "softmax": _along(lambda x, line: sp.exp(x) / sp.Add(*map(sp.exp, line))),
    "log_softmax": _along(lambda x, line: x - _log_sum_exp(line)),
}
"""What each array function a formula can spell means; the ones that take
an axis get it as their second argument (None: their default)."""

TAKES_AXIS = frozenset({"sum", "mean", "logsumexp", "softmax", "log_softmax"})
EXTREMA = frozenset({"max", "min"})
"""Elementwise of several operands; of one array, or with an axis, the
largest (smallest) entry of all or of each line."""


def _extremum(name: str, a: Tensor, axis, node: Apply, switches, selector) -> Tensor:
    def combine(xs: list) -> sp.Expr:
        return switch(name, node.span, tuple(xs), switches, selector)
    return _reduce(combine)(a, axis)


def _aligned(args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """Alignment by name, told by sizes (the check gives every dimension
    name its own size): a vector that NumPy's rule cannot line up with a
    matrix's last axis but that fits its first stands as a column."""
    matrices = [a for a in args if len(a.shape) == 2]
    if not matrices:
        return args
    rows, columns = matrices[0].shape
    return tuple(Tensor((a.shape[0], 1), a.entries)
                 if len(a.shape) == 1 and a.shape[0] not in (1, columns) and a.shape[0] == rows
                 else a for a in args)


def broadcast(entry: Callable[..., sp.Expr], args: tuple[Tensor, ...]) -> Tensor:
    """`entry` applied entry by entry, NumPy's way: shapes line up at their
    last axis, and an axis of size 1 (or a missing one) repeats."""
    rank = max(len(a.shape) for a in args)
    padded = [(1,) * (rank - len(a.shape)) + a.shape for a in args]
    shape = tuple(max(sizes) for sizes in zip(*padded))
    for sizes in padded:
        if any(s not in (1, full) for s, full in zip(sizes, shape)):
            raise ValueError(f"shapes {[a.shape for a in args]} do not broadcast")

    def own(a: Tensor, index: tuple) -> tuple:
        mine = index[rank - len(a.shape):]
        return tuple(0 if size == 1 else i for i, size in zip(mine, a.shape))

    return Tensor.of(shape, lambda index: entry(*(a.at(own(a, index)) for a in args)))


# -- from the program ----------------------------------------------------------

@dataclass(frozen=True)
class ArrayOracle:
    oracle: Oracle
    """Its symbols are every input entry, in INPUTS order and row-major,
    then the upstream's entries; its value is the output (or sum(U * Z))."""
    inputs: int
    """How many of the symbols are input entries (the rest are upstream)."""
    output: Tensor

    def compile(self) -> Callable:
        """One mpmath function of the symbols and the selectors that returns
        the output's entries, then the gradient by every input entry."""
        shared, gradient = differentiate(self.oracle.value, self.oracle.symbols[:self.inputs])
        selectors = tuple(s for switch in self.oracle.switches for s in switch.selectors)
        return sp.lambdify(self.oracle.symbols + selectors,
                           list(self.output.entries + gradient), modules="mpmath",
                           cse=lambda exprs: (shared, exprs))


    def kinks(self, tied: list[Switch], owners) -> tuple[tuple[str, ...], frozenset[str]]:
        """A message per kinked gate (by its place in the file), and the
        inputs its operands depend on; `owners` is (input, entries) in order."""
        owner, symbols = {}, iter(self.oracle.symbols)
        for name, count in owners:
            owner.update((next(symbols), name) for _ in range(count))
        messages, affected = {}, set()
        for switch in tied:
            gate = next(n for n, rule in PIECEWISE.items() if rule is switch.rule)
            where = f"line {switch.span.line}, column {switch.span.column}"
            messages.setdefault(f"{CONVENTIONS[gate]} ({where})", None)
            for arg in switch.args:
                affected |= {owner[s] for s in arg.free_symbols if s in owner}
        return tuple(messages), frozenset(affected)


CONVENTIONS = {"relu": "relu at 0: the gradient is 0 by convention",
               "abs": "abs at 0: the gradient is 0 by convention",
               "max": "max tie: the first argument takes the gradient by convention",
               "min": "min tie: the first argument takes the gradient by convention"}
"""gradc's conventions at a kink, as the report states them."""


def differentiate(value: sp.Expr, wanted) -> tuple[list, tuple]:
    """The derivative of `value` by each of `wanted`, over its common
    subexpressions: SymPy's `cse` shares them, `sp.diff` differentiates
    each once, and the chain rule sums the paths (from the value down).

    Differentiating the whole tree by every entry is quadratic and takes
    SymPy tens of seconds for a two-layer network at sizes 2..5; shared,
    it takes one.  Returns the subexpressions (the values', then the
    derivatives') and the derivatives over them."""
    names = iter(_names("_c"))
    shared, (root,) = sp.cse([value], symbols=names)
    # A condition (a label's Eq, which cse may share) has no derivative:
    # nothing flows through it.
    known = set(wanted) | {symbol for symbol, expr in shared
                           if not isinstance(expr, sp.logic.boolalg.Boolean)}
    paths: dict[sp.Symbol, list] = {}

    def reach(expr, weight) -> None:
        for symbol in expr.free_symbols & known:
            paths.setdefault(symbol, []).append(weight * sp.diff(expr, symbol))

    reach(root, sp.S.One)
    steps = []
    # cse lists a subexpression after those it uses: reversed, every user
    # of a subexpression comes before it, so its paths are complete.
    for symbol, expr in reversed(shared):
        through = sp.Symbol(f"_d{symbol.name}")
        steps.append((through, sp.Add(*paths.pop(symbol, ()))))
        if symbol in known:
            reach(expr, through)
    return shared + steps, tuple(sp.Add(*paths.get(s, ())) for s in wanted)


def _names(prefix: str):
    """Symbols `_c0`, `_c1`, ...: plain names that no formula's entries use,
    so that lambdify need not rename them (it would, for a Dummy, at a
    cost quadratic in the expression's size)."""
    count = 0
    while True:
        yield sp.Symbol(f"{prefix}{count}", real=True)
        count += 1


def build(program: Program, sizes: dict[str, int]) -> ArrayOracle:
    """The oracle at these dimension sizes (by dimension name)."""
    entries = _names("_x")
    scope: dict[str, Tensor] = {}
    symbols: list[sp.Symbol] = []
    for name in program.inputs:
        shape = tuple(sizes.get(d, d) for d in (program.shapes or {}).get(name.id, ()))
        scope[name.id] = Tensor.of(shape, lambda index: next(entries))
        if name.id in (program.labels or {}):
            count = program.labels[name.id]
            scope[name.id] = replace(scope[name.id], classes=sizes.get(count, count))
        symbols.extend(scope[name.id].entries)
    scope.update((n, Tensor.number(CONSTANTS[n])) for n in program.constants)
    scope.update((d, Tensor.number(sp.Integer(sizes[d]))) for d in program.dims)
    switches: list[Switch] = []
    selectors = _names("_s")
    for binding in program.bindings:
        scope[binding.name] = _translate(binding.value, scope, switches,
                                         lambda _: next(selectors), sizes)
    output = scope[program.bindings[-1].name]
    upstream = Tensor.of(output.shape, lambda index: next(entries)) if output.shape else None
    value = output.entries[0] if upstream is None else sp.Add(
        *(u * z for u, z in zip(upstream.entries, output.entries)))
    every = tuple(symbols) + (upstream.entries if upstream else ())
    oracle = Oracle(tuple(n.id for n in program.inputs), every, value, tuple(switches))
    return ArrayOracle(oracle, len(symbols), output)


def _translate(root: Expr, scope: dict[str, Tensor], switches: list[Switch],
               selector, sizes: dict[str, int]) -> Tensor:
    def leaf(node) -> Tensor:
        if isinstance(node, Keyword):  # an axis: a number, or a dimension's size
            value = node.value
            return _Axis(int(value.value) if isinstance(value, Number) else None,
                         sizes.get(getattr(value, "id", None)))
        if isinstance(node, Number):
            return Tensor.number(sp.Integer(int(node.value)) if node.integral
                                 else sp.Rational(node.value))
        return scope[node.id]

    return fold(root, leaf, lambda node, args: _apply(node, tuple(args), switches, selector))


@dataclass(frozen=True)
class _Axis:
    index: int | None
    size: int | None
    """For an axis named by its dimension, that dimension's size."""

    def of(self, a: Tensor) -> int:
        return self.index if self.index is not None else a.shape.index(self.size)


def _apply(node: Apply, args: tuple[Tensor, ...], switches: list[Switch], selector) -> Tensor:
    name = gate_name(node)
    axis = args[-1].of(args[0]) if args and isinstance(args[-1], _Axis) else None
    if axis is not None:
        args = args[:-1]
    if name == "onehot":
        return onehot(args[0], args[0].classes)
    if name in EXTREMA and len(args) == 1:
        return _extremum(name, args[0], axis, node, switches, selector)
    if axis is not None:
        return ARRAY[name](args[0], axis)
    if name == "mul" and is_implicit(node) and follows_transpose(node) \
            and args[0].shape and args[1].shape:
        return matmul(*args)
    if name in ARRAY:
        if name in TAKES_AXIS and len(args) == 2:
            return ARRAY[name](args[0], int(args[1].entries[0]))
        return ARRAY[name](*args)
    if name in SMOOTH:
        return broadcast(SMOOTH[name], _aligned(args))
    if name in PIECEWISE:
        return broadcast(lambda *xs: switch(name, node.span, xs, switches, selector),
                         _aligned(args))
    raise LookupError(f"the oracle has no meaning for the gate '{name}'")
