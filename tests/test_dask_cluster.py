"""A distributed run, for real: two worker processes compute a logistic
regression's loss and gradient with the array-api module, on a chunked
dataset larger than any one chunk, and agree with NumPy on the same data
(examples/dask_logistic.py at a smaller size)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from conftest import ROOT

pytest.importorskip("array_api_compat", reason="array_api_compat is not installed "
                    "(pip install \".[array]\")")
pytest.importorskip("dask.distributed", reason="dask.distributed is not installed "
                    "(pip install \".[array]\"): no cluster is started")


def _example():
    spec = importlib.util.spec_from_file_location("dask_logistic",
                                                  ROOT / "examples" / "dask_logistic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def environment():
    """Starting a LocalCluster sets variables for its workers in this
    process's environment too (MALLOC_TRIM_THRESHOLD_, OMP_NUM_THREADS,
    PYTHONHASHSEED, ...), which later tests' subprocesses would inherit:
    put it back as it was."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_two_worker_processes_compute_the_loss_and_gradient_numpy_computes(environment):
    from dask.distributed import Client, LocalCluster

    example = _example()
    X, y = example.dataset(rows=24_000, features=8, chunk=5_000)
    assert X.numblocks[0] == 5
    w, b = np.linspace(0.5, -0.5, 8), 0.1
    module = example.compiled("array-api")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        loss, dw, db = example.on_cluster(module, X, y, w, b)
    numpy_module = example.compiled("numpy")
    whole = numpy_module.grad(X.compute(scheduler="sync"), w, y.compute(scheduler="sync"), b)
    assert loss == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(dw, whole[1][0], rtol=1e-12)
    assert db == pytest.approx(whole[1][1], rel=1e-12)
    by_chunk = example.with_numpy(numpy_module, X, y, w, b)
    assert loss == pytest.approx(by_chunk[0], rel=1e-12)
