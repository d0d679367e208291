"""The numpy target: the math target's numbers, over arrays that broadcast.

Values are compared with the math module point by point.  The two targets
compute the same formulas, but not bit for bit: numpy's vectorised exp and
log may round an ulp away from the math module's, and σ's local gradient
differs on purpose (see docs/targets.md, stability).  So the tolerance is
relative 1e-12, or absolute 1e-13 where a gradient is a sum that cancels:
at the random points below, stage values reach about 100, whose ulp is
1.4e-14.
"""

from __future__ import annotations

import ast
from dataclasses import replace

import numpy as np
import pytest

from compiler import compile_source
from compiler.gates import checks as gate_checks
from compiler.cli import main
from compiler.gates import CHAINS, GATES, SCALAR_GATES
from compiler.loader import module_from_source
from arrays import ATOL, RTOL, pointwise, random_points, summed
from helpers import single_gate_module
from conftest import EXAMPLES, GENERATED, build
from gate_math import MEANING, NEGATIVE_POINTS, POINTS, POSITIVE_ONLY

STAGED = (EXAMPLES / "staged.txt").read_text(encoding="utf-8")
NEURON = (EXAMPLES / "neuron.txt").read_text(encoding="utf-8")
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.txt"))


def _both(text: str, **options):
    return build(text, **options), build(text, target="numpy", **options)


def _single_gate(gate, target: str):
    return single_gate_module(gate, MEANING[gate.name][1], target=target)


@pytest.mark.parametrize("name", sorted(SCALAR_GATES))
def test_every_gate_on_arrays_equals_the_math_target(name):
    gate = GATES[name]
    math_module, numpy_module = _single_gate(gate, "math"), _single_gate(gate, "numpy")
    points = POINTS + ([] if name in POSITIVE_ONLY else NEGATIVE_POINTS)
    columns = [np.array(column) for column in zip(*points)][: 3 if gate.variadic else gate.arity]
    values, gradients = pointwise(math_module, columns)
    value, gradient = numpy_module.grad(*columns)
    np.testing.assert_allclose(value, values, rtol=RTOL, atol=ATOL)
    for got, expected in zip(gradient, gradients):
        assert np.shape(got) == (len(points),)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_examples_on_300_random_points_equal_the_math_target(example):
    math_module, numpy_module = _both(example.read_text(encoding="utf-8"))
    columns = random_points(300, math_module.INPUTS)
    values, gradients = pointwise(math_module, columns)
    value, gradient = numpy_module.grad(*columns)
    np.testing.assert_allclose(value, values, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.array(gradient), gradients, rtol=RTOL, atol=ATOL)


def test_a_million_points_of_the_staged_example_equal_the_math_module():
    math_module, numpy_module = _both(STAGED)
    x, y = random_points(10**6, "xy", seed=11)
    value, (dx, dy) = numpy_module.grad(x, y)
    grad = math_module.grad
    exact = np.array([(v, gx, gy) for v, (gx, gy) in map(grad, x.tolist(), y.tolist())])
    np.testing.assert_allclose(np.stack([value, dx, dy], axis=1), exact, rtol=RTOL, atol=ATOL)


def _blocked(module, block: int):
    module.BLOCK = block
    return module


@pytest.mark.parametrize("style", ["lecture", "compact"])
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_grad_in_blocks_gives_the_unblocked_numbers_bit_for_bit(example, style):
    """300 points in blocks of 64: four whole blocks and a last one of 44."""
    text = example.read_text(encoding="utf-8")
    columns = random_points(300, build(text).INPUTS)
    whole = build(text, target="numpy", style=style).grad(*columns)
    value, gradient = _blocked(build(text, target="numpy", style=style), 64).grad(*columns)
    np.testing.assert_array_equal(value, whole[0])
    np.testing.assert_array_equal(np.array(gradient), np.array(whole[1]))


@pytest.mark.parametrize("x, y", [
    (np.linspace(-1.0, 1.0, 13)[:, None], np.linspace(0.5, 2.0, 11)[None, :]),  # (column, row)
    (0.7, np.linspace(-2.0, 2.0, 101)),                                        # (scalar, vector)
    (np.linspace(-1.0, 1.0, 9), np.linspace(-3.0, 3.0, 63).reshape(7, 9)),    # (row, matrix)
], ids=["column-row", "scalar-vector", "row-matrix"])
def test_grad_in_blocks_sums_each_gradient_over_broadcasting(x, y):
    """Blocks of 16 points cut across the rows of the broadcast shape."""
    math_module, numpy_module = _both(STAGED)
    value, (dx, dy) = _blocked(numpy_module, 16).grad(x, y)
    x_full, y_full = np.broadcast_arrays(x, y)
    each_value, (each_dx, each_dy) = pointwise(math_module, [x_full.ravel(), y_full.ravel()])
    np.testing.assert_allclose(value, each_value.reshape(x_full.shape), rtol=RTOL, atol=ATOL)
    assert np.shape(dx) == np.shape(x) and np.shape(dy) == np.shape(y)
    np.testing.assert_allclose(dx, summed(each_dx.reshape(x_full.shape), np.shape(x)), rtol=1e-12)
    np.testing.assert_allclose(dy, summed(each_dy.reshape(y_full.shape), np.shape(y)), rtol=1e-12)


def test_grad_in_blocks_sums_a_shared_scalar_weight_over_the_batch():
    math_module, numpy_module = _both(NEURON)
    x0, x1 = random_points(250, "ab", seed=3)
    gradient = _blocked(numpy_module, 32).grad(2.0, x0, -3.0, x1, -3.0)[1]
    each = np.array([math_module.grad(2.0, a, -3.0, b, -3.0)[1] for a, b in zip(x0, x1)])
    for index in (0, 2, 4):
        assert np.shape(gradient[index]) == ()
        assert gradient[index] == pytest.approx(each[:, index].sum(), rel=1e-12)
    for index in (1, 3):
        np.testing.assert_allclose(gradient[index], each[:, index], rtol=RTOL, atol=ATOL)


