"""compiler.distributed: the numpy module's gradient over Dask chunks of rows
equals the numpy module's on all the rows at once."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import numpy as np
import pytest

from compiler import compile_source
from compiler.loader import module_from_source
from conftest import EXAMPLES, ROOT

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from compiler.distributed import grad_by_row_chunks  # noqa: E402

RTOL = 1e-12


def numpy_module(text: str, wrt=None):
    return module_from_source(compile_source(text, target="numpy", wrt=wrt), "rows", "<rows>")


def example(name: str, wrt=None):
    return numpy_module((EXAMPLES / "arrays" / f"{name}.txt").read_text(encoding="utf-8"), wrt)


def logistic_data(rows=10_007, features=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    y = (rng.random(rows) < 0.5).astype(np.float64)
    return X, np.linspace(0.5, -0.5, features), y, 0.1


def assert_same(got, want):
    loss, gradients = got
    assert loss == pytest.approx(want[0], rel=RTOL)
    assert len(gradients) == len(want[1])
    for mine, theirs in zip(gradients, want[1]):
        assert np.shape(mine) == np.shape(theirs)
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=1e-15)


def computed(loss, gradients):
    loss, *gradients = dask.compute(loss, *gradients, scheduler="sync")
    return loss, gradients


@pytest.mark.parametrize("row_chunks, label_chunks", [(1000, 1000), (1234, 999), (10_007, 5000)])
def test_a_mean_over_rows_in_chunks_of_any_sizes(row_chunks, label_chunks):
    module = example("logistic_regression", wrt=["w", "b"])
    X, w, y, b = logistic_data()
    lazy = grad_by_row_chunks(module, da.from_array(X, chunks=(row_chunks, 3)), w,
                              da.from_array(y, chunks=label_chunks), b, wrt=("w", "b"))
    assert_same(computed(*lazy), module.grad(X, w, y, b))


def test_matrix_weights_come_back_in_their_shapes_and_a_dask_weight_works_too():
    module = example("softmax_regression", wrt=["W", "b"])
    rng = np.random.default_rng(1)
    X, W, b = rng.standard_normal((3001, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    Y = np.eye(4)[rng.integers(0, 4, 3001)]
    lazy = grad_by_row_chunks(module, da.from_array(X, chunks=(500, 5)),
                              da.from_array(W, chunks=(2, 2)), b,
                              da.from_array(Y, chunks=(700, 4)), wrt=("W", "b"))
    assert_same(computed(*lazy), module.grad(X, W, b, Y))


def test_a_sum_over_rows():
    module = numpy_module("X: [N, D]\nw: [D]\ny: [N]\nloss = sum((X @ w - y)^2)", wrt=["w"])
    X, w, y, _ = logistic_data(rows=2500)
    lazy = grad_by_row_chunks(module, da.from_array(X, chunks=(300, 8)), w,
                              da.from_array(y, chunks=300), wrt=("w",), averaged=False)
    assert_same(computed(*lazy), module.grad(X, w, y))


def test_nothing_is_computed_until_asked():
    module = example("logistic_regression", wrt=["w", "b"])
    X, w, y, b = logistic_data(rows=400)

    def refuse(*args, **kwargs):
        raise AssertionError("computed")
    with dask.config.set(scheduler=refuse):
        loss, (dw, db) = grad_by_row_chunks(module, da.from_array(X, chunks=(100, 8)), w,
                                            da.from_array(y, chunks=100), b, wrt=("w", "b"))
    assert dw.shape == (8,) and db.shape == () and loss.shape == ()


def test_one_task_per_chunk_then_a_tree():
    module = example("logistic_regression", wrt=["w", "b"])
    X, w, y, b = logistic_data(rows=6400)
    loss, _ = grad_by_row_chunks(module, da.from_array(X, chunks=(100, 8)), w,
                                 da.from_array(y, chunks=100), b, wrt=("w", "b"))
    names = [key[0] if isinstance(key, tuple) else key for key in dict(loss.__dask_graph__())]
    kinds = collections.Counter(name.strip("_").split("-")[0] for name in names)
    assert kinds["chunk_gradient"] == 64
    assert kinds["added"] == 8 + 1     # 64 / 8, then 8 / 8


@pytest.mark.parametrize("wrt, options, message", [
    (["X", "w"], {"wrt": ("X", "w")},
     "X is a row input: its gradient is one row per row, not a sum over chunks; compile "
     "with --wrt naming the other inputs only, or use the array-api module"),
])
def test_what_it_cannot_do_is_refused_before_any_graph(wrt, options, message):
    module = example("logistic_regression", wrt=wrt)
    X, w, y, b = logistic_data(rows=100)
    with pytest.raises(ValueError) as error:
        grad_by_row_chunks(module, da.from_array(X), w, da.from_array(y), b, **options)
    assert str(error.value) == message


def test_a_module_with_other_gradients_than_wrt_says_so():
    module = example("logistic_regression")
    X, w, y, b = logistic_data(rows=100)
    loss, _ = grad_by_row_chunks(module, da.from_array(X), w, da.from_array(y), b,
                                 wrt=("w", "b"))
    with pytest.raises(ValueError) as error:
        loss.compute(scheduler="sync")
    assert str(error.value) == ("the module returns 4 gradients, not the 2 that wrt names: "
                                "pass the --wrt it was compiled with")


def test_the_compile_path_imports_neither_this_module_nor_dask():
    script = ("import sys; from compiler.cli import main; "
              "main(['compile', 'examples/arrays/logistic_regression.txt', '-o', '-']); "
              "assert 'compiler.distributed' not in sys.modules and 'dask' not in sys.modules, "
              "sorted(m for m in sys.modules if 'dask' in m or 'distributed' in m)")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr


@pytest.fixture
def environment():
    """A LocalCluster sets variables for its workers in this process's
    environment too: put it back as it was."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _faults_of_a_freed_array_made_again():
    """The page faults of writing a 4 MB array made after one was freed."""
    import resource
    np.ones(500_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    np.ones(500_000)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.parametrize("keep_freed_memory", [True, False])
def test_on_a_worker_process(environment, keep_freed_memory):
    distributed = pytest.importorskip("dask.distributed")
    module = example("logistic_regression", wrt=["w", "b"])
    X, w, y, b = logistic_data(rows=4000)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = grad_by_row_chunks(module, da.from_array(X, chunks=(1000, 8)), w,
                                  da.from_array(y, chunks=1000), b, wrt=("w", "b"),
                                  keep_freed_memory=keep_freed_memory)
        loss, *gradients = dask.compute(lazy[0], *lazy[1])
        faults, = client.run(_faults_of_a_freed_array_made_again).values()
    assert_same((loss, gradients), module.grad(X, w, y, b))
    if sys.platform.startswith("linux"):
        # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, under
        # which glibc maps every array past 128 KiB afresh: about 1,000 page
        # faults for this one, until a chunk's task let malloc keep it, and
        # for as long as the caller asks it not to.
        assert (faults < 50) if keep_freed_memory else (faults > 500)
