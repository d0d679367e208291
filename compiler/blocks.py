"""The numpy target's block lines -> the same lines, each result written into
its array; and how many points a block holds.

The numpy target's `grad` works in blocks of points (templates/numpy.py.jinja).
`_grad_block` receives a slice of each result array, the value's and each
gradient's, under the result's own name, and fills it.  A line that
assigns a result, `f = num * invden`, becomes the ufunc call that computes
it straight into that slice, `np.multiply(num, invden, out=f)`: NumPy then
writes each result once, where a temporary array and a copy of it would
write it twice.  The lines after it read the slice by the same name.  A
line whose code is not one ufunc call (a name, a number) copies its value
into the slice: `dx[...] = z`.  Either way the numbers are the line's, bit
for bit, since an operator on arrays is its ufunc.
"""

from __future__ import annotations

import ast

BLOCK_BYTES = 2**23
"""What a block's arrays may take together, in bytes: about 8 MiB, inside
the caches of the machines gradc is measured on (docs/performance.md)."""


def block_power(arrays: int) -> int:
    """The power of 2 of the points a block holds, for a block whose lines
    and inputs make `arrays` arrays: as many points as fit BLOCK_BYTES of
    float64s, from 2^12 to 2^17.  With fewer points Python's cost per ufunc
    call (about 1 µs, where an addition over 2^14 points takes 4 µs)
    weighs more; with more, a stage's array is evicted from the cache
    before the lines that read it run."""
    return min(max((BLOCK_BYTES // (8 * max(arrays, 1))).bit_length() - 1, 12), 17)


# The ufunc NumPy runs for each operator that gate code writes.
_OPERATORS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply",
              ast.Div: "divide", ast.USub: "negative"}


def write_into(lines: tuple[str, ...], results: tuple[str, ...]) -> tuple[str, ...]:
    """`lines` (each `name = code`), those that assign one of `results` rewritten."""
    return tuple(_into(line) if line.split(" = ", 1)[0] in results else line for line in lines)


def _into(line: str) -> str:
    name, code = line.split(" = ", 1)
    node = ast.parse(code, mode="eval").body
    call = _ufunc_call(node)
    if call is None:
        return f"{name}[...] = {code}"
    ufunc, operands = call
    return f"np.{ufunc}({', '.join(ast.get_source_segment(code, op) for op in operands)}, out={name})"


def _ufunc_call(node: ast.expr) -> tuple[str, list[ast.expr]] | None:
    """The ufunc that computes `node` last, and its operands; None if there is none."""
    if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in _OPERATORS:
        operands = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.operand]
        return _OPERATORS[type(node.op)], operands
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "np"
            and not node.keywords and _is_ufunc(node.func.attr)):
        return node.func.attr, node.args
    return None


def _is_ufunc(name: str) -> bool:
    # Imported here: only numpy lines come this far, and a compile for another
    # target should not pay for importing NumPy.
    import numpy
    return isinstance(getattr(numpy, name, None), numpy.ufunc)
