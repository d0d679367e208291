"""A block's lines as one ufunc a line, each value the block makes computed
into one of the block's own scratch arrays (`out=scratch[k]`).

`_grad_block` (templates/numpy.py.jinja) computes a block of points at a
time.  Written as expressions, each operation of a line makes a new array
for its result; here each operation on arrays is a line of its own that
writes into a scratch array, one of a few that `_in_blocks` makes once per
call: a block's temporaries are then allocated once, not once per
operation, and the few arrays the lines cycle through stay in the cache.

    sigy = np.maximum(exp_y, y >= 0) / add_exp_y
becomes
    maximum_exp_y = np.maximum(exp_y, y >= 0, out=scratch[2])
    sigy = np.divide(maximum_exp_y, add_exp_y, out=scratch[2])

A scratch array is taken again once the last line that reads its value has
run, by that line itself if it likes (a ufunc may write into its operand).
Only a ufunc with an operand that is a float64 array of the block goes into
scratch: its result is then a float64 array of the block's length.  What is
not a ufunc (`np.where`, `.astype`, `**`) and what makes booleans (`x >= 0`)
stays inside its line and makes its own array, as before.

When an input is a number, or not float64, `_in_blocks` passes None for
every scratch array: NumPy's `out=None` makes a new array (or a number)
for each line, as the expressions did.  So a value computed from numbers
alone stays a number, computed once, as forward computes it.

The operations and their operands are the expressions', in the same order,
so every value keeps its bits.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from compiler.emit.blocks import fresh_name, named_after, opaque
from compiler.gates.expr import Attr, BinOp, Call, Expr, Name, map_children, walk

UfuncOf = Callable[[Expr], "tuple[str, tuple[Expr, ...]] | None"]


class BlockLine(NamedTuple):
    name: str
    tree: Expr
    scratch: int | None = None
    """The scratch array the line's ufunc writes into, if any."""


class Block(NamedTuple):
    lines: list[BlockLine]
    count: int
    """How many scratch arrays the lines take."""
    name: str
    """The block's name for its list of scratch arrays, free among its own."""


def into_scratch(lines: list[tuple[str, Expr]], inputs: tuple[str, ...],
                 results: frozenset[str], ufunc_of: UfuncOf) -> Block:
    """`lines` (`(name, tree)`, in order) as one ufunc a line where the
    ufunc makes a float64 array.  `ufunc_of` is the printer's `ufunc_call`."""
    flat = _flattened(lines, inputs, results, ufunc_of)
    allocated, count = _allocated(flat)
    taken = set(inputs) | results | {line.name for line in allocated}
    return Block(allocated, count, fresh_name("scratch", taken))


def _flattened(lines, inputs, results, ufunc_of: UfuncOf) -> list[tuple[str, Expr, bool]]:
    """Each line, preceded by a line for each ufunc inside it that makes an
    array, named after what it computes; `(name, tree, into scratch)`."""
    floats = set(inputs)
    taken = set(inputs) | {name for name, _ in lines} | {
        node.id for _, tree in lines for node in walk(tree) if isinstance(node, Name)}
    out: list[tuple[str, Expr, bool]] = []

    def flat(node: Expr, top: bool) -> Expr:
        if opaque(node):
            return node
        node = map_children(node, lambda child: flat(child, False))
        if top or not _makes_floats(node, floats, ufunc_of):
            return node
        name = fresh_name(named_after(node), taken)
        out.append((name, node, True))
        floats.add(name)
        return Name(name)

    for name, tree in lines:
        tree = flat(tree, True)
        made = _makes_floats(tree, floats, ufunc_of)
        if made or _is_float(tree, floats, ufunc_of):
            floats.add(name)
        out.append((name, tree, made and name not in results))
    return out


def _makes_floats(node: Expr, floats: set[str], ufunc_of: UfuncOf) -> bool:
    """Whether the node is a ufunc with a float64 array among its operands
    (every ufunc gates call gives float64 then: printers.UFUNCS)."""
    call = ufunc_of(node)
    return call is not None and any(_is_float(operand, floats, ufunc_of) for operand in call[1])


def _is_float(node: Expr, floats: set[str], ufunc_of: UfuncOf) -> bool:
    """Whether the node is surely a float64 array of the block when every
    input is one: an input, a value made so, or `.astype(float)` of arrays."""
    if isinstance(node, Name):
        return node.id in floats
    if isinstance(node, BinOp) and node.op == "**":
        return _is_float(node.left, floats, ufunc_of) or _is_float(node.right, floats, ufunc_of)
    if isinstance(node, Call) and isinstance(node.func, Attr) and node.func.name == "astype":
        return node.args == (Name("float"),) and any(
            isinstance(each, Name) and each.id in floats for each in walk(node.func.value))
    return _makes_floats(node, floats, ufunc_of)


def _allocated(flat) -> tuple[list[BlockLine], int]:
    """Each line into scratch given the lowest free scratch array: one whose
    value no line from this one on reads."""
    last = _last_reads(flat)
    held: dict[str, int] = {}
    free: list[int] = []
    count = 0
    lines = []
    for index, (name, tree, scratch) in enumerate(flat):
        for value in sorted(held):
            if last.get(value, -1) <= index:
                free.append(held.pop(value))
        slot = None
        if scratch:
            if free:
                slot = min(free)
                free.remove(slot)
            else:
                slot, count = count, count + 1
            held[name] = slot
        lines.append(BlockLine(name, tree, slot))
    return lines, count


def _last_reads(flat) -> dict[str, int]:
    """The last line that reads each value; a line that only names another
    value (`a = b`) reads it for as long as its own name is read."""
    last: dict[str, int] = {}
    alias: dict[str, str] = {}
    for index, (name, tree, _) in enumerate(flat):
        for node in walk(tree):
            if isinstance(node, Name):
                last[alias.get(node.id, node.id)] = index
        if isinstance(tree, Name):
            alias[name] = alias.get(tree.id, tree.id)
    return last
