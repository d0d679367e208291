"""How long a command takes to start, against a bare Python start.

    python benchmarks/startup.py [--runs N]

Times, N times each and interleaved (so that the machine's drift hits all
alike), a bare `python -c pass`, `gradc compile examples/staged.txt`, and
`import compiler; compiler.load("examples/staged.txt")`, each in a fresh
process, and prints each one's median and its ratio to the bare start.
The goal is a ratio of at most 8 for both.
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


def commands(output: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "python -c pass": [python, "-c", "pass"],
        "gradc compile examples/staged.txt": [python, "-m", "compiler", "compile",
                                              str(STAGED), "-o", output],
        "compiler.load(examples/staged.txt)": [
            python, "-c", f"import compiler; compiler.load({str(STAGED)!r})"],
    }


def timed(argv: list[str], environment: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=environment, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        table = commands(str(Path(folder) / "staged.py"))
        for argv in table.values():  # warm the file cache and __pycache__
            timed(argv, environment)
        times: dict[str, list[float]] = {name: [] for name in table}
        for _ in range(runs):
            for name, argv in table.items():
                times[name].append(timed(argv, environment))
    bare = statistics.median(times["python -c pass"])
    print(f"{runs} runs each, interleaved; median wall time, and its ratio to a bare start")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:38} {median * 1000:7.1f} ms  {median / bare:5.1f}x")


if __name__ == "__main__":
    main()
