"""benchmarks/run.py --quick runs every table end to end (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_benchmark_quick_run_prints_every_table():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    for heading in ("## Scalar value + gradient", "## Static operation count",
                    "## Arrays: value + gradient", "## `gradc compile` on R(n)",
                    "## Setup time on R(n)"):
        assert heading in run.stdout
    assert "| staged | " in run.stdout and "| 400 | " in run.stdout
    # The op counts are exact: backward / forward for the staged example.
    assert "| staged | 26 | 17 | 0.65 |" in run.stdout
