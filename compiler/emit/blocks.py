"""A result's code and its outermost ufunc -> the line that writes it into
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


def written_into(name: str, call: tuple[str, tuple[str, ...]] | None, code: str,
                 numpy: str = "np") -> str:
    """The line that computes `code` into the result array `name`: the
    ufunc call `code` makes last (printers.Call), with `out=`, or a copy
    when it makes none; `numpy` is the module's name for NumPy."""
    if call is None:
        return f"{name}[...] = {code}"
    ufunc, operands = call
    return f"{numpy}.{ufunc}({', '.join(operands)}, out={name})"
