"""Compile time of an array file against the same formula over numbers.

    python benchmarks/compile_arrays.py                 # 20,000 terms
    python benchmarks/compile_arrays.py --terms 2000,20000

For each size it compiles `f = sum(x + x + ... + x)` twice in this
process, once with `x: [D]` declared (an array file, the numpy module) and
once without (`f = x + x + ... + x`, the same sum over numbers, the math
module), and prints both times and their ratio.  Shape checking and the
array back end should cost a bounded factor, not a factor that grows with
the formula: the ratio stays at most 2 at every size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler import compile_source  # noqa: E402


def array_sum(terms: int) -> str:
    return "x: [D]\nf = sum(" + " + ".join(["x"] * terms) + ")\n"


def number_sum(terms: int) -> str:
    return "f = " + " + ".join(["x"] * terms) + "\n"


def seconds(text: str, repeat: int = 3) -> float:
    """The fastest of `repeat` compiles: the machine's noise only adds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        compile_source(text)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", default="20000",
                        help="comma-separated term counts (default 20000)")
    args = parser.parse_args(argv)
    print(f"{'terms':>8} {'numbers s':>10} {'arrays s':>10} {'ratio':>6}")
    for terms in map(int, args.terms.split(",")):
        numbers, arrays = seconds(number_sum(terms)), seconds(array_sum(terms))
        print(f"{terms:>8} {numbers:>10.3f} {arrays:>10.3f} {arrays / numbers:>6.2f}")


if __name__ == "__main__":
    main()
