"""The numpy target's hvp past BLOCK points: blocks of points give the
unblocked hvp's value, gradient and product to rounding, in the same shapes."""

from __future__ import annotations

import numpy as np
import pytest

from arrays import example
from conftest import build

SECOND_ORDER = ("jvp", "hvp")


def _pair(text: str, **options):
    """The module whole (BLOCK past every input here) and blocked by 8 points."""
    whole = build(text, target="numpy", second_order=SECOND_ORDER, **options)
    blocked = build(text, target="numpy", second_order=SECOND_ORDER, **options)
    blocked.BLOCK = 8
    return whole, blocked


def _calls(module):
    """Counts the module's calls of hvp, the blocks' included."""
    count, hvp = [0], module.hvp

    def counted(*args, **kwargs):
        count[0] += 1
        return hvp(*args, **kwargs)
    module.hvp = counted
    return count


def _assert_same(whole, blocked, inputs, directions, calls_at_least=2):
    count = _calls(blocked)
    got, expected = blocked.hvp(*inputs, **directions), whole.hvp(*inputs, **directions)
    assert count[0] >= calls_at_least
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, atol=0)
    assert np.shape(got[0]) == np.shape(expected[0])
    for part in (1, 2):
        assert len(got[part]) == len(expected[part])
        for a, b in zip(got[part], expected[part]):
            assert np.shape(a) == np.shape(b)
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _directions(module, inputs, rng):
    return {f"v_{name}": rng.normal(size=np.shape(value)) if np.ndim(value) else 0.7
            for name, value in zip(module.INPUTS, inputs)}


@pytest.mark.parametrize("stem", ["staged", "logistic_loss", "circuit", "neuron", "compound"])
@pytest.mark.parametrize("number", [-1, 0, 1])
def test_blocks_give_the_unblocked_hvp(stem, number):
    """Every input an array, or one a number, whose gradient and product the
    blocks sum."""
    whole, blocked = _pair(example(stem))
    rng = np.random.default_rng(1)
    inputs = [rng.normal(0.0, 2.0, 61) for _ in whole.INPUTS]
    if 0 <= number < len(inputs):
        inputs[number] = 0.4
    _assert_same(whole, blocked, inputs, _directions(whole, inputs, rng), calls_at_least=9)


def test_broadcast_shapes_are_summed_as_hvp_sums_them():
    whole, blocked = _pair("f(x, y, z) = x * exp(y) + σ(z) * y")
    rng = np.random.default_rng(2)
    inputs = [rng.normal(size=(5, 1)), rng.normal(size=(1, 9)), rng.normal(size=(9,))]
    _assert_same(whole, blocked, inputs, _directions(whole, inputs, rng))


def test_a_direction_left_out_is_zero():
    whole, blocked = _pair(example("staged"))
    rng = np.random.default_rng(3)
    inputs = [rng.normal(size=40), rng.normal(size=40)]
    _assert_same(whole, blocked, inputs, {"v_y": rng.normal(size=40)})


def test_wrt_takes_the_named_inputs_directions_alone():
    whole, blocked = _pair("f(x, y, z) = x * y * y + z * x", wrt=("y", "x"))
    rng = np.random.default_rng(4)
    inputs = [rng.normal(size=30) for _ in range(3)]
    _assert_same(whole, blocked, inputs, {"v_y": rng.normal(size=30), "v_x": 0.5})


