"""Compile time on R(n): the whole `gradc compile` process, and its steps.

    python benchmarks/compile_time.py               # R(10^3), R(10^4), R(10^5)
    python benchmarks/compile_time.py --million     # and R(10^6): about a minute
    python benchmarks/compile_time.py --sizes 200,400
    python benchmarks/compile_time.py --against /tmp/old --sizes 100000
                                        # this tree beside another checkout
    python benchmarks/compile_time.py --against /tmp/old --steps 100000
                                        # each step, beside another checkout

The first table runs `gradc compile R.txt -o R.py` in a child process per
size (start-up included) with the child's peak resident memory (VmHWM,
so Linux only); its last column is the time CPython itself then takes to
compile the generated module (what an import costs the first time).  The
second runs each step of the pipeline in this process on the largest size
up to 10^5.  benchmarks/run.py prints both after its other tables.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from random_circuit import circuit  # noqa: E402

# CPython's compiler is superlinear in a function's length: at 10^6 gates
# compiling the module would take far longer than gradc does.
_LARGEST_MODULE_COMPILED = 100_000


def compile_table(sizes: list[int]) -> None:
    print("## `gradc compile` on R(n), the whole process\n")
    print(f"| n | seconds | µs per gate | per gate / per gate at {sizes[0]:,} | peak MiB "
          "| CPython compiles the module, s |")
    print("|---:|---:|---:|---:|---:|---:|")
    first = None
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            formula = Path(folder) / f"r{n}.txt"
            formula.write_text(circuit(n), encoding="utf-8")
            module = formula.with_suffix(".py")
            seconds, peak = _child(["compile", str(formula), "-o", str(module)])
            per_gate = seconds / n
            first = first or per_gate
            print(f"| {n:,} | {seconds:.2f} | {per_gate * 1e6:.1f} | {per_gate / first:.2f} "
                  f"| {peak / 1024:.0f} | {_python_compile(module, n)} |")
    print()


# The child reports its own peak resident memory (VmHWM) as it exits.  The
# rusage of a child counts the memory of the parent it was forked from, so
# `os.wait4` would report this benchmark's own size for small runs.
_MEASURED = """
import atexit, sys
def _peak():
    with open("/proc/self/status") as status:
        print(next(line for line in status if line.startswith("VmHWM")), file=sys.stderr)
atexit.register(_peak)
from compiler.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _child(arguments: list[str], root: Path = ROOT) -> tuple[float, int]:
    """Wall seconds and peak resident KiB of one `gradc` process, with the
    compiler of the checkout at `root`."""
    return _timed_child(arguments, root)[:2]


