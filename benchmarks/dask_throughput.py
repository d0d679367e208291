"""Logistic regression's loss and gradient: rows per second, the numpy
target on one process against the array-api module on a Dask cluster of 1
and 2 worker processes, side by side in one run.

    pip install -e ".[array]"
    python benchmarks/dask_throughput.py                    # 10^7 rows x 32 features
    python benchmarks/dask_throughput.py --rows 2000000 --repeat 5

The formula is examples/arrays/logistic_regression.txt, compiled for w's and
b's gradients only (--wrt w,b), once for the numpy target and once with
--target array-api.  Every column computes the loss and both gradients on
float64 data already in memory, so that only the gradient is timed: the
numpy column on NumPy arrays in this process; each Dask column on arrays of
the same size made by dask.array.random and persisted on the workers
(threads_per_worker=1) before timing, calling the module (which builds the
graph) and dask.compute each time.  The time is the minimum over --repeat
calls; rows/s is --rows over it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT))

from dask_logistic import compiled, dataset  # noqa: E402


def best(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_seconds(rows: int, features: int, repeat: int) -> float:
    module = compiled("numpy")
    generator = np.random.default_rng(0)
    X = generator.standard_normal((rows, features))
    y = (generator.random(rows) < 0.5).astype(np.float64)
    w, b = np.linspace(0.5, -0.5, features), 0.1
    module.grad(X, w, y, b)
    return best(lambda: module.grad(X, w, y, b), repeat)


def dask_seconds(workers: int, rows: int, features: int, chunk: int, repeat: int) -> float:
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait

    module = compiled("array-api")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        X, y = client.persist(dataset(rows, features, chunk))
        wait([X, y])
        w, b = da.from_array(np.linspace(0.5, -0.5, features)), 0.1

        def call():
            loss, (dw, db) = module.grad(X, w, y, b)
            return dask.compute(loss, dw, db)

        call()
        return best(call, repeat)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per Dask chunk")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{args.rows} rows x {args.features} features, float64; Dask chunks of "
          f"{args.chunk} rows; {os.cpu_count()} CPUs; best of {args.repeat}")
    columns = [("numpy target, one process", numpy_seconds(args.rows, args.features,
                                                            args.repeat))]
    for workers in (1, 2):
        columns.append((f"array-api on Dask, {workers} worker{'s' if workers > 1 else ''}",
                        dask_seconds(workers, args.rows, args.features, args.chunk,
                                     args.repeat)))
    reference = columns[0][1]
    print(f"{'':34} {'seconds':>9} {'rows/s':>10} {'vs numpy':>9}")
    for name, seconds in columns:
        print(f"{name:34} {seconds:9.3f} {args.rows / seconds:10.3g} "
              f"{reference / seconds:8.2f}x")


if __name__ == "__main__":
    main()
