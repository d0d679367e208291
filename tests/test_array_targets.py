"""What every array target promises, tested once for each of them:
the lecture's numbers on scalars, each gradient in its input's shape summed
over broadcasting, and a shared weight's gradient summed over the batch."""

from __future__ import annotations

import numpy as np
import pytest

from arrays import ATOL, RTOL, example, pointwise, random_points, summed
from conftest import build

ARRAY_TARGETS = ["numpy", "numba"]


@pytest.mark.parametrize("target", ARRAY_TARGETS)
def test_scalars_give_the_lecture_numbers(target):
    value, gradient = build(example("staged"), target=target).grad(3.0, -4.0)
    assert (value, gradient) == (1.5456448841066441, (2.0595697955721652, 1.5922327514838093))
    assert all(np.shape(g) == () for g in gradient)


@pytest.mark.parametrize("target", ARRAY_TARGETS)
@pytest.mark.parametrize("x, y", [
    (2.0, np.linspace(-1.0, 1.0, 5)),                       # (scalar, vector)
    (np.linspace(-1.0, 1.0, 3)[:, None], np.linspace(0.5, 2.0, 4)[None, :]),  # (column, row)
    (np.arange(12.0).reshape(3, 4) / 7 - 0.8, -0.3),       # (matrix, scalar)
    (np.arange(6.0).reshape(2, 3).T / 5, [0.25, -1.5]),    # (transposed, list)
], ids=["scalar-vector", "column-row", "matrix-scalar", "transposed-list"])
def test_each_gradient_has_its_inputs_shape_summed_over_broadcasting(x, y, target):
    value, (dx, dy) = build(example("staged"), target=target).grad(x, y)
    x_full, y_full = np.broadcast_arrays(x, y)
    assert value.shape == x_full.shape
    assert np.shape(dx) == np.shape(x) and np.shape(dy) == np.shape(y)
    each_value, (each_dx, each_dy) = pointwise(build(example("staged")),
                                               [x_full.ravel(), y_full.ravel()])
    np.testing.assert_allclose(value, each_value.reshape(x_full.shape), rtol=RTOL)
    np.testing.assert_allclose(dx, summed(each_dx.reshape(x_full.shape), np.shape(x)), rtol=RTOL)
    np.testing.assert_allclose(dy, summed(each_dy.reshape(y_full.shape), np.shape(y)), rtol=RTOL)


@pytest.mark.parametrize("target", ARRAY_TARGETS)
def test_a_shared_scalar_weight_gets_the_sum_over_the_batch(target):
    math_module = build(example("neuron"))
    module = build(example("neuron"), target=target)
    assert module.INPUTS == ("w0", "x0", "w1", "x1", "w2")
    x0, x1 = random_points(50, "ab", seed=3)
    weights = (2.0, -3.0, -3.0)
    gradient = module.grad(weights[0], x0, weights[1], x1, weights[2])[1]
    each = np.array([math_module.grad(weights[0], a, weights[1], b, weights[2])[1]
                     for a, b in zip(x0, x1)])
    for index in (0, 2, 4):          # the weights: one number, the batch's sum
        assert np.shape(gradient[index]) == ()
        assert gradient[index] == pytest.approx(each[:, index].sum(), rel=1e-12)
    for index in (1, 3):             # the data: one gradient per point
        np.testing.assert_allclose(gradient[index], each[:, index], rtol=RTOL, atol=ATOL)


SEEDED_TARGETS = ["numpy", "numba", "array-api"]
"""The targets whose backward takes a seed over a batch of points."""


@pytest.mark.parametrize("target", SEEDED_TARGETS)
def test_a_number_input_of_constant_local_gradient_gets_the_sum_over_the_batch(target):
    module = build("f = x + y", target=target)
    y = np.linspace(-1.0, 1.0, 5)
    _, (dx, dy) = module.grad(0.7, y)
    assert float(dx) == 5.0
    np.testing.assert_array_equal(dy, np.ones(5))
    assert float(module.backward(module.forward(0.7, y)[1])[0]) == 5.0


