"""Value and gradient over arrays: gradc's numpy and numba targets, JAX and PyTorch.

    python benchmarks/arrays.py               # every example at 10^6 points
    python benchmarks/arrays.py --size 10000  # smaller
    python benchmarks/arrays.py --block 65536 # the numpy target's block size
    python benchmarks/arrays.py --examples circuit multiply --columns "JAX vmap"
    python benchmarks/arrays.py --numba-at 1a2b3c4  # beside the numba module of a commit
    python benchmarks/arrays.py --numpy-at 1a2b3c4  # beside the numpy module of a commit
    python benchmarks/arrays.py --one-core          # every library on one CPU

Each example's inputs are arrays of random points (magnitudes 0.05..3,
either sign), and every column computes the value and every gradient on the
same points.  The time is the minimum over interleaved samples of one call
each, the columns in a new order each round: a call right after one that
read the same inputs, or after a numba loop whose threads still spin, starts
warm, and in a fixed order the same column would always be the one that
gains (with two threads the memory floor, timed right after numba, took
0.7-0.9x the time it took right after the numpy target); the table gives
each column's ratio to the numpy target, then the numpy and numba targets'
ratios to the faster JAX column (`best JAX`).  `numpy whole` is the same
numpy module with BLOCK past the size, so that grad computes every stage
over all the points at once.  The numba module is compiled (or
loaded from its disk cache) and called once before it is timed; so is each
peer.  The peers are benchmarks/peers.py's ARRAY_PEERS, each example written
by hand in the peer's own array functions, as its users write it: JAX in
jax.numpy with 64-bit floats, the inputs put on the device before timing,
`jit(vmap(value_and_grad))` (`JAX vmap`) and jit of the value and its VJP
with a ones cotangent (`JAX vjp`), each call waiting for its results;
PyTorch, autograd on float64 CPU tensors made before timing.  `--numba-at
REV` adds a column for the numba module generated/<example>_numba.py was
at that git commit, to measure a change of the numba target in one run;
`--numpy-at REV` the same for generated/<example>_numpy.py, and `numpy
whole at REV` for that module with BLOCK past the size.
`memory floor` is a compiled loop (numba) that reads the example's inputs
and writes as many new arrays as grad returns, one addition a point: the
bytes grad must move at the least, at this machine's speed.

Without options each library runs on its own threads.  `--one-core` binds
the process to one CPU (the lowest it may run on, or `--one-core N` for CPU
N) and sets the thread variables of numba, OpenBLAS, OpenMP and XLA to one
thread, before NumPy, numba, JAX or PyTorch is imported, so that each
sizes its thread pool for that one CPU; the table's heading names the CPU.
The variables alone are not enough: XLA's CPU runtime still splits a large
elementwise loop over every core the process may use
(`--xla_cpu_multi_thread_eigen=false` only keeps Eigen's own operations on
one thread), so without the binding JAX's figures are those of the whole
machine while numba's are those of one thread.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from one_core import pin_to_one_core  # noqa: E402


def one_core_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--one-core", nargs="?", type=int, const=-1, metavar="CPU",
                        help="bind the process to one CPU (default the lowest it may "
                             "use) and every library to one thread")


def pinned(argv: list[str]) -> int | None:
    """With --one-core in `argv`: this process bound to one CPU, every
    library to one thread, and the CPU returned; else None.  It runs before
    NumPy, numba, JAX or PyTorch is imported: each reads the thread
    variables, and the CPUs it may use, once, when it starts its threads."""
    early = argparse.ArgumentParser(add_help=False)
    one_core_option(early)
    cpu = early.parse_known_args(argv)[0].one_core
    if cpu is None:
        return None
    return pin_to_one_core(None if cpu == -1 else cpu)


ONE_CORE = pinned(sys.argv[1:])

import numpy as np  # noqa: E402

from peers import ARRAY_PEERS  # noqa: E402

from compiler import compile_source  # noqa: E402
from compiler.loader import module_from_file, module_from_source  # noqa: E402

EXAMPLES = sorted((ROOT / "examples").glob("*.txt"))
HAS_NUMBA = importlib.util.find_spec("numba") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None


def numpy_grad(text: str, block: int | None = None):
    """The numpy target's grad; `block` sets the module's BLOCK (sys.maxsize:
    every call in one piece, as before blocking)."""
    module = module_from_source(compile_source(text, target="numpy"), "arrays", "<arrays>")
    module.BLOCK = block or module.BLOCK
    return module.grad


def numba_grad(text: str):
    return module_from_file(compile_source(text, target="numba"), "bench").grad


def module_at(revision: str, target: str = "numba", block: int | None = None):
    """A column: the module of `target` the repository held for the example
    at `revision` (generated/<example>_<target>.py); `block` sets a numpy
    module's BLOCK (sys.maxsize: forward then backward, `numpy whole`)."""
    import subprocess

    def column(stem, text, arrays):
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{revision}:generated/{stem}_{target}.py"],
            capture_output=True, text=True, check=True).stdout
        # A name of its own: the module of the same text, loaded again under
        # the same name, would be this one, its BLOCK shared with the other column.
        module = module_from_file(source, f"bench_{target}_at" + ("_whole" if block else ""))
        if block:
            module.BLOCK = block
        return lambda: module.grad(*arrays)
    return column


