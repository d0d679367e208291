"""Logistic regression on a Dask cluster, with the module gradc writes.

    pip install -e ".[array]"
    python examples/dask_logistic.py                          # 10^7 rows x 32, 2 local workers
    python examples/dask_logistic.py --rows 1000000 --chunk 100000
    python examples/dask_logistic.py --scheduler scheduler-address:8786   # a real cluster

examples/arrays/logistic_regression.txt is compiled with --target array-api
(and only w's and b's gradients asked for): the module takes its namespace
from the arrays it is given, here Dask's, so calling it builds a task graph
and computes nothing.  The data are made lazily by dask.array.random, in
chunks of --chunk rows, on the workers: no process ever holds all of them.
One `dask.compute` then evaluates the loss and the gradient on the cluster.

The check runs the NumPy array module of the same formula on the same data,
one chunk at a time in this process (each chunk made again from the same
graph, which gives the same numbers), and adds the chunks' results up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler import compile_source  # noqa: E402
from compiler.loader import module_from_source  # noqa: E402

FORMULA = ROOT / "examples" / "arrays" / "logistic_regression.txt"


def compiled(target: str):
    """The formula's module for `target`, returning the gradient of w and b."""
    source = compile_source(FORMULA.read_text(encoding="utf-8"), target=target, wrt=["w", "b"])
    return module_from_source(source, f"logistic_regression_{target.replace('-', '_')}",
                              f"<{FORMULA.name} --target {target}>")


def dataset(rows: int, features: int, chunk: int, seed: int = 0):
    """Lazy X [rows, features] and labels y [rows] drawn from a known model."""
    generator = da.random.default_rng(seed)
    X = generator.standard_normal((rows, features), chunks=(chunk, features))
    true_w = np.linspace(-1.0, 1.0, features)
    probability = 1.0 / (1.0 + da.exp(-(X @ true_w)))
    y = (generator.random(rows, chunks=chunk) < probability).astype(np.float64)
    return X, y


def on_cluster(module, X, y, w, b):
    """Loss and gradient, computed by the cluster the default client talks to.
    Every array of one call comes from one library: w joins X as a Dask
    array of one chunk (b, a number, mixes with any)."""
    loss, (dw, db) = module.grad(X, da.from_array(w), y, b)   # a graph: nothing runs yet
    return dask.compute(loss, dw, db)


def with_numpy(module, X, y, w, b):
    """The NumPy module over the same data, one chunk at a time, in this
    process; each chunk's mean is weighted by its share of the rows."""
    rows = X.shape[0]
    loss, dw, db = 0.0, np.zeros_like(w), 0.0
    for index in range(X.numblocks[0]):
        X_i, y_i = dask.compute(X.blocks[index], y.blocks[index], scheduler="sync")
        share = X_i.shape[0] / rows
        loss_i, (dw_i, db_i) = module.grad(X_i, w, y_i, b)
        loss, dw, db = loss + share * loss_i, dw + share * dw_i, db + share * db_i
    return loss, dw, db


def relative(got, expected) -> float:
    got, expected = np.asarray(got), np.asarray(expected)
    return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per chunk")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--scheduler", help="a running cluster's scheduler address "
                        "(host:8786) instead of a local cluster")
    args = parser.parse_args(argv)

    X, y = dataset(args.rows, args.features, args.chunk)
    w = np.linspace(0.5, -0.5, args.features)   # the point the gradient is taken at
    b = 0.1
    gib = args.rows * args.features * 8 / 2**30
    print(f"X: {args.rows} x {args.features} float64 ({gib:.2f} GiB) in {X.numblocks[0]} "
          f"chunks of {args.chunk} rows ({args.chunk * args.features * 8 / 2**20:.0f} MiB)")

    module = compiled("array-api")
    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers")
        start = time.perf_counter()
        loss, dw, db = on_cluster(module, X, y, w, b)
        seconds = time.perf_counter() - start
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    print(f"on the cluster: loss = {loss:.15g}, |dw| = {np.linalg.norm(dw):.15g}, "
          f"db = {db:.15g}  ({seconds:.2f} s, {args.rows / seconds:.3g} rows/s, "
          "data made on the workers)")

    start = time.perf_counter()
    expected = with_numpy(compiled("numpy"), X, y, w, b)
    seconds = time.perf_counter() - start
    print(f"NumPy, chunk by chunk in this process: loss = {expected[0]:.15g}  "
          f"({seconds:.2f} s, data made here)")
    worst = max(relative(loss, expected[0]), relative(dw, expected[1]),
                relative(db, expected[2]))
    print(f"largest relative difference: {worst:.2g}")
    return 0 if worst <= 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