def _batch_sum_difference(module, args, index, step=1e-6):
    """d/d args[index] of the output summed over the batch, by a central difference."""
    up, down = list(args), list(args)
    up[index] = args[index] + step
    down[index] = args[index] - step
    return (np.sum(module.f(*up)) - np.sum(module.f(*down))) / (2 * step)


@pytest.mark.parametrize("target", SEEDED_TARGETS)
@pytest.mark.parametrize("style", ["lecture", "compact"])
@pytest.mark.parametrize("text, expected", [
    ("f = x + y", {"x": 5.0, "w": 0.0}),
    ("f = 3*x - y", {"x": 15.0, "w": 0.0}),
    ("f = x*w + y", {"x": 5 * -1.5, "w": 5 * 0.7}),              # a factor of numbers alone
    ("f = w*w + w - exp(x) + y", {"x": -5 * np.exp(0.7), "w": 5 * (2 * -1.5 + 1)}),  # fan-out
    ("f = x*y + w", {"x": 0.0, "w": 5.0}),                      # sum(y) = 0 over the batch
], ids=["sum", "scaled", "product-of-numbers", "fan-out", "offset"])
def test_every_number_input_is_summed_over_the_batch_whatever_its_gradient(
        text, expected, style, target):
    """Each seed: backward's default, a number given by position, an array
    that broadcasts with the output (one weight per point); each checked
    against the batch's summed output by central differences."""
    text = text.replace("f =", "f(x, w, y) =")
    module = build(text, target=target, style=style)
    y = np.linspace(-1.0, 1.0, 5)
    args = [0.7, -1.5, y]
    _, gradient = module.grad(*args)
    cache = module.forward(*args)[1]
    weights = np.array([0.5, 1.0, 2.0, -1.0, 3.0])
    each = pointwise(build(text), [np.full(5, 0.7), np.full(5, -1.5), y])[1]
    for index, name in enumerate(("x", "w")):
        assert float(gradient[index]) == pytest.approx(expected[name], rel=1e-14, abs=1e-14)
        assert float(module.backward(cache)[index]) == float(gradient[index])
        assert float(module.backward(cache, 2.0)[index]) == pytest.approx(
            2 * expected[name], rel=1e-14, abs=1e-14)
        assert float(gradient[index]) == pytest.approx(
            _batch_sum_difference(module, args, index), rel=1e-7, abs=1e-7)
        assert float(module.backward(cache, weights)[index]) == pytest.approx(
            np.dot(weights, each[index]), rel=1e-14, abs=1e-14)


