"""gradc's speed, as ratios measured side by side in one run.

    python benchmarks/run.py            # the full tables
    python benchmarks/run.py --quick    # a few seconds: every table, tiny sizes
    python benchmarks/run.py --million  # R(10^6) too: about a minute more

Scalar: value and gradient at one point, per lecture formula, for gradc's
lecture and compact styles, the lecture's hand-written listing (the staged
example) and SymPy's lambdify(cse=True); JAX, PyTorch and CasADi where they
are installed.  Each time is the minimum over many short samples taken in
turn (round-robin), which is steadier than a median on a busy machine.

Ops: the static operation count of backward over forward per example (the
cheap-gradient bound says about 3 or less).

Arrays: value and gradient of every example at 10^6 points, for the numpy
and numba targets, JAX jit, PyTorch and CasADi side by side
(benchmarks/arrays.py).

Compile: the whole `gradc compile` process on R(n), the random circuit, in
a child process: seconds, cost per gate relative to the smallest n, and the
child's peak memory; then each step's time (benchmarks/compile_time.py).

Setup: on R(10^3) and R(10^4), the seconds gradc, CasADi and JAX jit take
before their first gradient (benchmarks/setup_time.py; R(10^5) there).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import arrays  # noqa: E402
import compile_time  # noqa: E402
import hand_staged  # noqa: E402
import setup_time  # noqa: E402
from peers import PEERS, sympy_grad  # noqa: E402

from compiler import compile_source  # noqa: E402
from compiler.loader import module_from_source  # noqa: E402

EXAMPLES = sorted((ROOT / "examples").glob("*.txt"))


def gradc_module(text: str, style: str):
    return module_from_source(compile_source(text, style=style), "bench", "<bench>")


def point(count: int) -> tuple[float, ...]:
    return tuple(0.3 + 0.4 * i for i in range(count))


def interleaved_minimum(calls: dict, rounds: int, number: int) -> dict[str, float]:
    """Seconds per call: the best of `rounds` samples of `number` calls each.
    A call is a function of no arguments, or a `timeit.Timer`."""
    best = {name: float("inf") for name in calls}
    timers = {name: call if isinstance(call, timeit.Timer) else timeit.Timer(call)
              for name, call in calls.items()}
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


def _bound(function, args) -> timeit.Timer:
    """Times the statement `function(0.3, 0.7)` itself: a wrapper (a lambda,
    or a call with *args) would add the same 40 ns or so to every column
    and pull each ratio towards 1."""
    literals = ", ".join(map(repr, args))
    return timeit.Timer(f"function({literals})", globals={"function": function})


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="R(n) sizes for the compile table (default: 10^3..10^5)")
    parser.add_argument("--million", action="store_true", help="add R(10^6) to the sizes")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {_cpu()}, Python {sys.version.split()[0]}\n")
    if args.quick:
        scalar_table(rounds=3, number=200)
        ops_table()
        arrays.run(10_000, rounds=3, examples=[ROOT / "examples" / "staged.txt"])
        compile_time.run([200, 400])
        setup_time.run([50])
    else:
        scalar_table(rounds=200, number=2000)
        ops_table()
        arrays.run(10**6, rounds=15)
        sizes = [int(n) for n in args.sizes.split(",")]
        compile_time.run(sizes + ([1_000_000] if args.million else []))
        setup_time.run([1_000, 10_000])


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
