"""compile_time.py --against CHECKOUT --steps N: each step's processor
time beside another checkout (no timing is asserted, only the table)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

STEPS = ("parse", "resolve", "stage", "optimize", "adjoint", "emit", "render")


def test_each_step_is_timed_beside_the_other_checkout():
    # This checkout beside itself: both columns come from child processes.
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compile_time.py"),
                          "--against", str(ROOT), "--steps", "2000", "--repeats", "1"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    rows = {line.split(" | ")[0].strip("| "): line.strip("| ").split(" | ")[1:]
            for line in run.stdout.splitlines() if line.startswith("| ")}
    assert tuple(rows)[1:] == (*STEPS, "total")  # after the header
    seconds = {step: [float(cell) for cell in rows[step][:2]] for step in (*STEPS, "total")}
    for column in (0, 1):
        steps = sum(seconds[step][column] for step in STEPS)
        # The total adds the unrounded seconds: within the rounding of seven.
        assert abs(seconds["total"][column] - steps) <= 0.035
        assert seconds["total"][column] > 0