@pytest.mark.parametrize("target", SEEDED_TARGETS)
def test_a_column_and_a_row_each_get_the_sum_over_the_axis_they_never_had(target):
    """x + y of a (3, 1) column and a (1, 4) row: each entry of x meets the
    four of y, and each entry of y the three of x."""
    module = build("f = x + y", target=target)
    x, y = np.linspace(-1.0, 1.0, 3)[:, None], np.linspace(0.5, 2.0, 4)[None, :]
    _, (dx, dy) = module.grad(x, y)
    np.testing.assert_array_equal(dx, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(dy, np.full((1, 4), 3.0))


@pytest.mark.parametrize("target", SEEDED_TARGETS)
def test_wrt_a_number_alone_still_sums_over_the_batch_of_another_input(target):
    """With --wrt w the cache keeps w's shape alone; the batch is y's."""
    module = build("f = w*w + y", target=target, wrt=["w"])
    y = np.linspace(-1.0, 1.0, 5)
    _, (dw,) = module.grad(1.5, y)
    assert float(dw) == 15.0
    assert float(module.backward(module.forward(1.5, y)[1], 0.5)[0]) == 7.5


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_seed_larger_than_the_output_sums_each_gradient_over_it_too(target):
    module = build("f = x * y", target=target)
    y = np.linspace(-1.0, 1.0, 5)
    cache = module.forward(0.7, y)[1]
    dx, dy = module.backward(cache, np.ones((3, 5)))
    assert float(dx) == pytest.approx(3 * y.sum(), abs=1e-15)
    np.testing.assert_array_equal(dy, np.full(5, 3 * 0.7))


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_seed_that_does_not_broadcast_with_the_output_is_a_value_error_naming_it(target):
    module = build("loss = x * y", target=target)
    cache = module.forward(0.7, np.linspace(-1.0, 1.0, 5))[1]
    with pytest.raises(ValueError) as error:
        module.backward(cache, np.ones(3))
    assert str(error.value) == ("dloss has shape (3,), but loss, the output, has shape (5,), "
                                "and the two do not broadcast together")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_default_seed_takes_the_outputs_type(dtype):
    """A constant gradient (dx of x + y) is computed from the seed alone:
    float32 inputs give float32 gradients, as the array-api target gives."""
    module = build("f = x + y * y", target="numpy")
    x, y = np.linspace(-1.0, 1.0, 5).astype(dtype), np.float32(0.5).astype(dtype)
    value, (dx, dy) = module.grad(x, y)
    assert value.dtype == dx.dtype == np.asarray(dy).dtype == dtype
    assert float(dy) == pytest.approx(5.0, rel=1e-6)


@pytest.mark.parametrize("target, kind", [("numpy", np.float64), ("array-api", float)])
def test_numbers_alone_give_numbers_of_the_same_type_as_ever(target, kind):
    value, gradient = build(example("staged"), target=target).grad(3.0, -4.0)
    assert (value, gradient) == (1.5456448841066441, (2.0595697955721652, 1.5922327514838093))
    assert all(type(each) is kind for each in gradient)
    module = build("f = x + 2*y", target=target)
    assert module.backward(module.forward(3.0, -4.0)[1]) == (1.0, 2.0)
    assert all(type(each) is kind for each in module.backward(module.forward(3.0, -4.0)[1]))


@pytest.mark.parametrize("target", SEEDED_TARGETS)
@pytest.mark.parametrize("style", ["lecture", "compact"])
def test_hvp_sums_a_number_inputs_gradient_and_product_over_the_batch(target, style):
    """f = x·x·w + y: with x and w numbers and y a batch of 5, the gradient
    (2xw, x²) and the Hessian times v, (2w·v_x + 2x·v_w, 2x·v_x), are each
    the sum of 5 equal points', not one point's; checked against central
    differences of backward's gradient."""
    module = build("f(x, w, y) = x*x*w + y", target=target, style=style,
                   second_order=("jvp", "hvp"))
    y = np.linspace(-1.0, 1.0, 5)
    x, w, v_x, v_w = 0.7, -1.5, 0.25, 2.0
    _, gradient, product = module.hvp(x, w, y, v_x=v_x, v_w=v_w)
    assert float(gradient[0]) == pytest.approx(5 * 2 * x * w, rel=1e-14)
    assert float(gradient[1]) == pytest.approx(5 * x * x, rel=1e-14)
    assert float(product[0]) == pytest.approx(5 * (2 * w * v_x + 2 * x * v_w), rel=1e-14)
    assert float(product[1]) == pytest.approx(5 * 2 * x * v_x, rel=1e-14)
    step = 1e-6
    up = module.grad(x + step * v_x, w + step * v_w, y)[1]
    down = module.grad(x - step * v_x, w - step * v_w, y)[1]
    for index in (0, 1):
        assert float(product[index]) == pytest.approx(
            (float(up[index]) - float(down[index])) / (2 * step), rel=1e-7)
    np.testing.assert_array_equal(gradient[2], np.ones(5))
    np.testing.assert_array_equal(product[2], np.zeros(5))


@pytest.mark.parametrize("style", ["lecture", "compact"])
@pytest.mark.parametrize("stem", ["staged", "circuit", "neuron", "compound", "multiply",
                                  "squared_error", "logistic_loss"])
def test_backward_and_hvp_return_arrays_that_nothing_else_holds(stem, style):
    """backward returns each gradient without a copy (each is a new array
    of its own); hvp, whose products may share one array (t_dx = t_dq,
    t_dy = t_dq), copies them."""
    module = build(example(stem), target="numpy", style=style, second_order=("jvp", "hvp"))
    given = random_points(6, module.INPUTS, seed=8)
    seed = np.linspace(0.5, 1.5, 6)
    directions = {f"v_{name}": np.full(6, 0.5) for name in module.INPUTS}
    gradient = module.backward(module.forward(*given)[1], seed)
    _, hvp_gradient, product = module.hvp(*given, **directions)
    for results in (gradient, hvp_gradient, product):
        held = [*given, seed, *directions.values()]
        for index, each in enumerate(results):
            assert not any(np.shares_memory(each, other) for other in held + list(results[:index]))


@pytest.mark.parametrize("target", SEEDED_TARGETS)
def test_jvp_gives_the_outputs_shape_when_only_a_numbers_direction_moves_it(target):
    """f = x·x·w + y along v_x alone, x and w numbers, y a batch of 5: each
    point's derivative is 2xw·v_x, returned once per point as numba's loop
    gives it, and checked against central differences of f."""
    module = build("f(x, w, y) = x*x*w + y", target=target, second_order=("jvp", "hvp"))
    y = np.linspace(-1.0, 1.0, 5)
    value, tangent = module.jvp(0.7, -1.5, y, v_x=0.25)
    assert np.shape(tangent) == np.shape(value) == (5,)
    np.testing.assert_allclose(tangent, np.full(5, 2 * 0.7 * -1.5 * 0.25), rtol=1e-15)
    step = 1e-6
    difference = (module.f(0.7 + step * 0.25, -1.5, y) - module.f(0.7 - step * 0.25, -1.5, y))
    np.testing.assert_allclose(tangent, difference / (2 * step), rtol=1e-7)
    assert np.shape(module.jvp(0.7, -1.5, y)[1]) == (5,)                 # no direction: zeros
    assert module.jvp(0.7, -1.5, 0.5, v_x=1.0) == (0.7 * 0.7 * -1.5 + 0.5, 2 * 0.7 * -1.5)


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_formula_that_reads_no_input_gives_a_number_and_zero_gradients(target):
    """Its output is a Python number, whose shape backward's seed and jvp's
    tangent are spread over.  (numba's loop fills the batch with it.)"""
    module = build("f(x, y) = 3", target=target, second_order=("jvp", "hvp"))
    y = np.linspace(-1.0, 1.0, 5)
    value, (dx, dy) = module.grad(0.7, y)
    assert float(value) == 3.0 and float(dx) == 0.0
    np.testing.assert_array_equal(dy, np.zeros(5))
    assert float(module.backward(module.forward(0.7, y)[1], 2.0)[0]) == 0.0
    assert float(module.jvp(0.7, y, v_x=1.0)[1]) == 0.0


def test_random_formulas_sum_a_number_inputs_gradient_over_the_batch():
    """Any formula, one input a number and the others 4 points: backward's
    gradient of the number is the sum of the math module's at each point,
    for the default seed and for one weight per point."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from test_random_formulas import formulas

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(formulas(), st.integers(0, 2), st.sampled_from(["numpy", "array-api"]))
    def check(formula, number, target):
        text = formula[0]
        module = build(text, target=target)
        if len(module.INPUTS) < 2:
            return  # no batch beside the number
        number %= len(module.INPUTS)
        rng = np.random.default_rng(4)
        columns = [rng.uniform(-1.5, 1.5, 4) for _ in module.INPUTS]
        columns[number] = np.full(4, 0.6)
        args = [0.6 if index == number else column for index, column in enumerate(columns)]
        each = pointwise(build(text), columns)[1]
        cache = module.forward(*args)[1]
        weights = np.array([0.5, -1.0, 2.0, 1.5])
        for seed, weighted in ((1.0, np.ones(4)), (weights, weights)):
            got = module.backward(cache, seed)
            assert float(got[number]) == pytest.approx(
                float(np.dot(weighted, each[number])), rel=1e-12, abs=1e-12), text
            for index, column in enumerate(each):
                if index != number:
                    np.testing.assert_allclose(got[index], weighted * column,
                                               rtol=1e-12, atol=1e-12, err_msg=text)
    check()
