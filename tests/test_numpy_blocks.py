"""The numpy target's grad in blocks: each result written straight into its
array (compiler/emit/blocks.py), results that are the caller's alone, and inputs
that are not float64 computed whole."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrays import ATOL, RTOL, example, pointwise, random_points
from compiler.passes.adjoint import adjoint
from compiler.emit.blocks import block_power, shared_lines
from compiler.gates.expr import BinOp, Call, Function, IfExp, Name, Number
from compiler.driver import staged_ir
from compiler.emit.context import context
from conftest import build
from helpers import page_faults_per_call
from test_random_formulas import formulas


def _blocked(text: str, block: int = 16, **options):
    module = build(text, target="numpy", **options)
    module.BLOCK = block
    return module


def _block_lines(text: str) -> tuple[str, ...]:
    return context(adjoint(staged_ir(text)), "lecture", "numpy").block_lines


@pytest.mark.parametrize("text, written", [
    ("f = x * y", ("np.multiply(x, y, out=f)", "dx[...] = y", "dy[...] = x")),
    ("f = -1", ("np.negative(1, out=f)",)),
    ("f = max(x, y, z)", ("maximum_x = np.maximum(x, y, out=scratch[0])",
                          "np.maximum(maximum_x, z, out=f)")),
    ("f = x^3", ("f[...] = x**3", "np.multiply(3, x**(3 - 1), out=dx)")),  # ** is no ufunc
    ("f = cos(x)", ("np.cos(x, out=f)", "sin_x = np.sin(x, out=scratch[0])",
                    "np.negative(sin_x, out=dx)")),
    ("f = σ(x)", ("exp_x = np.exp(neg_abs_x, out=scratch[0])",
                  "add_exp_x = np.add(1, exp_x, out=scratch[1])",
                  "maximum_exp_x = np.maximum(exp_x, x >= 0, out=scratch[2])",
                  "np.divide(maximum_exp_x, add_exp_x, out=f)")),
    ("f = sin(x) * x", ("mul_cos_x = np.multiply(cos_x, x, out=scratch[1])",
                        "np.add(sinx, mul_cos_x, out=dx)")),
    ("q = x*y\nf = q*q + x - y", ("np.subtract(qqpx, y, out=f)",
                                  "mul_x = np.multiply(x, dq, out=scratch[0])",
                                  "np.add(-1.0, mul_x, out=dy)")),
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
    assert any(line.startswith("exp_x = np.exp(") for line in lines), lines
    assert any(line.startswith("exp_y = np.exp(") for line in lines), lines


def test_a_line_no_result_reads_is_dropped():
    """The logistic loss computes e as softplus(-h1): its stage h2 = σ(h1)
    is left to forward, which caches what backward reads."""
    lines = _block_lines(example("logistic_loss"))
    assert not any(line.startswith("h2 =") for line in lines), lines
    assert sum(line.count("np.exp(") for line in lines) == 1, lines


@pytest.mark.parametrize("stem, written", [
    ("compound", ("np.add(x, y, out=dz)", "np.multiply(dz, z, out=f)", "dx[...] = z")),
    ("neuron", ("np.multiply(f, div_maximum_exp_dot2, out=dw2)",
                "np.multiply(x1, dw2, out=dw1)")),
    ("squared_error", ("np.multiply(2, ymwx, out=dy)", "dwx = np.negative(dy, out=scratch[0])")),
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


def _assert_blocks_give_forward_and_backward_s_bits(module, columns):
    """grad in blocks against forward then backward over the whole, bit for
    bit: the value and every gradient, a number input's summed over the
    batch in both."""
    with np.errstate(all="ignore"):
        value, gradient = module.grad(*columns)
        whole, cache = module.forward(*columns)
        whole_gradient = module.backward(cache)
    np.testing.assert_array_equal(value, whole)
    assert len(gradient) == len(whole_gradient) == len(module.INPUTS)
    for got, expected in zip(gradient, whole_gradient):
        assert np.shape(got) == np.shape(expected)
        np.testing.assert_array_equal(got, expected)


BITS_CASES = ["staged", "neuron", "logistic_loss", "circuit", "compound", "squared_error",
              "f = max(x, y) * min(y, x)", "m = min(x, y)\nf = m * m + x"]


@pytest.mark.parametrize("stem", BITS_CASES)
def test_blocks_give_forward_and_backward_s_bits(stem):
    """Each block computes the same operations on the same operands as
    forward and backward, shared or not, so the numbers are theirs to the
    last bit, at the edges of float64 too (exp(-|a|) for exp(min(a, 0)))."""
    module = _blocked(example(stem) if "=" not in stem else stem, block=8)
    rng = np.random.default_rng(7)
    columns = [rng.permutation(np.concatenate([EDGES, rng.normal(0.0, 3.0, 50)]))
               for _ in module.INPUTS]
    _assert_blocks_give_forward_and_backward_s_bits(module, columns)


@pytest.mark.parametrize("stem", ["staged", "neuron", "circuit", "logistic_loss"])
@pytest.mark.parametrize("number", [0, 1])
def test_a_number_among_the_inputs_gives_forward_and_backward_s_bits(stem, number):
    """With a number for an input the lines make their own arrays (out=None),
    and what reads numbers alone is a number, computed once as in forward."""
    module = _blocked(example(stem), block=8)
    rng = np.random.default_rng(11)
    columns = [rng.permutation(np.concatenate([EDGES, rng.normal(0.0, 3.0, 50)]))
               for _ in module.INPUTS]
    columns[number] = 0.3
    _assert_blocks_give_forward_and_backward_s_bits(module, columns)


@pytest.mark.parametrize("text", ["f = x + y", "f(x, w, y) = x*w - y*y", "f = 3*x - exp(y)",
                                  "f(x, w, y) = w*w + x*w + w + y"])
def test_a_number_whose_gradient_is_the_same_at_every_point_gives_their_sum(text):
    """x (and w) a number, y 66 points: blocks sum x's gradient over the
    points they fill, and backward, its seed spread over them, sums the
    same 66 numbers in the same order."""
    module = _blocked(text, block=8)
    rng = np.random.default_rng(5)
    columns = [0.7 if name != "y" else rng.permutation(np.concatenate(
        [EDGES[:-3], rng.normal(0.0, 3.0, 47)])) for name in module.INPUTS]
    _assert_blocks_give_forward_and_backward_s_bits(module, columns)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(formulas(), st.integers(-1, 2))
def test_random_formulas_in_blocks_give_forward_and_backward_s_bits(formula, number):
    """Scratch arrays taken and given back over any formula's lines, every
    input an array or one of them a number (`number`; -1: none)."""
    module = _blocked(formula[0], block=8)
    rng = np.random.default_rng(3)
    columns = [rng.permutation(np.concatenate([EDGES, rng.normal(0.0, 2.0, 30)]))
               for _ in module.INPUTS]
    if 0 <= number < len(columns):
        columns[number] = 0.7
    _assert_blocks_give_forward_and_backward_s_bits(module, columns)


def test_lines_of_other_names_compute_into_scratch_arrays():
    lines = _block_lines("xy = x * y\nf = xy + 1")
    assert lines[:2] == ("xy = np.multiply(x, y, out=scratch[0])", "np.add(xy, 1, out=f)")


def test_a_scratch_array_is_taken_again_once_no_later_line_reads_its_value():
    """The line that reads a value last writes over it (dshnum over shden);
    num keeps its array until mul_num reads it, and 7 arrays serve 17
    values."""
    lines = _block_lines("num = x * y\nden = x + y\nf = (num - 1) * (den + 1) / (num * den)")
    for line in ("num = np.multiply(x, y, out=scratch[0])",
                 "shden = np.add(den, 1, out=scratch[3])",
                 "dshnum = np.multiply(shden, invden2, out=scratch[3])",
                 "mul_num = np.multiply(num, dden2, out=scratch[0])"):
        assert line in lines, lines
    assert sum("out=scratch[" in line for line in lines) == 17
    assert max(int(line.split("out=scratch[")[1][0]) for line in lines
               if "out=scratch[" in line) == 6


def test_what_is_no_ufunc_or_makes_booleans_stays_in_its_line():
    lines = _block_lines("f = relu(x * y)")
    assert "dxy = np.where(xy > 0, 1.0, 0.0)" in lines, lines
    assert "xy = np.multiply(x, y, out=scratch[0])" in lines, lines


@pytest.mark.parametrize("text, tests", [
    ("f = max(x, y)", ("dx[...] = np.greater_equal(x, y).astype(float)",
                       "dy[...] = np.greater(y, x).astype(float)")),
    ("f = min(x, y)", ("dx[...] = np.less_equal(x, y).astype(float)",
                       "dy[...] = np.less(y, x).astype(float)")),
    ("m = max(x, y)\nf = m * y", ("np.multiply(np.greater_equal(x, y).astype(float), y, out=dx)",)),
])
def test_which_operand_a_max_took_compares_its_operands(text, tests):
    """`x == m` is `x >= y` and `(y == m) & (x != m)` is `y > x`, NaN and
    ties included (test_blocks_give_forward_and_backward_s_bits); NumPy's
    comparison, which gives an array or a NumPy bool even of two numbers."""
    lines = _block_lines(text)
    assert all(line in lines for line in tests), lines


@pytest.mark.parametrize("text", ["f(x, y, z, w) = 2 * (x*y + max(z, w))",
                                  "f(x, y, z, w) = x * y * min(z, w)"])
def test_a_max_of_two_numbers_among_arrays_in_blocks_gives_the_math_targets_numbers(text):
    """Each number's gradient is the sum of its gradients at the points."""
    module, math_module = _blocked(text, block=8), build(text)
    x, y = np.linspace(-1.0, 2.0, 21), np.linspace(3.0, -1.0, 21)
    for z, w in [(0.5, 0.5), (0.25, 0.5), (1, 0.5)]:
        value, (dx, dy, dz, dw) = module.grad(x, y, z, w)
        points = [math_module.grad(*point, z, w) for point in zip(x.tolist(), y.tolist())]
        assert value.tolist() == [each[0] for each in points]
        assert dx.tolist() == [each[1][0] for each in points]
        assert dy.tolist() == [each[1][1] for each in points]
        assert (dz, dw) == pytest.approx((sum(each[1][2] for each in points),
                                          sum(each[1][3] for each in points)), rel=1e-15)


