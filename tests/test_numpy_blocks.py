"""The numpy target's grad in blocks: each result written straight into its
array (compiler/emit/blocks.py), results that are the caller's alone, and inputs
that are not float64 computed whole."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from arrays import ATOL, RTOL, example, pointwise, random_points
from compiler.passes.adjoint import adjoint
from compiler.emit.blocks import block_power, shared_lines
from compiler.gates.expr import BinOp, Call, Function, IfExp, Name, Number
from compiler.driver import staged_ir
from compiler.emit.context import context
from conftest import build
from helpers import page_faults_per_call


def _blocked(text: str, block: int = 16, **options):
    module = build(text, target="numpy", **options)
    module.BLOCK = block
    return module


def _block_lines(text: str) -> tuple[str, ...]:
    return context(adjoint(staged_ir(text)), "lecture", "numpy").block_lines


@pytest.mark.parametrize("text, written", [
    ("f = x * y", ("np.multiply(x, y, out=f)", "dx[...] = y", "dy[...] = x")),
    ("f = -1", ("np.negative(1, out=f)",)),
    ("f = max(x, y, z)", ("np.maximum(np.maximum(x, y), z, out=f)",)),
    ("f = x^3", ("f[...] = x**3",)),                             # ** is not one ufunc
    ("f = cos(x)", ("np.cos(x, out=f)", "np.negative(np.sin(x), out=dx)")),
    ("f = σ(x)", ("exp_x = np.exp(-np.abs(x))", "add_exp_x = 1 + exp_x",
                  "np.divide(np.maximum(exp_x, x >= 0), add_exp_x, out=f)",
                  "np.multiply(f, np.maximum(exp_x, x <= 0) / add_exp_x, out=dx)")),
    ("f = sin(x) * x", ("np.add(sinx, np.cos(x) * x, out=dx)",)),
    ("q = x*y\nf = q*q + x - y", ("np.subtract(qqpx, y, out=f)", "np.add(-1.0, x * dq, out=dy)")),
    ("f = relu(x)", ("dx[...] = np.where(x > 0, 1.0, 0.0)",)),  # np.where is no ufunc
    ("f = x\ng = y", ("g[...] = y", "dx[...] = 0.0")),              # x takes no gradient
])
def test_a_result_line_computes_into_its_array_or_copies_there(text, written):
    """Decided from the rows' snippets and the compact terms, never by
    parsing the printed line."""
    lines = _block_lines(text)
    assert all(line in lines for line in written), lines


def test_a_value_two_lines_compute_is_computed_once():
    """σ(x) and σ(-x), in forward and in backward, read one exp(-|x|)."""
    lines = _block_lines(example("staged"))
    assert sum(line.count("np.exp(") for line in lines) == 2, lines
    assert "exp_x = np.exp(-np.abs(x))" in lines and "exp_y = np.exp(-np.abs(y))" in lines


def test_a_line_no_result_reads_is_dropped():
    """The logistic loss computes e as softplus(-h1): its stage h2 = σ(h1)
    is left to forward, which caches what backward reads."""
    lines = _block_lines(example("logistic_loss"))
    assert not any(line.startswith("h2 =") for line in lines), lines
    assert sum(line.count("np.exp(") for line in lines) == 1, lines


@pytest.mark.parametrize("stem, written", [
    ("compound", ("np.add(x, y, out=dz)", "np.multiply(dz, z, out=f)", "dx[...] = z")),
    ("neuron", ("np.multiply(f, np.maximum(exp_dot, dot <= 0) / add_exp_dot, out=dw2)",
                "np.multiply(x1, dw2, out=dw1)")),
    ("squared_error", ("np.multiply(2, ymwx, out=dy)", "dwx = -dy")),
])
def test_a_result_that_copies_a_value_of_the_block_computes_it_there(stem, written):
    """dz = q computes q straight into dz's slice, and the lines after read
    it there; an input (dx = z) is the caller's and is copied."""
    lines = _block_lines(example(stem))
    assert all(line in lines for line in written), lines
    assert not any(line.startswith(("q =", "ddot =", "dymwx =")) for line in lines), lines


def test_a_part_of_a_conditional_is_never_computed_before_its_test():
    """exp(x) under `if c` runs only where c holds; shared with a later
    line it would run before the line, whatever c."""
    exp_x = Call(Function("exp"), (Name("x"),))
    lines = [("a", IfExp(Name("c"), exp_x, Number("0.0"))), ("f", BinOp("+", exp_x, Name("a")))]
    assert shared_lines(lines, frozenset({"a", "f"})) == lines


