"""A numpy module's gradient over a Dask array's chunks of rows.

For a loss that is the total or the average over rows of a term of each
row (a loss over a batch), the gradient of a weight is the total of its
gradients over chunks of rows, each chunk's weighted by its share of the
rows for an average.  So each worker can run the numpy module
itself on a whole chunk, one task per chunk, and the partial results are
added as a tree:

    import dask
    from compiler import load
    from compiler.distributed import grad_by_row_chunks

    module = load("examples/arrays/logistic_regression.txt", wrt=("w", "b"))
    loss, (dw, db) = grad_by_row_chunks(module, X, w, y, b, wrt=("w", "b"))
    loss, dw, db = dask.compute(loss, dw, db)

The inputs whose first declared dimension is the rows' (`rows`, by default
the first dimension of the first input that declares a shape: N for
X: [N, D]) are Dask arrays, split along the rows only; the others (weights,
numbers) go to every task whole.  Nothing is computed until the caller asks.

The compile path never imports this module, and this module imports Dask
only when it is called.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

_LETTERS = "abcdefghjklmnopqrstuvwxy"
"""Index letters for the axes blockwise does not split: not "i" (rows) or "z" (results)."""


def grad_by_row_chunks(module, *args, wrt=None, rows: str | None = None,
                       averaged: bool = True, split_every: int = 8,
                       keep_freed_memory: bool = True):
    """(loss, gradients) as Dask arrays: the numpy module's `grad` on each
    chunk of rows, weighted and summed as a tree of `split_every` branches.

    `args` are the module's inputs in INPUTS order.  `wrt` names the inputs
    whose gradients the module returns, in its order (its --wrt; by default
    all of INPUTS); none of them may be a row input, whose gradient is not a
    sum over chunks.  `averaged`: the loss is the average of its rows' terms,
    so each chunk's loss and gradients are weighted by its rows over all
    rows; False: their plain total.  `keep_freed_memory`: in a Dask worker,
    let glibc keep up to 64 MiB of freed memory for the next chunk, where
    the nanny's MALLOC_TRIM_THRESHOLD_ would give it back at every task
    (False leaves the worker's malloc as the cluster set it)."""
    import dask.array as da

    if len(args) != len(module.INPUTS):
        raise TypeError(f"the module takes {len(module.INPUTS)} inputs "
                        f"{module.INPUTS}, not {len(args)}")
    wrt = tuple(module.INPUTS if wrt is None else wrt)
    row_inputs = _row_inputs(module, wrt, rows)
    values = dict(zip(module.INPUTS, args))
    chunks = da.asarray(values[row_inputs[0]]).chunks[0]
    shapes = [np.shape(values[name]) for name in wrt]
    width = 1 + sum(math.prod(shape) for shape in shapes)
    letters = iter(_LETTERS)
    pairs = []
    for name in module.INPUTS:
        pairs += _blockwise_pair(values[name], name in row_inputs, chunks, letters)
    partials = da.blockwise(
        _chunk_gradient, "iz", *pairs, new_axes={"z": width}, adjust_chunks={"i": 1},
        concatenate=True, dtype=np.float64, meta=np.empty((0, 0)),
        source=inspect.getsource(module), count=len(wrt),
        rows_of=module.INPUTS.index(row_inputs[0]),
        total_rows=sum(chunks) if averaged else None, keep_freed_memory=keep_freed_memory)
    total = da.from_delayed(_tree_sum(list(partials.to_delayed().ravel()), split_every),
                            shape=(width,), dtype=np.float64)
    return total[0], tuple(_unpacked(total, shapes))


def _row_inputs(module, wrt, rows: str | None) -> list[str]:
    """The inputs whose first dimension is `rows` (by default the first
    dimension of the first input that declares a shape), none in `wrt`."""
    rows = rows or next(shape[0] for shape in module.SHAPES.values() if shape)
    found = [name for name in module.INPUTS if module.SHAPES.get(name, ())[:1] == (rows,)]
    if not found:
        raise ValueError(f"no input of the module has {rows} as its first dimension")
    in_rows = [name for name in wrt if name in found]
    if in_rows:
        verb = "is a row input" if len(in_rows) == 1 else "are row inputs"
        raise ValueError(f"{', '.join(in_rows)} {verb}: its gradient is one row per row, not "
                         "a sum over chunks; compile with --wrt naming the other inputs "
                         "only, or use the array-api module")
    return found


def _tree_sum(parts, branches: int):
    """The sum of delayed rows, `branches` at a time: one task per group,
    where Dask's own sum adds one task per chunk before its tree."""
    import dask

    while len(parts) > 1:
        parts = [dask.delayed(_added, pure=True)(*parts[start:start + branches])
                 for start in range(0, len(parts), branches)]
    return dask.delayed(np.ravel, pure=True)(parts[0])


def _added(*rows):
    return np.sum(rows, axis=0)


def _blockwise_pair(value, split, chunks, letters):
    """(array, its index) for da.blockwise: a row input split along the rows
    ("i") and whole along its other axes; any other array whole, as one
    chunk; a number as it is."""
    import dask.array as da

    if np.ndim(value) == 0 and not hasattr(value, "dask"):
        return [value, None]
    array = da.asarray(value)
    own = "".join(next(letters) for _ in range(array.ndim - (1 if split else 0)))
    if split:
        return [array.rechunk({0: chunks} | {axis: -1 for axis in range(1, array.ndim)}),
                "i" + own]
    return [array.rechunk(-1), own]


def _unpacked(total, shapes):
    """Each gradient, in its input's shape, from the reduced row."""
    start = 1
    for shape in shapes:
        size = math.prod(shape)
        yield total[start:start + size].reshape(shape)
        start += size


_MODULES: dict[str, object] = {}


def _chunk_gradient(*values, source, count, rows_of, total_rows, keep_freed_memory):
    """One chunk's loss and gradients, packed in one row [loss, *gradients],
    weighted by the chunk's share of the rows when the loss is averaged."""
    module = _MODULES.get(source)
    if module is None:
        from compiler.loader import module_from_source
        if keep_freed_memory:
            _keep_freed_memory_in_a_worker()
        module = _MODULES[source] = module_from_source(source, "gradc_chunk", "<gradc chunk>")
    loss, gradients = module.grad(*values)
    if len(gradients) != count:
        raise ValueError(f"the module returns {len(gradients)} gradients, not the {count} "
                         "that wrt names: pass the --wrt it was compiled with")
    packed = np.concatenate([np.reshape(loss, 1)] + [np.ravel(g) for g in gradients])
    if total_rows is not None:
        packed *= np.shape(values[rows_of])[0] / total_rows
    return packed[np.newaxis, :]


# glibc's malloc options (malloc.h): what freed memory it keeps on its heap,
# and the size from which it maps a new array of its own instead.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def _keep_freed_memory_in_a_worker():
    """In a Dask worker process, let glibc's malloc keep up to 64 MiB of
    freed memory for reuse, as it does by default after a large free.

    Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which
    fixes malloc's thresholds: every array over 128 KiB is mapped afresh and
    given back when freed, so each of a chunk's temporaries (4 MB for
    500,000 rows) is faulted in page by page at every task: 14,655 page
    faults and two to three times the time for logistic regression's chunk.
    Outside a worker, and without glibc, nothing changes."""
    try:
        from distributed import get_worker
        get_worker()
    except (ImportError, ValueError):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt     # the C library the process runs on
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
