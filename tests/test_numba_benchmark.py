"""benchmarks/arrays.py --one-core: one CPU and one thread for every library.

Each case imports the benchmark in a fresh process, with the arguments it
would be run with, and reports what numba then sees: numba sizes its
default thread pool from the CPUs the process may use, when it is imported,
so a pool of one shows the binding came first.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("numba")

_SEEN = """\
import os, sys
sys.argv = ["arrays.py", *sys.argv[1:]]
import arrays
import numba
print(arrays.ONE_CORE, sorted(os.sched_getaffinity(0)), numba.config.NUMBA_DEFAULT_NUM_THREADS,
      numba.config.NUMBA_NUM_THREADS, os.environ.get("XLA_FLAGS"))
"""


def _seen(*argv: str) -> str:
    environment = {key: value for key, value in os.environ.items()
                   if not key.endswith("_NUM_THREADS") and key != "XLA_FLAGS"}
    return subprocess.run([sys.executable, "-c", _SEEN, *argv], capture_output=True, text=True,
                          check=True, cwd=ROOT / "benchmarks", env=environment).stdout.strip()


def _benchmark():
    """benchmarks/arrays.py as a module (the tests' own helpers are `arrays`)."""
    spec = importlib.util.spec_from_file_location("arrays_benchmark",
                                                  ROOT / "benchmarks" / "arrays.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_core_binds_the_lowest_cpu_before_numba_starts():
    cpu = min(os.sched_getaffinity(0))
    assert _seen("--one-core", "--size", "10") == (
        f"{cpu} [{cpu}] 1 1 --xla_cpu_multi_thread_eigen=false")


def test_one_core_takes_the_cpu_named():
    cpu = max(os.sched_getaffinity(0))
    assert _seen("--columns", "numba", "--one-core", str(cpu)) == (
        f"{cpu} [{cpu}] 1 1 --xla_cpu_multi_thread_eigen=false")


def test_without_one_core_every_cpu_and_thread_stays():
    cpus = sorted(os.sched_getaffinity(0))
    assert _seen("--size", "10") == f"None {cpus} {len(cpus)} {len(cpus)} None"


def test_each_round_times_the_columns_in_an_order_of_its_own():
    """A column timed right after another that read the same inputs starts
    warm: no column may always follow the same one."""
    round_orders = _benchmark().round_orders
    names = ["numpy", "numba", "memory floor", "JAX vmap", "JAX vjp"]
    orders = round_orders(names, 25, "compound")
    assert all(sorted(order) == sorted(names) for order in orders)
    assert orders == round_orders(names, 25, "compound")
    for name in names:
        before = {order[order.index(name) - 1] if order.index(name) else None for order in orders}
        assert len(before) >= 3, (name, before)
