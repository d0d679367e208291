"""Pin this process to one core, for a one-thread comparison that holds.

Setting each library's thread count is not enough: XLA's CPU runtime splits
a large elementwise loop over every core whatever `XLA_FLAGS` says about
Eigen's threads (JAX's value_and_grad of sum(x * y) at 10^6 points took 1.8
processor seconds per clock second, and 1.6 times as long when pinned).  A
process whose threads may run on one CPU only cannot take a second core.
"""

from __future__ import annotations

import os

THREAD_VARIABLES = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
EIGEN_ON_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def pin_to_one_core(cpu: int | None = None) -> int:
    """Every thread of this process, and each it starts later, on `cpu`
    (default: the lowest CPU it may use now), and the libraries' thread
    variables set to one.  Call it before importing numba, JAX or torch,
    which read them once.  Returns the CPU."""
    os.environ.update(THREAD_VARIABLES)
    os.environ["XLA_FLAGS"] = " ".join(
        (os.environ.get("XLA_FLAGS", ""), EIGEN_ON_ONE_THREAD)).strip()
    cpu = min(os.sched_getaffinity(0)) if cpu is None else cpu
    for thread in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(thread), {cpu})
    return cpu
