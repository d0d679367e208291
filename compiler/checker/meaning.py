"""What each gate and array function means, from mathematics, in SymPy.

The oracle (`oracle.py`) keeps its own map from gate names to SymPy on
purpose: it says what each gate means in mathematics, so a wrong snippet
in the gate table cannot leak into it.  Tests assert that the maps cover
every gate a formula can spell.

A value is a `Tensor`: a number (shape ()) or an array of SymPy
expressions, row-major.  At the sizes a check runs with, every array
function is written out entry by entry from its definition: a matrix
product is the sums of products, softmax is exp over a sum of exps,
broadcasting repeats entries.  None of it comes from the gate table or
from NumPy, so the oracle cannot share a mistake with the generated
module.

Gates that are smooth only piece by piece (abs, relu, max, min) list their
pieces here; `oracle.switch` makes them a `Piecewise`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations, product
from typing import Callable

import sympy as sp

# What each smooth gate means, from the mathematics.
SMOOTH: dict[str, Callable[..., sp.Expr]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "cdot": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "pow": lambda a, b: a**b,
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "atan2": sp.atan2,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "log1p": lambda a: sp.log(1 + a),
    "expm1": lambda a: sp.exp(a) - 1,
    "softplus": lambda a: sp.log(1 + sp.exp(a)),
}


@dataclass(frozen=True)
class Pieces:
    """A gate that is smooth piece by piece: `pieces(*args)` lists the
    pieces, `active(values)` picks the one in force at the operands' values."""

    pieces: Callable[..., tuple]
    active: Callable[[list[float]], int]
    """At a tie, the pick is gradc's convention (the trace finds the ties,
    by the table's rows, and the report states them)."""


PIECEWISE: dict[str, Pieces] = {
    # At 0 the constant piece is in force: value 0, slope 0.
    "abs": Pieces(lambda a: (a, -a, sp.S.Zero),
                  lambda v: 0 if v[0] > 0 else 1 if v[0] < 0 else 2),
    "relu": Pieces(lambda a: (a, sp.S.Zero), lambda v: 0 if v[0] > 0 else 1),
    # list.index finds the first of tied extrema.
    "max": Pieces(lambda *args: args, lambda v: v.index(max(v))),
    "min": Pieces(lambda *args: args, lambda v: v.index(min(v))),
}


def _shared_extremum(extreme: Callable[[list], float]) -> Pieces:
    """The largest (smallest) entry of a line, as §8's reductions define it:
    at a tie the tied entries share the gradient evenly, so each set of
    entries that can tie is a piece of its own, their mean (the singletons
    first, so that piece i is entry i)."""
    def subsets(count: int) -> list[tuple[int, ...]]:
        return [chosen for size in range(1, count + 1)
                for chosen in combinations(range(count), size)]

    def pieces(*args):
        return tuple(sp.Add(*(args[i] for i in chosen)) / len(chosen)
                     for chosen in subsets(len(args)))

    def active(values: list[float]) -> int:
        best = extreme(values)
        return subsets(len(values)).index(tuple(i for i, v in enumerate(values) if v == best))

    return Pieces(pieces, active)


REDUCTIONS: dict[str, Pieces] = {"max": _shared_extremum(max), "min": _shared_extremum(min)}
"""The reductions' meaning at a tie (the elementwise gates' is PIECEWISE's)."""

CONSTANTS = {"e": sp.E, "pi": sp.pi, "π": sp.pi}



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


def reduction(combine: Callable[[list], sp.Expr]):
    """Over every entry (axis None), or over one axis, which is removed."""
    def reduce(a: Tensor, axis: int | None = None) -> Tensor:
        if axis is None:
            return Tensor.number(combine(list(a.entries)))
        kept = a.shape[:axis] + a.shape[axis + 1:]
        return Tensor.of(kept, lambda index: combine(a.line(index, axis)))
    return reduce


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
    "sum": reduction(lambda xs: sp.Add(*xs)),
    "mean": reduction(lambda xs: sp.Add(*xs) / len(xs)),
    "logsumexp": reduction(_log_sum_exp),
    "norm": lambda a: Tensor.number(sp.sqrt(sp.Add(*(x**2 for x in a.entries)))),
    "softmax": _along(lambda x, line: sp.exp(x) / sp.Add(*map(sp.exp, line))),
    "log_softmax": _along(lambda x, line: x - _log_sum_exp(line)),
}
"""What each array function a formula can spell means; the ones that take
an axis get it as their second argument (None: their default)."""

TAKES_AXIS = frozenset({"sum", "mean", "logsumexp", "softmax", "log_softmax"})
EXTREMA = frozenset(REDUCTIONS)
"""Elementwise of several operands; of one array, or with an axis, the
largest (smallest) entry of all or of each line: the reductions above."""


def aligned(args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
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


