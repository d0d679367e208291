"""Where the numpy target's blocked grad spends its time, per example.

    python benchmarks/numpy_blocks.py --lines              # each line of _grad_block
    python benchmarks/numpy_blocks.py --blocks             # grad with BLOCK from 2^13 to 2^17
    python benchmarks/numpy_blocks.py --at 1a2b3c4         # grad beside the module of a commit
    python benchmarks/numpy_blocks.py --at 1a2b3c4 --size 1000 --examples staged

Every mode runs on the CPU the process is bound to (`taskset -c 0 python ...`
for one core) and times the modules generated/<example>_numpy.py holds,
on the random points of benchmarks/arrays.py.  `--lines` times each line of
`_grad_block` alone, in order, on one block of `BLOCK` points whose inputs
and arrays stay in the cache (the least of 200 runs of each line), and
their sum: the block's compute without the traffic to memory.  `--blocks`
and `--at` take the least of `--rounds` calls of `grad` for each column,
the columns interleaved round by round, so that the machine's drift
weighs on each alike, and each time's ratio to the least of its row.
"""

from __future__ import annotations

import argparse
import inspect
import subprocess
import sys
import textwrap
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from arrays import points  # noqa: E402
from compiler.loader import module_from_file  # noqa: E402

EXAMPLES = [path.stem for path in sorted((ROOT / "examples").glob("*.txt"))]


def module(stem: str, revision: str | None = None):
    """generated/<stem>_numpy.py as it is, or as it was at `revision`."""
    path = f"generated/{stem}_numpy.py"
    source = (ROOT / path).read_text(encoding="utf-8") if revision is None else subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:{path}"],
        capture_output=True, text=True, check=True).stdout
    return module_from_file(source, f"blocks_{stem}_{revision or 'now'}")


def lines(stem: str) -> None:
    """Each line of _grad_block timed alone on one block held in the cache."""
    grad = module(stem)
    size = grad.BLOCK
    text = (ROOT / "examples" / f"{stem}.txt").read_text(encoding="utf-8")
    names = list(inspect.signature(grad._grad_block).parameters)
    scope = {"np": np, **dict(zip(grad.INPUTS, points(text, size)))}
    scope.update((name, np.empty(size)) for name in names[len(grad.INPUTS):])
    if "scratch" in names:
        scope["scratch"] = [np.empty(size) for _ in range(64)]
    body = textwrap.dedent(inspect.getsource(grad._grad_block).split('"""')[2]).strip()
    code = [(line, compile(line, "<line>", "exec")) for line in body.splitlines()]
    least = [float("inf")] * len(code)
    for _ in range(200):
        for index, (_, compiled) in enumerate(code):
            start = time.perf_counter()
            exec(compiled, scope)               # noqa: S102 - the module's own lines
            least[index] = min(least[index], time.perf_counter() - start)
    print(f"\n{stem}: ns a point, one block of {size} points in the cache\n")
    for (line, _), seconds in zip(code, least):
        print(f"{seconds / size * 1e9:7.3f}  {line}")
    print(f"{sum(least) / size * 1e9:7.3f}  in all, {len(code)} lines")


def interleaved(stem: str, columns: dict, size: int, rounds: int) -> None:
    """The least time of each column's grad, the columns interleaved."""
    text = (ROOT / "examples" / f"{stem}.txt").read_text(encoding="utf-8")
    arrays = points(text, size)
    calls = {name: (lambda make=make: make().grad(*arrays)) for name, make in columns.items()}
    for call in calls.values():
        call()
    repeat = max(1, 10**5 // size)
    least = {name: float("inf") for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            least[name] = min(least[name], timeit.timeit(call, number=repeat) / repeat)
    best = min(least.values())
    print(f"| {stem} | " + " | ".join(f"{seconds * 1e3:.3f} ({seconds / best:.2f})"
                                    for seconds in least.values()) + " |")


def with_block(grad, power: int):
    def made():
        grad.BLOCK = 2**power
        return grad
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--lines", action="store_true", help="each line of _grad_block")
    mode.add_argument("--blocks", action="store_true", help="grad with BLOCK 2^13 .. 2^17")
    mode.add_argument("--at", metavar="REV", help="grad beside generated/ at this commit")
    parser.add_argument("--size", type=int, default=10**6, help="points per input")
    parser.add_argument("--rounds", type=int, default=25, help="calls per column")
    parser.add_argument("--examples", nargs="+", choices=EXAMPLES, default=EXAMPLES)
    args = parser.parse_args()
    if args.lines:
        for stem in args.examples:
            lines(stem)
        return
    powers = range(13, 18)
    heads = [f"2^{power}" for power in powers] if args.blocks else [f"at {args.at}", "now"]
    print("| example | " + " | ".join(f"{head} ms (to the least)" for head in heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for stem in args.examples:
        if args.blocks:
            grad = module(stem)
            columns = {power: with_block(grad, power) for power in powers}
        else:
            then, now = module(stem, args.at), module(stem)
            columns = {"then": lambda: then, "now": lambda: now}
        interleaved(stem, columns, args.size, args.rounds)


if __name__ == "__main__":
    main()
