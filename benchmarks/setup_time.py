"""Setup time on R(n): what each tool takes before its first gradient.

    python benchmarks/setup_time.py                     # R(10^3), R(10^4), R(10^5)
    python benchmarks/setup_time.py --sizes 1000,10000

For each size, in this process: gradc's `compile_source` of the formula
file (the text of the module, as `gradc compile` writes it, without the
interpreter's start-up); CasADi building the formula's SX expression, its
gradient and the Function of both; and JAX's first call of
`jit(value_and_grad(...))`, split into tracing and XLA's compilation.
Both peers start from gradc's resolved program (`peers.peer_function`: one
Python line per stage, each stage a variable), and their time includes
that translation, given on its own in the `to Python` column.  A peer
skips a size when its time at the previous size, scaled linearly, would
pass its budget (CasADi 30 s, JAX a minute).  The last columns compare
each peer's value and gradient at one point with gradc's module (the
largest |difference| / max(|gradc's|, 1)), for sizes up to 10^4.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import peers  # noqa: E402
from random_circuit import circuit  # noqa: E402

from compiler import compile_source  # noqa: E402
from compiler.loader import module_from_source  # noqa: E402

BUDGET = {"CasADi": 30.0, "JAX": 60.0}
INSTALLED = {name: importlib.util.find_spec(module) is not None
             for name, module in (("CasADi", "casadi"), ("JAX", "jax"))}
# Importing a bigger generated module costs CPython more than the rest.
_LARGEST_CHECKED = 10_000


def _seconds(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def casadi_setup(program, point):
    """Seconds to build the Function of value and gradient, and its result."""
    seconds, function = _seconds(lambda: peers.casadi_function(program))
    value, gradient = function(*point)
    return seconds, [float(value), *map(float, gradient.full().ravel())]


def jax_setup(program, point):
    """(trace seconds, compile seconds), and the first call's result."""
    import jax
    trace, lowered = _seconds(lambda: _jax_lowered(program, point))
    build, compiled = _seconds(lowered.compile)
    value, gradient = jax.block_until_ready(compiled(*point))
    return (trace, build), [float(value), *map(float, gradient)]


def _jax_lowered(program, point):
    import jax
    function = peers.peer_function(program, peers.jax_ops())
    every = tuple(range(len(point)))
    return jax.jit(jax.value_and_grad(function, argnums=every)).lower(*point)


def _difference(result, expected) -> str:
    """The largest |peer - gradc| / max(|gradc|, 1) over value and gradient."""
    worst = max(abs(a - b) / max(abs(b), 1.0) for a, b in zip(result, expected))
    return f"{worst:.0e}"


def run(sizes: list[int]) -> None:
    print("## Setup time on R(n): seconds before the first gradient\n")
    print("| n | gradc compile_source | to Python | CasADi | JAX trace | JAX compile "
          "| CasADi vs gradc | JAX vs gradc |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    last: dict[str, tuple[int, float]] = {}
    for n in sizes:
        print(_row(n, last))
    print()
    for name, installed in INSTALLED.items():
        if not installed:
            print(f"{name}: skipped, not installed (pip install '.[bench]').")
    print("Blank: skipped, its time at the previous size scaled to this one "
          "would pass its budget (CasADi 30 s, JAX 60 s).\n")


def _row(n: int, last: dict) -> str:
    text = circuit(n)
    rng = random.Random(n)
    point = tuple(rng.uniform(-1.0, 1.0) for _ in range(8))
    gradc, source = _seconds(lambda: compile_source(text))
    program = peers.resolve(peers.parse(text))
    translate, _ = _seconds(lambda: peers.peer_function(program, {}))
    expected = None
    if n <= _LARGEST_CHECKED:
        value, gradient = module_from_source(source, "r", "<setup>").grad(*point)
        expected = [value, *gradient]
    cells = {}
    for name, setup in (("CasADi", casadi_setup), ("JAX", jax_setup)):
        if not INSTALLED[name] or _over_budget(name, n, last):
            continue
        seconds, result = setup(program, point)
        total = seconds if isinstance(seconds, float) else sum(seconds)
        last[name] = (n, total)
        cells[name] = (seconds, _difference(result, expected) if expected else "")
    casadi, jax_ = cells.get("CasADi", ("", "")), cells.get("JAX", (("", ""), ""))
    return (f"| {n:,} | {gradc:.2f} | {translate:.2f} | {_cell(casadi[0])} "
            f"| {_cell(jax_[0][0])} | {_cell(jax_[0][1])} | {casadi[1]} | {jax_[1]} |")


def _over_budget(name: str, n: int, last: dict) -> bool:
    if name not in last:
        return False
    size, seconds = last[name]
    return seconds * n / size > BUDGET[name]


def _cell(seconds) -> str:
    return f"{seconds:.2f}" if isinstance(seconds, float) else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="R(n) sizes, comma-separated (default: 10^3..10^5)")
    args = parser.parse_args()
    run([int(n) for n in args.sizes.split(",")])


if __name__ == "__main__":
    main()
