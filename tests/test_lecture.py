"""The lectures' numbers and listings, reproduced exactly."""

from __future__ import annotations

import re

import pytest

from compiler import compile_source
from conftest import EXAMPLES, ROOT, build


def test_multiply_gate():
    module = build("f = x*y")
    assert module.grad(4.0, -3.0) == (-12.0, (-3.0, 4.0))


def test_compound_expression_with_named_stage():
    module = build("q = x + y; f = q*z")
    assert module.INPUTS == ("x", "y", "z")
    assert module.grad(-2.0, 5.0, -4.0) == (-12.0, (-4.0, -4.0, 3.0))
    assert "    dq = z * df\n" in compile_source("q = x + y; f = q*z")


def test_sigmoid_neuron():
    module = build("f = σ(w0*x0 + w1*x1 + w2)")
    assert module.INPUTS == ("w0", "x0", "w1", "x1", "w2")
    value, (dw0, dx0, dw1, dx1, dw2) = module.grad(2.0, -1.0, -3.0, -2.0, -3.0)
    assert value == 0.7310585786300049
    assert (dw0, dx0, dw1, dx1, dw2) == (
        -0.19661193324148185, 0.3932238664829637, -0.3932238664829637,
        -0.5898357997244456, 0.19661193324148185)


def test_staged_example_numbers():
    module = build((EXAMPLES / "staged.txt").read_text(encoding="utf-8"))
    assert module.grad(3.0, -4.0) == (
        1.5456448841066441, (2.0595697955721652, 1.5922327514838093))


def test_max_routes_the_gradient():
    module = build("2*(x*y + max(z, w))")
    assert module.grad(3.0, -4.0, 2.0, -1.0) == (-20.0, (-8.0, 6.0, 2.0, 0.0))


def _forward_names(source: str) -> list[str]:
    body = source.split("def forward(")[1].split("return")[0]
    return re.findall(r"^    (\w+) = ", body, flags=re.M)


def _backward_lines(source: str) -> list[str]:
    body = source.split("def backward(")[1].split("    return")[0]
    return re.findall(r"^    (d\w+ \+?=)", body, flags=re.M)


def test_staged_example_forward_names_in_lecture_order():
    source = compile_source("f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)")
    assert _forward_names(source) == [
        "sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"]


def test_staged_example_backward_lines_in_lecture_order():
    source = compile_source("f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)")
    assert _backward_lines(source) == [
        "dnum =", "dinvden =", "dden =", "dsigx =", "dxpysqr =", "dxpy =", "dx =",
        "dy =", "dx +=", "dx +=", "dsigy =", "dy +="]


@pytest.mark.parametrize("line", [
    "    # backprop den = sigx + xpysqr\n",
    "    dden = (-1.0 / (den**2)) * dinvden\n",
    "    dxpy = (2 * xpy) * dxpysqr\n",
    "    dx += ((1 - sigx) * sigx) * dsigx\n",
    "    dy += ((1 - sigy) * sigy) * dsigy\n",
    "    invden = 1.0 / den\n",
    "    xpysqr = xpy**2\n",
])
def test_staged_example_has_the_lecture_lines(line):
    assert line in compile_source("f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)")


def test_staged_example_golden_module():
    """The whole module text, byte for byte: the lecture style is a choice
    (explicit local factors such as `(1) * dden`) that this file pins."""
    golden = (ROOT / "tests" / "golden" / "staged_lecture.py").read_text(encoding="utf-8")
    text = (EXAMPLES / "staged.txt").read_text(encoding="utf-8")
    assert compile_source(text) == golden


def test_neuron_backward_matches_the_lecture_listing():
    source = compile_source((EXAMPLES / "neuron.txt").read_text(encoding="utf-8"))
    assert "    ddot = ((1 - f) * f) * df\n" in source