def _timed_child(arguments: list[str], root: Path = ROOT) -> tuple[float, int, float]:
    """`_child`'s figures, and the child's processor seconds (user and
    system), which other processes on the machine disturb less than the
    wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", _MEASURED, *arguments], cwd=root,
                           stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, PYTHONPATH=str(root)))
    seconds = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"gradc {' '.join(arguments)} failed:\n{child.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, int(child.stderr.split()[-2]), cpu


def _python_compile(module: Path, n: int) -> str:
    if n > _LARGEST_MODULE_COMPILED:
        return "not measured"
    source = module.read_text(encoding="utf-8")
    start = time.perf_counter()
    compile(source, str(module), "exec")
    return f"{time.perf_counter() - start:.2f}"


def step_table(n: int) -> None:
    """Seconds per pipeline step on R(n), in this process, GC off as in the driver."""
    from compiler.passes.adjoint import adjoint
    from compiler.emit.context import context
    from compiler.passes.optimize import optimize
    from compiler.front.parse import parse
    from compiler.emit.render import render
    from compiler.front.resolve import resolve
    from compiler.passes.stage import stage

    steps = (("parse", parse), ("resolve", resolve), ("stage", stage),
             ("optimize", optimize), ("adjoint", adjoint), ("emit", context),
             ("render", render))
    print(f"## Where the time goes: each step on R({n:,}), in one process\n")
    print("| step | seconds |")
    print("|---|---:|")
    value = circuit(n)
    gc.disable()
    try:
        for name, step in steps:
            start = time.perf_counter()
            value = step(value)
            print(f"| {name} | {time.perf_counter() - start:.2f} |")
    finally:
        gc.enable()
    print()


def side_by_side(sizes: list[int], other: Path, repeats: int) -> None:
    """`gradc compile` on R(n) with this checkout's compiler and another's,
    run in turns in one process tree, so that both see the same machine:
    the median of `repeats` runs each, wall and processor seconds, and
    whether the modules are equal."""
    print(f"## `gradc compile` on R(n): this tree beside {other}\n")
    print("| n | this tree, s | other, s | ratio | CPU s (this / other) | CPU ratio "
          "| peak MiB (this / other) | same module |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            formula = Path(folder) / f"r{n}.txt"
            formula.write_text(circuit(n), encoding="utf-8")
            runs: dict[Path, list] = {ROOT: [], other: []}
            for _ in range(repeats):
                for root in (other, ROOT):
                    module = Path(folder) / f"r{n}_{len(runs[root])}_{root.name}.py"
                    runs[root].append((*_timed_child(
                        ["compile", str(formula), "-o", str(module)], root), module.read_bytes()))
            mine, theirs = (statistics.median(run[0] for run in runs[root])
                            for root in (ROOT, other))
            cpu_mine, cpu_theirs = (statistics.median(run[2] for run in runs[root])
                                    for root in (ROOT, other))
            peaks = "/".join(f"{max(run[1] for run in runs[root]) / 1024:.0f}"
                             for root in (ROOT, other))
            same = runs[ROOT][0][3] == runs[other][0][3]
            print(f"| {n:,} | {mine:.2f} | {theirs:.2f} | {mine / theirs:.2f} "
                  f"| {cpu_mine:.2f} / {cpu_theirs:.2f} | {cpu_mine / cpu_theirs:.2f} | {peaks} "
                  f"| {'yes' if same else 'no'} |")
    print()


# Each step of `step_table` in a child, with the compiler of the checkout on
# its path: processor seconds, so that other processes disturb it less.
_STEPS = """
import gc, json, sys, time
from compiler.front.parse import parse
from compiler.front.resolve import resolve
from compiler.passes.stage import stage
from compiler.passes.optimize import optimize
from compiler.passes.adjoint import adjoint
from compiler.emit.context import context
from compiler.emit.render import render
value = open(sys.argv[1], encoding="utf-8").read()
seconds = {}
gc.disable()
for name, step in (("parse", parse), ("resolve", resolve), ("stage", stage),
                   ("optimize", optimize), ("adjoint", adjoint), ("emit", context),
                   ("render", render)):
    start = time.process_time()
    value = step(value)
    seconds[name] = time.process_time() - start
print(json.dumps(seconds))
"""


def steps_side_by_side(n: int, other: Path, repeats: int) -> None:
    """Each step's processor seconds on R(n) with this checkout's compiler
    and another's, in turns: the least of `repeats` runs each."""
    print(f"## Each step on R({n:,}): this tree beside {other}, processor seconds\n")
    print("| step | this tree | other | ratio |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        formula = Path(folder) / f"r{n}.txt"
        formula.write_text(circuit(n), encoding="utf-8")
        runs: dict[Path, list[dict]] = {ROOT: [], other: []}
        for _ in range(repeats):
            for root in (other, ROOT):
                child = subprocess.run([sys.executable, "-c", _STEPS, str(formula)], cwd=root,
                                       capture_output=True, text=True, check=True,
                                       env=dict(os.environ, PYTHONPATH=str(root)))
                runs[root].append(json.loads(child.stdout))
    least = {root: {step: min(run[step] for run in runs[root]) for step in runs[root][0]}
             for root in runs}
    for step in (*least[ROOT], "total"):
        mine, theirs = (sum(least[root].values()) if step == "total" else least[root][step]
                        for root in (ROOT, other))
        print(f"| {step} | {mine:.2f} | {theirs:.2f} | {mine / theirs:.2f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="R(n) sizes, comma-separated (default: 10^3..10^5)")
    parser.add_argument("--million", action="store_true", help="add R(10^6) to the sizes")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="time this tree's compiler beside the one in CHECKOUT "
                             "(git worktree add /tmp/old <commit>)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each compiler per size with --against (default 3)")
    parser.add_argument("--steps", type=int, metavar="N",
                        help="with --against: each step on R(N) instead of the whole process")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    if args.against and args.steps:
        steps_side_by_side(args.steps, args.against.resolve(), args.repeats)
    elif args.against:
        side_by_side(sizes, args.against.resolve(), args.repeats)
    else:
        run(sizes)


def run(sizes: list[int]) -> None:
    compile_table(sizes)
    step_table(max(n for n in sizes if n <= _LARGEST_MODULE_COMPILED))


if __name__ == "__main__":
    main()