def test_a_max_of_three_keeps_its_tests():
    lines = _block_lines("f = max(x, y, z)")
    assert "dx[...] = (x == f).astype(float)" in lines, lines


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


def test_a_constant_output_is_the_number_forward_gives():
    module = _blocked("f(x) = 3", block=4)
    value, (dx,) = module.grad(np.ones(10))
    assert value == 3 == module.forward(np.ones(10))[0] and dx.tolist() == [0.0] * 10


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


@pytest.mark.parametrize("arrays, power", [(1, 16), (5, 16), (15, 16), (16, 16), (17, 15),
                                           (40, 14), (10**6, 12)])
def test_a_block_holds_2_16_points_fewer_past_8_mib_down_to_2_12(arrays, power):
    assert block_power(arrays) == power


@pytest.mark.parametrize("stem, power", [("multiply", 16), ("circuit", 16), ("staged", 16)])
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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, Linux's counts")
def test_a_module_that_declares_shapes_keeps_its_calls_memory():
    """exp(x), its product with x and the gradient at 10^6 points take more
    than the 32 MiB that glibc keeps after a 16 MiB array is freed: each
    call took about 2,600 page faults before the module freed one of just
    under 32 MiB, as a module of numbers does."""
    root = str(Path(__file__).resolve().parent.parent)
    load = LOAD.format(root=root, text="x: [N]\nf = sum(exp(x) * x)")
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


