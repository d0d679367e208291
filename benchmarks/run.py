"""gradc's speed, as ratios measured side by side in one run.

    python benchmarks/run.py            # the full tables
    python benchmarks/run.py --quick    # a few seconds: every table, tiny sizes

Scalar: value and gradient at one point, per lecture formula, for gradc's
lecture and compact styles, the lecture's hand-written listing (the staged
example) and SymPy's lambdify(cse=True); JAX, PyTorch and CasADi where they
are installed.  Each time is the minimum over many short samples taken in
turn (round-robin), which is steadier than a median on a busy machine.

Ops: the static operation count of backward over forward per example (the
cheap-gradient bound says about 3 or less).

Compile: the whole `gradc compile` process on R(n), the random circuit, in
a child process: seconds, cost per gate relative to the smallest n, and the
child's peak memory.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import hand_staged  # noqa: E402
from peers import PEERS, sympy_grad  # noqa: E402
from random_circuit import circuit  # noqa: E402

from compiler import compile_source  # noqa: E402
from compiler.loader import module_from_source  # noqa: E402

EXAMPLES = sorted((ROOT / "examples").glob("*.txt"))


def gradc_module(text: str, style: str):
    return module_from_source(compile_source(text, style=style), "bench", "<bench>")


def point(count: int) -> tuple[float, ...]:
    return tuple(0.3 + 0.4 * i for i in range(count))


def interleaved_minimum(calls: dict, rounds: int, number: int) -> dict[str, float]:
    """Seconds per call: the best of `rounds` samples of `number` calls each."""
    best = {name: float("inf") for name in calls}
    timers = {name: timeit.Timer(call) for name, call in calls.items()}
    for _ in range(rounds):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    return best


def scalar_table(rounds: int, number: int) -> None:
    print("## Scalar value + gradient (ratio to SymPy lambdify(cse=True); lower is faster)\n")
    peers = {name: make for name, make in PEERS.items() if make is not None}
    columns = ["lecture", "compact", "hand", *peers]
    print("| example | SymPy µs | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for example in EXAMPLES:
        text = example.read_text(encoding="utf-8")
        lecture = gradc_module(text, "lecture")
        args = point(len(lecture.INPUTS))
        calls = {"sympy": _bound(sympy_grad(text), args),
                 "lecture": _bound(lecture.grad, args),
                 "compact": _bound(gradc_module(text, "compact").grad, args)}
        if example.stem == "staged":
            calls["hand"] = _bound(hand_staged.grad, args)
        for name, make in peers.items():
            calls[name] = _bound(make(text), args)
        best = interleaved_minimum(calls, rounds, number)
        cells = [f"{best[c] / best['sympy']:.2f}" if c in best else "" for c in columns]
        print(f"| {example.stem} | {best['sympy'] * 1e6:.2f} | " + " | ".join(cells) + " |")
    if "hand" in columns:
        print("\nhand: the lecture's own listing (staged example only).")
    for name, make in PEERS.items():
        if make is None:
            print(f"{name}: skipped, not installed (pip install '.[bench]').")
    print()


def _bound(function, args):
    return lambda: function(*args)


def ops_table() -> None:
    print("## Static operation count (arithmetic operators and calls)\n")
    print("| example | forward | backward | backward / forward |")
    print("|---|---:|---:|---:|")
    for example in EXAMPLES:
        tree = ast.parse(compile_source(example.read_text(encoding="utf-8"), style="compact"))
        counts = {node.name: _operations(node) for node in tree.body
                  if isinstance(node, ast.FunctionDef)}
        forward, backward = counts["forward"], counts["backward"]
        print(f"| {example.stem} | {forward} | {backward} | {backward / forward:.2f} |")
    print()


def _operations(function: ast.FunctionDef) -> int:
    kinds = (ast.BinOp, ast.UnaryOp, ast.Call, ast.AugAssign, ast.Compare, ast.IfExp)
    return sum(isinstance(node, kinds) for node in ast.walk(function))


def compile_table(sizes: list[int]) -> None:
    print("## `gradc compile` on R(n), the whole process\n")
    print("| n | seconds | µs per gate | per gate / per gate at smallest n | peak MiB |")
    print("|---:|---:|---:|---:|---:|")
    first = None
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            formula = Path(folder) / f"r{n}.txt"
            formula.write_text(circuit(n), encoding="utf-8")
            seconds, peak = _child([sys.executable, "-m", "compiler", "compile", str(formula),
                                    "-o", str(formula.with_suffix(".py"))])
            per_gate = seconds / n
            first = first or per_gate
            print(f"| {n:,} | {seconds:.2f} | {per_gate * 1e6:.1f} | {per_gate / first:.2f} "
                  f"| {peak / 1024:.0f} |")
    print()


def _child(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident KiB of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed with status {child.returncode}")
    return seconds, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="R(n) sizes for the compile table (default: 10^3..10^5)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {_cpu()}, Python {sys.version.split()[0]}\n")
    if args.quick:
        scalar_table(rounds=3, number=200)
        ops_table()
        compile_table([200, 400])
    else:
        scalar_table(rounds=200, number=2000)
        ops_table()
        compile_table([int(n) for n in args.sizes.split(",")])


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
