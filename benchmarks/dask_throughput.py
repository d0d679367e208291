"""Logistic regression's loss and gradient: rows per second, the numpy
target in one process against Dask clusters of 1 and 2 worker processes,
by both Dask paths, side by side in one run.

    pip install -e ".[array]"
    python benchmarks/dask_throughput.py                    # 10^7 rows x 32 features
    python benchmarks/dask_throughput.py --rows 2000000 --rounds 5

The formula is examples/arrays/logistic_regression.txt, compiled for w's and
b's gradients only (--wrt w,b).  Every column computes the loss and both
gradients on float64 data already in memory, so that only the gradient is
timed:

- `numpy target`: the module on NumPy arrays in this process, with
  OpenBLAS's own threads (one per core) and with one thread, the measure of
  one core that the Dask columns are compared with;
- `numpy target by chunks`: the same module in this process on one thread,
  called on each chunk's rows in turn and the results added, the work of a
  row-chunk call without Dask (a whole call's temporaries, 80 MB each at
  10^7 rows, are mapped afresh and faulted in at every call, a chunk's are
  not);
- `array-api`: the --target array-api module on Dask arrays, one task per
  array operation and chunk;
- `row chunks`: compiler.distributed.grad_by_row_chunks, the numpy module
  on each chunk of rows as one task, the partial gradients added as a tree.

The Dask columns' data are made by dask.array.random and persisted on the
workers (one thread each) before timing; each call builds the graph and
runs dask.compute.  For each cluster (1 worker, then 2) every column is
timed in turn, one call each, for --rounds rounds, and keeps its minimum:
the machine's slow moments fall on all columns.  rows/s is --rows over the
time; `vs numpy` is the one-thread numpy column's time over the column's
(the goals: 0.8 for one worker, 1.3 for two), and `per core` that divided
by the workers.

`CPU s` is the processor time the call took in this process and, for a
Dask column, the cluster's (the scheduler runs in this process), and its
last column the one-thread numpy column's over it: the share of a core's
work each processor second of the column does, which the machine's other
load changes less than the seconds on the clock.

Where the time of a row-chunk call goes, from the workers' own task records
(dask.distributed.get_task_stream) of one more call: `busy` is the share of
the workers' time spent in the chunks' tasks; `chunk ms` their mean and
least time; and `here` the same module on one chunk of the same size in
this process on one thread, timed in the rounds.
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


def cpu_seconds(children: bool) -> float:
    """The processor time of this process, and with `children` of the
    cluster's workers and nannies too, user and system, so far."""
    import psutil

    here = psutil.Process()
    total = 0.0
    for process in [here, *(here.children(recursive=True) if children else ())]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def interleaved(calls: dict, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Each call's minimum seconds and minimum processor seconds over
    `rounds` rounds of one call each, in turn, so that a busy moment of the
    machine falls on all of them.  A call named for a cluster ("worker")
    counts the cluster's processes' time too; the others, this process's
    alone, not the idle cluster's."""
    best = dict.fromkeys(calls, float("inf"))
    cpu = dict.fromkeys(calls, float("inf"))
    for call in calls.values():
        call()
    for _ in range(rounds):
        for name, call in calls.items():
            children = "worker" in name
            start, start_cpu = time.perf_counter(), cpu_seconds(children)
            call()
            best[name] = min(best[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], cpu_seconds(children) - start_cpu)
    return best, cpu


def one_thread(call):
    from threadpoolctl import threadpool_limits

    def limited():
        with threadpool_limits(1):
            return call()
    return limited


def by_chunks(module, X, w, y, b, chunk: int):
    """The module's loss and gradients over all rows, from each chunk's in turn."""
    total = None
    for start in range(0, len(X), chunk):
        loss, gradients = module.grad(X[start:start + chunk], w, y[start:start + chunk], b)
        share = min(chunk, len(X) - start) / len(X)
        part = [share * loss] + [share * np.asarray(each) for each in gradients]
        total = part if total is None else [mine + theirs for mine, theirs in zip(total, part)]
    return total


def measure(workers: int, data, chunk: int, rounds: int):
    """On a cluster of `workers`: every column's seconds, interleaved, and
    where a row-chunk call's time goes."""
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster, get_task_stream, wait

    X_here, y_here, w, b = data
    array_api, numpy_module = compiled("array-api"), compiled("numpy")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        X, y = client.persist(dataset(*X_here.shape, chunk))
        wait([X, y])

        def standard():
            loss, (dw, db) = array_api.grad(X, da.from_array(w), y, b)
            return dask.compute(loss, dw, db)

        def by_rows():
            loss, (dw, db) = grad_by_row_chunks(numpy_module, X, w, y, b, wrt=("w", "b"))
            return dask.compute(loss, dw, db)

        plural = "s" if workers > 1 else ""
        part = X_here[:chunk].copy(), y_here[:chunk].copy()
        seconds, cpu = interleaved({
            "numpy target, one thread": one_thread(lambda: numpy_module.grad(X_here, w, y_here, b)),
            "numpy target, own threads": lambda: numpy_module.grad(X_here, w, y_here, b),
            "numpy target by chunks, one thread": one_thread(
                lambda: by_chunks(numpy_module, X_here, w, y_here, b, chunk)),
            f"array-api, {workers} worker{plural}": standard,
            f"row chunks, {workers} worker{plural}": by_rows,
            "one chunk here": one_thread(lambda: numpy_module.grad(part[0], w, part[1], b)),
        }, rounds)
        with get_task_stream(client) as stream:
            start = time.perf_counter()
            by_rows()
            wall = time.perf_counter() - start
        tasks = [sum(part["stop"] - part["start"] for part in task["startstops"]
                     if part["action"] == "compute")
                 for task in stream.data if "chunk_gradient" in str(task["key"])]
    cpu.pop("one chunk here")
    return seconds, cpu, {"wall": wall, "busy": sum(tasks) / (wall * workers), "tasks": len(tasks),
                     "mean": sum(tasks) / len(tasks), "least": min(tasks),
                     "here": seconds.pop("one chunk here")}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per Dask chunk")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{args.rows} rows x {args.features} features, float64; Dask chunks of "
          f"{args.chunk} rows; {os.cpu_count()} CPUs; best of {args.rounds} interleaved\n")
    generator = np.random.default_rng(0)
    X = generator.standard_normal((args.rows, args.features))
    y = (generator.random(args.rows) < 0.5).astype(np.float64)
    data = X, y, np.linspace(0.5, -0.5, args.features), 0.1
    print("| cluster | column | seconds | rows/s | vs numpy, one thread | per core "
          "| CPU s | numpy's CPU over its |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    breakdowns = {}
    for workers in (1, 2):
        seconds, cpu, breakdowns[workers] = measure(workers, data, args.chunk, args.rounds)
        core = seconds["numpy target, one thread"]
        core_cpu = cpu["numpy target, one thread"]
        for name, spent in seconds.items():
            cores = workers if "worker" in name else 1
            print(f"| {workers} | {name} | {spent:.3f} | {args.rows / spent:.3g} | "
                  f"{core / spent:.2f} | {core / spent / cores:.2f} | {cpu[name]:.2f} | "
                  f"{core_cpu / cpu[name]:.2f} |", flush=True)
    print("\n| row chunks | wall s | tasks | busy | chunk ms, mean | least | here |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for workers, found in breakdowns.items():
        print(f"| {workers} worker{'s' if workers > 1 else ''} | {found['wall']:.3f} | "
              f"{found['tasks']} | {found['busy']:.2f} | {found['mean'] * 1e3:.1f} | "
              f"{found['least'] * 1e3:.1f} | {found['here'] * 1e3:.1f} |")


if __name__ == "__main__":
    main()
