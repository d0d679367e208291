"""grad's lines for a file that declares shapes: forward's and backward's in
one body, where a line may write its result into an array the call made
itself and no later line reads (`out=`).

`X @ W1 + b1` makes a new array for the product and another for the sum;
the sum may as well go into the product's array when nothing reads the
product afterwards: `XW1pb1 = np.add(XW1, b1, out=XW1)`.  That is legal
only for an array

* the call made itself: the result of an operator or a ufunc on arrays,
  never an input (the caller's array), a view (`W2.T`), or a name that
  only repeats another (`dhW2 = dS`: the two are one array);
* of the result's own shape, so that no broadcasting writes past it;
* that no later line reads under any of its names or through a view of
  it (`T = H.T` is H's memory), nor the return.

This is an ownership and last-use analysis over the lines' trees, each line
one value: the values are numbered in order, a name standing for the last
value assigned to it.  The lines compute the same operations on the same
operands as forward and backward, so grad's numbers are theirs to the bit.
The lecture's `forward` and `backward` keep their one-stage-per-line form.
"""

from __future__ import annotations

from typing import NamedTuple

from compiler.emit.printers import UFUNCS, NumpyPrinter
from compiler.gates.expr import (Attr, BinOp, Call, Expr, Function, Group, Name, Subscript,
                                 UnaryOp, walk)

_FRESH_OPERATORS = frozenset("+ - * / ** @".split())


class Line(NamedTuple):
    """One line of grad: the name it assigns and its tree (None for a line
    given as text alone, which reads no array the call made: an input's
    check, a size, zeros)."""

    name: str
    tree: Expr | None
    text: str
    """The line as forward or backward writes it, its comment included."""
    note: str = ""
    """The comment, for the line written anew."""


def in_place(lines: list[Line], shapes: dict[str, tuple], returned: tuple[str, ...],
             printer: NumpyPrinter) -> tuple[str, ...]:
    """Each line's text, as `Line.text` or writing into an array it frees
    (`name = np.ufunc(..., out=operand)`); `shapes`: each name's shape,
    `returned`: the names the return statement reads."""
    last = _last_reads(lines, returned)
    array: dict[int, int] = {}
    """Each value's array, by the number of the value that made it."""
    read_until: dict[int, int] = {}
    """Each array made by the call, and the last line that reads a value it
    holds or held, under any name or view."""
    current: dict[str, int] = {}
    texts = []
    for index, line in enumerate(lines):
        text, into = line.text, None
        tree = line.tree
        viewed = _viewed_name(tree)
        if viewed in current:
            array[index] = array[current[viewed]]
        else:
            into = _free_operand(line, current, array, read_until, index, shapes, printer)
            array[index] = array[current[into]] if into else index
            if into is None and _fresh(tree, printer) and shapes.get(line.name):
                read_until[index] = index
        if array[index] in read_until:
            read_until[array[index]] = max(read_until[array[index]], last[index])
        if into is not None:
            ufunc, operands = printer.ufunc_call(tree)
            text = (f"{line.name} = {printer.module}.{ufunc}("
                    f"{', '.join(map(printer.print, operands))}, out={into})")
            text = f"{text}  # {line.note}" if line.note else text
        texts.append(text)
        current[line.name] = index
    return tuple(texts)


def _free_operand(line: Line, current, array, read_until, index: int, shapes,
                  printer: NumpyPrinter) -> str | None:
    """The operand whose array the line may write its result into, if any."""
    call = printer.ufunc_call(line.tree) if line.tree is not None else None
    shape = shapes.get(line.name)
    if call is None or not shape:
        return None
    for operand in call[1]:
        if not isinstance(operand, Name) or operand.id not in current:
            continue
        held = array[current[operand.id]]
        if (held in read_until and shapes.get(operand.id) == shape
                and read_until[held] <= index):
            return operand.id
    return None


def _viewed_name(tree: Expr | None) -> str | None:
    """The name whose memory the line's value is, if it is that name itself
    or a view of it (`H.T`, `m[:, None]`, `g[:, 0]`)."""
    while isinstance(tree, (Attr, Subscript, Group)):
        if isinstance(tree, Attr) and tree.name != "T":
            return None
        tree = tree.inner if isinstance(tree, Group) else tree.value
    return tree.id if isinstance(tree, Name) else None


def _fresh(tree: Expr | None, printer: NumpyPrinter) -> bool:
    """Whether the line's value is a new array: an operator or a ufunc's
    result, never a view or another name's array."""
    if isinstance(tree, BinOp):
        return tree.op in _FRESH_OPERATORS
    if isinstance(tree, UnaryOp):
        return tree.op == "-"
    return (isinstance(tree, Call) and isinstance(tree.func, Function)
            and printer.known.get(tree.func.name, tree.func.name) in UFUNCS)


def _last_reads(lines: list[Line], returned: tuple[str, ...]) -> dict[int, int]:
    """The last line that reads each value (len(lines) for the return)."""
    current: dict[str, int] = {}
    last: dict[int, int] = {}
    for index, line in enumerate(lines):
        read = () if line.tree is None else {node.id for node in walk(line.tree)
                                             if isinstance(node, Name)}
        for name in read:
            if name in current:
                last[current[name]] = index
        current[line.name] = index
        last.setdefault(index, index)
    for name in returned:
        if name in current:
            last[current[name]] = len(lines)
    return last
