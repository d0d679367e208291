"""How long a command takes to start, against a bare Python start.

    python benchmarks/startup.py [--runs N] [--against CHECKOUT]

Times, N times each and interleaved (so that the machine's drift hits all
alike), a bare `python -c pass`, `gradc compile examples/staged.txt`, and
`import compiler; compiler.load("examples/staged.txt")`, each in a fresh
process, and prints each one's median and its ratio to the bare start.
The goal is a ratio of at most 8 for both.  With `--against`, the same
two commands run from another checkout too (`git archive REV | tar -x -C
DIR`), in the same turns: on this machine, whose speed drifts by 2x
within the hour, only ratios taken side by side compare.  Each checkout
runs from its bytecode (`__pycache__`, written by a first, untimed run), as
an installed package does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGED = ROOT / "examples" / "staged.txt"


def commands(output: str, root: Path, label: str = "") -> dict[str, tuple[list[str], Path]]:
    python = sys.executable
    return {
        f"gradc compile examples/staged.txt{label}": (
            [python, "-m", "compiler", "compile", str(STAGED), "-o", output], root),
        f"compiler.load(examples/staged.txt){label}": (
            [python, "-c", f"import compiler; compiler.load({str(STAGED)!r})"], root),
    }


def timed(argv: list[str], root: Path) -> float:
    # Run from the checkout itself: Python puts the working folder first
    # on the path, before PYTHONPATH and the installed package.  Bytecode
    # is written and read as in an installed package (pip compiles it at
    # install), even where the shell asks Python not to write any.
    environment = {**os.environ, "PYTHONPATH": str(root)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=environment, cwd=root, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="another checkout's compiler, timed in the same turns")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        output = str(Path(folder) / "staged.py")
        table = {"python -c pass": ([sys.executable, "-c", "pass"], ROOT),
                 **commands(output, ROOT)}
        if options.against:
            table.update(commands(output, options.against.resolve(), f" [{options.against}]"))
        for argv, root in table.values():  # warm the file cache and __pycache__
            timed(argv, root)
        times: dict[str, list[float]] = {name: [] for name in table}
        for _ in range(options.runs):
            for name, (argv, root) in table.items():
                times[name].append(timed(argv, root))
    bare = statistics.median(times["python -c pass"])
    print(f"{options.runs} runs each, interleaved; median wall time, and its ratio to a "
          "bare start")
    width = max(map(len, times))
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:{width}} {median * 1000:7.1f} ms  {median / bare:5.1f}x")


if __name__ == "__main__":
    main()