def test_an_input_the_output_does_not_read_goes_whole_to_each_block():
    """z's gradient and product are zeros in z's own shape, however many
    points it has."""
    whole, blocked = _pair("f(x, y, z) = x * sin(y)")
    rng = np.random.default_rng(5)
    inputs = [rng.normal(size=30), rng.normal(size=30), rng.normal(size=(3, 1))]
    _assert_same(whole, blocked, inputs, _directions(whole, inputs, rng))
    _, (_, _, dz), (_, _, hz) = blocked.hvp(*inputs, v_z=np.ones((3, 1)))
    assert np.shape(dz) == np.shape(hz) == (3, 1)
    assert not np.any(dz) and not np.any(hz)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_inputs_that_are_not_float64_are_computed_whole_in_their_type(dtype):
    whole, blocked = _pair("f(x, y) = x * y * x + y")
    inputs = [np.arange(40).astype(dtype), np.arange(40, 80).astype(dtype)]
    directions = {"v_x": np.ones(40, dtype=dtype), "v_y": np.ones(40, dtype=dtype)}
    count = _calls(blocked)
    got, expected = blocked.hvp(*inputs, **directions), whole.hvp(*inputs, **directions)
    assert count[0] == 1
    assert got[0].dtype == expected[0].dtype
    for a, b in zip((got[0], *got[1], *got[2]), (expected[0], *expected[1], *expected[2])):
        np.testing.assert_array_equal(a, b)


def test_a_direction_of_more_points_than_the_inputs_is_computed_whole():
    whole, blocked = _pair("f(x, y) = x * y * x")
    rng = np.random.default_rng(6)
    inputs = [rng.normal(size=20), 0.5]
    directions = {"v_x": rng.normal(size=20), "v_y": rng.normal(size=(3, 20))}
    count = _calls(blocked)
    got, expected = blocked.hvp(*inputs, **directions), whole.hvp(*inputs, **directions)
    assert count[0] == 1
    for a, b in zip((got[0], *got[1], *got[2]), (expected[0], *expected[1], *expected[2])):
        np.testing.assert_array_equal(a, b)


def test_the_product_matches_central_differences_of_the_gradient():
    _, blocked = _pair(example("staged"))
    rng = np.random.default_rng(7)
    x, y, vx, vy = (rng.normal(size=50) for _ in range(4))
    _, _, (hx, hy) = blocked.hvp(x, y, v_x=vx, v_y=vy)
    step = 1e-5
    _, (ax, ay) = blocked.grad(x + step * vx, y + step * vy)
    _, (bx, by) = blocked.grad(x - step * vx, y - step * vy)
    np.testing.assert_allclose(hx, (ax - bx) / (2 * step), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hy, (ay - by) / (2 * step), rtol=1e-5, atol=1e-7)


def _hvp_text(text: str) -> str:
    from compiler import compile_source

    module = compile_source(text, target="numpy", second_order=SECOND_ORDER)
    return module[module.index("def hvp("):module.index("\ndef hessian(")]


def test_a_tangent_line_computes_each_exp_once():
    """σ's second derivative reads exp(-max(x, 0)) and 1 + exp(-|x|) four
    times each: each is a line of its own, computed once."""
    hvp = _hvp_text("f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)")
    assert "    exp_x = np.exp(-np.maximum(x, 0))\n" in hvp
    assert "    add_exp_x2 = 1 + exp_x2\n" in hvp
    for line in hvp.splitlines():
        if line.lstrip().startswith("t_"):
            calls = [part.split(")")[0] for part in line.split("np.exp(")[1:]]
            assert len(calls) == len(set(calls)), line
    code = [line for line in hvp.splitlines() if not line.lstrip().startswith("#")]
    assert sum(line.count("np.exp(") for line in code) == 16  # 32 before


def test_a_line_of_the_tangent_takes_a_name_no_value_has():
    whole, blocked = _pair("f(x, exp_x) = σ(x) * exp_x")
    hvp = _hvp_text("f(x, exp_x) = σ(x) * exp_x")
    assert "    exp_x2 = np.exp(-np.maximum(x, 0))\n" in hvp and "    exp_x = " not in hvp
    rng = np.random.default_rng(8)
    inputs = [rng.normal(size=30), rng.normal(size=30)]
    _assert_same(whole, blocked, inputs, _directions(whole, inputs, rng))
    _, _, (hx, _) = whole.hvp(*inputs, v_x=np.ones(30))
    s = 1 / (1 + np.exp(-inputs[0]))
    np.testing.assert_allclose(hx, s * (1 - s) * (1 - 2 * s) * inputs[1], rtol=1e-12)