def test_the_blocks_benchmark_times_each_line_of_a_module():
    """benchmarks/numpy_blocks.py, which docs/performance.md's figures of the
    blocks come from: one timed line for each line of _grad_block."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    shown = subprocess.run([sys.executable, str(root / "benchmarks" / "numpy_blocks.py"),
                            "--lines", "--examples", "multiply"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    timed = [line.split(None, 1)[1] for line in shown if line[:1] == " "]
    assert timed == ["np.multiply(x, y, out=f)", "dx[...] = y", "dy[...] = x", "in all, 3 lines"]


UNREAD = "f(x, w, y) = w*w + x*w + w"   # f reads no y


def test_an_input_the_output_does_not_read_takes_no_part_in_the_batch():
    """Past BLOCK points of y alone, grad gives forward and backward's
    numbers: dw = 2w + x + 1 once, not once per point of a y that f never
    reads, and y's gradient is zeros of y's shape."""
    module = _blocked(UNREAD)
    y = np.linspace(-1.0, 1.0, 100)
    value, (dx, dw, dy) = module.grad(0.5, 2.0, y)
    assert (value, dx, dw) == (7.0, 2.0, 5.5)
    np.testing.assert_array_equal(dy, np.zeros(100))


@pytest.mark.parametrize("y", [np.zeros((2, 1)), np.zeros(3), 1.0, np.zeros(3, np.float32)])
def test_a_batch_in_blocks_has_the_shape_forward_gives_whatever_an_unread_input_holds(y):
    module = _blocked(UNREAD)
    x = np.linspace(-1.0, 1.0, 100)
    value, (dx, dw, dy) = module.grad(x, 2.0, y)
    out, cache = module.forward(x, 2.0, y)
    assert value.shape == out.shape == (100,)
    np.testing.assert_array_equal(value, out)
    np.testing.assert_array_equal(dx, np.full(100, 2.0))
    assert dw == pytest.approx(np.sum(2 * 2.0 + x + 1))
    assert np.shape(dy) == np.shape(y) and not np.any(dy)
    for mine, theirs in zip((dx, dw, dy), module.backward(cache)):
        np.testing.assert_array_equal(mine, theirs)
