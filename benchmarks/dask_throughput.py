"""Logistic regression's loss and gradient: rows per second, the numpy
target in one process against Dask clusters of 1 and 2 worker processes,
by both Dask paths, side by side in one run.

    pip install -e ".[array]"
    python benchmarks/dask_throughput.py                    # 10^7 rows x 32 features
    python benchmarks/dask_throughput.py --rows 2000000 --repeat 5

The formula is examples/arrays/logistic_regression.txt, compiled for w's and
b's gradients only (--wrt w,b).  Every column computes the loss and both
gradients on float64 data already in memory, so that only the gradient is
timed:

- `numpy target`: the module on NumPy arrays in this process, with
  OpenBLAS's own threads (one per core) and with one thread, the measure of
  one core that the Dask columns are compared with;
- `array-api`: the --target array-api module on Dask arrays, one task per
  array operation and chunk;
- `row chunks`: compiler.distributed.grad_by_row_chunks, the numpy module
  on each chunk of rows as one task, the partial gradients added as a tree.

The Dask columns' data are made by dask.array.random and persisted on the
workers (one thread each) before timing; each call builds the graph and
runs dask.compute.  The time is the minimum over --repeat calls; rows/s is
--rows over it, and `per core` is that over the one-thread numpy column's,
divided by the workers (the goal: 0.8 for one worker, 1.3 / 2 for two).

Where the time of a row-chunk call goes, from the workers' own task records
(dask.distributed.get_task_stream) of one more call: `busy` is the share of the
workers' time spent in the chunks' tasks; `chunk ms` the mean task; and
`here ms` the same module on one chunk of the same size in this process on
one thread.
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

from compiler.distributed import grad_by_row_chunks  # noqa: E402


def best(call, repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_columns(rows: int, features: int, chunk: int, repeat: int) -> tuple[dict, float]:
    """The numpy target's seconds with BLAS's own threads and with one; and
    its seconds on one chunk of rows, on one thread."""
    from threadpoolctl import threadpool_limits

    module = compiled("numpy")
    generator = np.random.default_rng(0)
    X = generator.standard_normal((rows, features))
    y = (generator.random(rows) < 0.5).astype(np.float64)
    w, b = np.linspace(0.5, -0.5, features), 0.1
    seconds = {"numpy target, own threads": best(lambda: module.grad(X, w, y, b), repeat)}
    with threadpool_limits(1):
        seconds["numpy target, one thread"] = best(lambda: module.grad(X, w, y, b), repeat)
        part = X[:chunk].copy(), y[:chunk].copy()
        one_chunk = best(lambda: module.grad(part[0], w, part[1], b), max(repeat, 5))
    return seconds, one_chunk


def dask_columns(workers: int, rows: int, features: int, chunk: int, repeat: int):
    """Each Dask path's seconds on one cluster, and the row chunks' breakdown."""
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster, get_task_stream, wait

    array_api, numpy_module = compiled("array-api"), compiled("numpy")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        X, y = client.persist(dataset(rows, features, chunk))
        wait([X, y])
        w, b = np.linspace(0.5, -0.5, features), 0.1

        def standard():
            loss, (dw, db) = array_api.grad(X, da.from_array(w), y, b)
            return dask.compute(loss, dw, db)

        def by_rows():
            loss, (dw, db) = grad_by_row_chunks(numpy_module, X, w, y, b, wrt=("w", "b"))
            return dask.compute(loss, dw, db)

        plural = "s" if workers > 1 else ""
        seconds = {f"array-api, {workers} worker{plural}": best(standard, repeat),
                   f"row chunks, {workers} worker{plural}": best(by_rows, repeat)}
        with get_task_stream(client) as stream:
            start = time.perf_counter()
            by_rows()
            wall = time.perf_counter() - start
        tasks = [sum(part["stop"] - part["start"] for part in task["startstops"]
                     if part["action"] == "compute")
                 for task in stream.data if "chunk_gradient" in str(task["key"])]
    return seconds, {"wall": wall, "busy": sum(tasks) / (wall * workers),
                     "chunk": sum(tasks) / len(tasks), "tasks": len(tasks)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per Dask chunk")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{args.rows} rows x {args.features} features, float64; Dask chunks of "
          f"{args.chunk} rows; {os.cpu_count()} CPUs; best of {args.repeat}\n")
    seconds, one_chunk = numpy_columns(args.rows, args.features, args.chunk, args.repeat)
    workers, breakdowns = {}, {}
    for count in (1, 2):
        found, breakdowns[count] = dask_columns(count, args.rows, args.features, args.chunk,
                                                args.repeat)
        seconds.update(found)
        workers.update(dict.fromkeys(found, count))
    core = seconds["numpy target, one thread"]
    print("| column | seconds | rows/s | vs numpy, one thread | per core |")
    print("|---|---:|---:|---:|---:|")
    for name, time_ in seconds.items():
        cores = workers.get(name, 1)
        print(f"| {name} | {time_:.3f} | {args.rows / time_:.3g} | {core / time_:.2f} | "
              f"{core / time_ / cores:.2f} |")
    print("\n| row chunks | wall s | tasks | busy | chunk ms | here ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for count, found in breakdowns.items():
        print(f"| {count} worker{'s' if count > 1 else ''} | {found['wall']:.3f} | "
              f"{found['tasks']} | {found['busy']:.2f} | {found['chunk'] * 1e3:.1f} | "
              f"{one_chunk * 1e3:.1f} |")


if __name__ == "__main__":
    main()