def memory_floor(stem, text, arrays):
    """A column: the inputs read and len(arrays) + 1 new arrays written, by a
    loop written out for this count (a loop over a tuple of arrays keeps
    numba from vectorizing it)."""
    import numba

    reads = [f"a{index}" for index in range(len(arrays))]
    writes = [f"r{index}" for index in range(len(arrays) + 1)]
    source = (f"def moved({', '.join(reads + writes)}):\n"
              f"    for point in numba.prange(r0.shape[0]):\n"
              f"        total = {' + '.join(name + '[point]' for name in reads)}\n"
              + "".join(f"        {name}[point] = total\n" for name in writes))
    namespace = {"numba": numba}
    exec(source, namespace)                 # noqa: S102 - the benchmark's own text
    moved = numba.njit(parallel=True)(namespace["moved"])
    return lambda: moved(*arrays, *(np.empty(len(arrays[0])) for _ in writes))


def inputs(text: str) -> tuple[str, ...]:
    return module_from_source(compile_source(text, target="numpy"), "arrays", "<arrays>").INPUTS


def points(text: str, count: int, seed: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.05, 3.0, count) * rng.choice([-1.0, 1.0], count)
            for _ in inputs(text)]


def _gradc(make):
    """A gradc column: its grad of the NumPy arrays as they are."""
    def column(name, text, arrays):
        grad = make(text)
        return lambda: grad(*arrays)
    return column


def _columns() -> dict:
    """Each column's name: (whether it is installed, make(stem, text, arrays) -> call())."""
    columns = {"numpy whole": (True, _gradc(lambda text: numpy_grad(text, sys.maxsize))),
               "numba": (HAS_NUMBA, _gradc(numba_grad)),
               "memory floor": (HAS_NUMBA, memory_floor)}
    columns.update((name, (make is not None, make)) for name, make in ARRAY_PEERS.items())
    return columns


JAX = ("JAX vmap", "JAX vjp")


def round_orders(names: list[str], rounds: int, seed: str) -> list[list[str]]:
    """The order of the columns in each round: shuffled, the same in every run."""
    shuffle = random.Random(seed)
    return [shuffle.sample(names, len(names)) for _ in range(rounds)]


def run(size: int, rounds: int, examples=EXAMPLES, block: int | None = None,
        only: list[str] | None = None, revision: str | None = None,
        numpy_revision: str | None = None) -> None:
    """`only`: the columns to time beside the numpy target (default: all);
    `revision`, `numpy_revision`: a commit whose numba, numpy modules get a
    column too."""
    columns = _columns()
    if revision and HAS_NUMBA:
        columns[f"numba at {revision}"] = (True, module_at(revision))
    if numpy_revision:
        columns[f"numpy at {numpy_revision}"] = (True, module_at(numpy_revision, "numpy"))
        columns[f"numpy whole at {numpy_revision}"] = (
            True, module_at(numpy_revision, "numpy", sys.maxsize))
    present = [name for name, (installed, _) in columns.items()
               if installed and (only is None or name in only)]
    jax = [name for name in JAX if name in present]
    against = [name for name in ("numpy", f"numpy at {numpy_revision}", "numba",
                                 f"numba at {revision}", "memory floor")
               if jax and (name == "numpy" or name in present)]
    threads = "own threads" if ONE_CORE is None else f"one core: CPU {ONE_CORE}"
    print(f"## Arrays: value + gradient at {size:,} points, {threads} "
          "(ratio to the numpy target; lower is faster)\n")
    print("| example | numpy ms | " + " | ".join(present)
          + "".join(f" | {name} / best JAX" for name in against) + " |")
    print("|---|---:|" + "---:|" * (len(present) + len(against)))
    for example in examples:
        text = example.read_text(encoding="utf-8")
        arrays = points(text, size)
        calls = {"numpy": _gradc(lambda text: numpy_grad(text, block))(example.stem, text, arrays)}
        calls.update((name, columns[name][1](example.stem, text, arrays)) for name in present)
        for call in calls.values():
            call()                          # compile, load and warm up
        best = {name: float("inf") for name in calls}
        for order in round_orders(list(calls), rounds, example.stem):
            for name in order:
                best[name] = min(best[name], timeit.timeit(calls[name], number=1))
        cells = [f"{best[name] / best['numpy']:.2f}" for name in present]
        fastest = min((best[name] for name in jax), default=None)
        cells += [f"{best[name] / fastest:.2f}" for name in against]
        print(f"| {example.stem} | {best['numpy'] * 1e3:.2f} | " + " | ".join(cells) + " |")
    print()
    for name, (installed, _) in columns.items():
        if not installed and (only is None or name in only):
            extra = "'.[numba]'" if name == "numba" else "'.[bench]'"
            print(f"{name}: skipped, not installed (pip install {extra}).")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10**6, help="points per input")
    parser.add_argument("--rounds", type=int, default=15, help="samples per column")
    parser.add_argument("--block", type=int, help="the numpy target's BLOCK (points)")
    parser.add_argument("--examples", nargs="+", metavar="STEM",
                        choices=[path.stem for path in EXAMPLES],
                        help="only these examples (default: every one)")
    parser.add_argument("--columns", nargs="+", metavar="NAME", choices=list(_columns()),
                        help="only these columns beside numpy: " + ", ".join(_columns()))
    parser.add_argument("--numba-at", metavar="REV",
                        help="also the numba modules generated/ held at this git commit")
    parser.add_argument("--numpy-at", metavar="REV",
                        help="also the numpy modules generated/ held at this git commit")
    one_core_option(parser)
    args = parser.parse_args()
    examples = [path for path in EXAMPLES if args.examples is None or path.stem in args.examples]
    only = args.columns and args.columns + [f"numba at {args.numba_at}",
                                            f"numpy at {args.numpy_at}",
                                            f"numpy whole at {args.numpy_at}"]
    run(args.size, args.rounds, examples, block=args.block, only=only, revision=args.numba_at,
        numpy_revision=args.numpy_at)


if __name__ == "__main__":
    main()