def test_grad_in_blocks_gives_new_arrays_and_zeros_for_an_ignored_input():
    numpy_module = _blocked(build("f(x, y) = x", target="numpy"), 4)
    x = np.arange(10.0)
    value, (dx, dy) = numpy_module.grad(x, np.ones((2, 1)))
    assert value.tolist() == x.tolist()            # y, never read, makes no batch
    assert dx.tolist() == [1.0] * 10 and dy.tolist() == [[0.0], [0.0]]
    assert not np.shares_memory(value, x) and not np.shares_memory(dx, x)


def test_wrt_in_blocks_returns_only_those_gradients():
    math_module = build(STAGED)
    numpy_module = _blocked(build(STAGED, target="numpy", wrt=("y",)), 8)
    x, y = random_points(37, "xy", seed=2)
    value, gradient = numpy_module.grad(x, y)
    _, (_, each_dy) = pointwise(math_module, [x, y])
    assert len(gradient) == 1
    np.testing.assert_allclose(gradient[0], each_dy, rtol=RTOL, atol=ATOL)


def test_compact_never_writes_into_an_array_two_names_share():
    """Compact style reads dden where the lecture copies it to dsigx and
    dxpysqr: one array, several names.  It sums each adjoint's
    contributions in one expression, assigned once, so no array grows in
    place; the lecture style's accumulation makes a new array each time."""
    source = compile_source(STAGED, target="numpy", style="compact")
    backward = next(node for node in ast.parse(source).body
                    if isinstance(node, ast.FunctionDef) and node.name == "backward")
    assigned = [target.id for node in ast.walk(backward) if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)]
    assert not any(isinstance(node, ast.AugAssign) for node in ast.walk(backward))
    assert len(assigned) == len(set(assigned)) and "dx" in assigned
    assert "    dx = dx + " in compile_source(STAGED, target="numpy")
    x, y = random_points(40, "xy", seed=5)
    _, expected = pointwise(build(STAGED), [x, y])
    right = module_from_source(source, "compact_numpy", "<compact>")
    np.testing.assert_allclose(np.array(right.grad(x, y)[1]), expected, rtol=RTOL, atol=ATOL)


def test_gradients_are_new_arrays():
    _, numpy_module = _both("f(x, y) = x + y")
    x, y, seed = np.ones(3), np.ones(3), np.full(3, 2.0)
    dx, dy = numpy_module.backward(numpy_module.forward(x, y)[1], seed)
    assert not any(np.shares_memory(a, b) for a in (dx, dy) for b in (x, y, seed))
    assert not np.shares_memory(dx, dy)
    dx += 1
    assert dy.tolist() == [2.0, 2.0, 2.0] and seed.tolist() == [2.0, 2.0, 2.0]


def test_an_array_seed_weights_each_point():
    math_module, numpy_module = _both(STAGED)
    x, y = random_points(20, "xy")
    seed = np.linspace(-2.0, 2.0, 20)
    dx, dy = numpy_module.backward(numpy_module.forward(x, y)[1], seed)
    _, (each_dx, each_dy) = pointwise(math_module, [x, y])
    np.testing.assert_allclose(dx, seed * each_dx, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dy, seed * each_dy, rtol=RTOL, atol=ATOL)


def test_an_input_the_output_ignores_gets_zeros_in_its_shape():
    _, numpy_module = _both("f(x, y) = 3 * x")
    dx, dy = numpy_module.grad(np.ones(4), np.ones((2, 1)))[1]
    assert dx.tolist() == [3.0] * 4 and dy.tolist() == [[0.0], [0.0]]


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_route_to_the_first_tied_argument(name):
    _, numpy_module = _both(f"f = {name}(a, b, c)")
    a = np.array([0.5, 0.1, 0.2, 0.9])
    b = np.array([0.5, 0.5, 0.2, 0.1])
    c = np.array([0.5, 0.5, 0.7, 0.1])
    gradient = np.array(numpy_module.grad(a, b, c)[1])
    np.testing.assert_array_equal(gradient.sum(axis=0), np.ones(4))
    first = {"max": [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]],
             "min": [[1, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]}[name]
    np.testing.assert_array_equal(gradient, first)


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_numpy_modules_import_only_numpy(example):
    """The contract: an array module imports numpy and nothing else (the
    script mode imports sys inside its `__main__` block only)."""
    tree = ast.parse((GENERATED / f"{example.stem}_numpy.py").read_text(encoding="utf-8"))
    imports = [alias.name for node in tree.body if isinstance(node, ast.Import)
               for alias in node.names]
    assert imports == ["numpy"]
    assert not any(isinstance(node, ast.ImportFrom) for node in tree.body)


def test_the_cli_writes_the_numpy_module(tmp_path):
    out = tmp_path / "staged_numpy.py"
    assert main(["compile", str(EXAMPLES / "staged.txt"), "--target", "numpy",
                 "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == \
        (GENERATED / "staged_numpy.py").read_text(encoding="utf-8")


def test_a_row_whose_math_code_cannot_be_translated_needs_its_own_numpy_form():
    row = replace(GATES["relu"], forms=())
    with pytest.raises(AssertionError, match="gate relu: its numpy code needs its own form"):
        gate_checks.check_table([row], GATES, CHAINS)
    gate_checks.check_table([GATES["relu"]], GATES, CHAINS)