EDGES = np.array([0.0, -0.0, 1e-310, -1e-310, 5e-324, 1.0, -1.0, 36.0, -36.0, 40.0, -40.0, 709.0,
                  -709.0, 745.0, -745.0, 800.0, -800.0, 1e308, -1e308, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("stem", ["staged", "neuron", "logistic_loss", "circuit", "compound",
                                  "squared_error"])
def test_blocks_give_forward_and_backward_s_bits(stem):
    """Each block computes the same operations on the same operands as
    forward and backward, shared or not, so the numbers are theirs to the
    last bit, at the edges of float64 too (exp(-|a|) for exp(min(a, 0)))."""
    module = _blocked(example(stem), block=8)
    rng = np.random.default_rng(7)
    columns = [rng.permutation(np.concatenate([EDGES, rng.normal(0.0, 3.0, 50)]))
               for _ in module.INPUTS]
    with np.errstate(all="ignore"):
        value, gradient = module.grad(*columns)
        whole, cache = module.forward(*columns)
        whole_gradient = module.backward(cache)
    np.testing.assert_array_equal(value, whole)
    for got, expected in zip(gradient, whole_gradient):
        np.testing.assert_array_equal(got, expected)


def test_lines_of_other_names_stay_as_they_are():
    lines = _block_lines("xy = x * y\nf = xy + 1")
    assert lines[:2] == ("xy = x * y", "np.add(xy, 1, out=f)")


@pytest.mark.parametrize("stem", ["circuit", "neuron", "squared_error"])
def test_blocks_give_the_math_targets_numbers(stem):
    """circuit has the max gate, neuron reads its written output f again."""
    math_module = build(example(stem))
    columns = random_points(200, math_module.INPUTS, seed=4)
    value, gradient = _blocked(example(stem)).grad(*columns)
    values, gradients = pointwise(math_module, columns)
    np.testing.assert_allclose(value, values, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.array(gradient), gradients, rtol=RTOL, atol=ATOL)


def test_results_the_caller_holds_are_never_written_again():
    module = _blocked(example("staged"))
    x, y = random_points(100, "xy", seed=1)
    first = module.grad(x, y)
    kept = [first[0].copy(), first[1][0].copy(), first[1][1].copy()]
    second = module.grad(y, x)
    for held, copy in zip([first[0], *first[1]], kept):
        np.testing.assert_array_equal(held, copy)
        assert not any(np.shares_memory(held, new) for new in [second[0], *second[1]])


def test_a_view_the_caller_holds_is_never_written_again():
    module = _blocked(example("multiply"))
    x, y = random_points(100, "xy", seed=2)
    every_other = module.grad(x, y)[1][0][::2]       # dx = y, through a view alone
    module.grad(y + 1.0, x)
    np.testing.assert_array_equal(every_other, y[::2])


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_inputs_that_are_not_float64_are_computed_whole_in_their_type(dtype):
    text = "f(x, y) = x * y + x"
    x, y = (np.arange(40).astype(dtype), np.arange(40, 80).astype(dtype))
    value, (dx, dy) = _blocked(text).grad(x, y)
    whole_value, (whole_dx, whole_dy) = build(text, target="numpy").grad(x, y)
    assert value.dtype == whole_value.dtype == dtype
    np.testing.assert_array_equal(value, whole_value)
    np.testing.assert_array_equal(dx, whole_dx)
    np.testing.assert_array_equal(dy, whole_dy)


def test_a_constant_output_fills_the_broadcast_shape():
    value, (dx,) = _blocked("f(x) = 3", block=4).grad(np.ones(10))
    assert value.tolist() == [3.0] * 10 and dx.tolist() == [0.0] * 10


def test_threads_calling_grad_at_once_each_get_their_own_results():
    """NumPy lets go of the GIL inside each ufunc, so the calls interleave."""
    from concurrent.futures import ThreadPoolExecutor

    module = _blocked(example("multiply"), block=64)
    columns = [random_points(3000, "xy", seed=seed) for seed in range(8)]

    def call(x, y):
        value, (dx, dy) = module.grad(x, y)
        return all(np.array_equal(a, b) for a, b in ((value, x * y), (dx, y), (dy, x)))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(lambda xy: call(*xy), columns * 5))


@pytest.mark.parametrize("arrays, power", [(1, 17), (5, 17), (8, 17), (13, 16), (16, 16),
                                           (17, 15), (10**6, 12)])
def test_a_block_holds_as_many_points_as_fit_8_mib_from_2_12_to_2_17(arrays, power):
    assert block_power(arrays) == power


@pytest.mark.parametrize("stem, power", [("multiply", 17), ("staged", 15)])
def test_each_module_sets_its_own_block(stem, power):
    assert build(example(stem), target="numpy").BLOCK == 2**power


LOAD = """
import sys
sys.path.insert(0, {root!r})
from compiler import compile_source
from compiler.loader import module_from_source
module = module_from_source(compile_source({text!r}, target="numpy"), "m", "<m>")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, Linux's counts")
def test_blocks_reuse_memory_in_a_process_that_freed_no_large_array():
    """Without the module's one freed 16 MiB array, each call here took
    about 6,000 page faults for its blocks' temporaries (docs/targets.md)."""
    root = str(Path(__file__).resolve().parent.parent)
    load = LOAD.format(root=root, text=example("staged"))
    assert page_faults_per_call(load, points=300_000, calls=5) < 100


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, Linux's counts")
def test_results_of_40_mb_a_call_reuse_memory():
    """circuit's five results at 10^6 points take 40 MB, past the 32 MiB
    that glibc keeps after a 16 MiB array is freed: each call took about
    2,700 page faults (10,000 pages zeroed) before the module freed one of
    just under 32 MiB."""
    root = str(Path(__file__).resolve().parent.parent)
    load = LOAD.format(root=root, text=example("circuit"))
    assert page_faults_per_call(load) < 100


@pytest.mark.parametrize("count", [10, 20_000])
def test_more_inputs_than_np_broadcast_takes(count):
    """np.broadcast takes at most 64 arrays; a formula may have more inputs.
    20,000 points are more than BLOCK, so grad goes through _in_blocks."""
    text = "f = " + " + ".join(f"x{i}*x{i}" for i in range(200))
    module = build(text, target="numpy")
    assert module.BLOCK < 20_000
    rng = np.random.default_rng(200)
    columns = [rng.uniform(-2.0, 2.0, count) for _ in range(200)]
    value, gradient = module.grad(*columns)
    np.testing.assert_allclose(value, np.sum(np.square(columns), axis=0), rtol=1e-12)
    assert len(gradient) == 200
    for column, got in zip(columns, gradient):
        np.testing.assert_array_equal(got, 2 * column)
    assert module.f(*columns) == pytest.approx(value, rel=1e-12)
