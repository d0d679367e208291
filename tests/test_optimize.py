"""The optimization passes: each alone on the IR, and through the CLI."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pytest

from compiler import GradcError, compile_source
from compiler.gates import CHAINS, GATES
from compiler.passes.optimize import (Passes, eliminate_common, eliminate_dead, fold_constants,
                               optimize, restrict_gradients)
from compiler.front.parse import parse
from compiler.front.resolve import resolve
from compiler.gates.snippets import fill
from compiler.passes.stage import Const, Ref, renamed, stage
from conftest import EXAMPLES, build

OFF = {"fold": False, "cse": False, "dce": False}


def raw(text: str):
    return stage(resolve(parse(text)))


def lines(staged) -> list[str]:
    return [f"{s.name} = {fill(s.gate.forward, s.gate, s.operands, s.constant)}"
            for s in staged.stages]


# -- names after the passes --------------------------------------------------

def test_names_gradc_made_up_are_given_again_after_a_merge():
    text = "f(x, y) = σ(x + y) * (x + y)^2 + σ(x+y)"
    plain = raw(text)
    assert [s.name for s in plain.stages] == [
        "xpy", "sigxpy", "xpy2", "xpy2sqr", "prod", "xpy3", "sigxpy3", "f"]
    merged = optimize(plain, Passes())
    assert lines(merged) == [
        "xpy = x + y",
        "sigxpy = " + fill(GATES["sigmoid"].forward, GATES["sigmoid"], (Ref("xpy"),)),
        "xpysqr = xpy**2", "prod = sigxpy * xpysqr", "f = prod + sigxpy"]
    assert merged.roles == {}


def test_renaming_keeps_user_names_and_roles():
    # `den` is a role; `xpy2` was a counter only because `xpy` came first.
    staged = optimize(raw("q = x + y\nf = (x + y + q) / (q + 1)"), Passes())
    assert [s.name for s in staged.stages] == ["q", "num", "den", "invden", "f"]
    assert staged.roles == {"num": "num", "den": "den"}
    assert renamed(staged) is staged


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.txt")), ids=lambda p: p.stem)
def test_renaming_changes_nothing_without_a_merge(example):
    staged = raw(example.read_text(encoding="utf-8"))
    assert renamed(staged) is staged


# -- common subexpressions ---------------------------------------------------

def test_cse_merges_a_repeated_sum_into_one_stage():
    staged = eliminate_common(raw("f = (x + y)^2 + (x + y)"))
    assert lines(staged) == ["xpy = x + y", "xpysqr = xpy**2", "f = xpysqr + xpy"]


def test_cse_merges_commutative_operands_only_when_the_row_says_so():
    assert lines(eliminate_common(raw("f = (x + y) * (y + x)"))) == [
        "xpy = x + y", "f = xpy * xpy"]
    assert len(eliminate_common(raw("f = (x - y) * (y - x)")).stages) == 3
    # max routes a tie's gradient to its first argument, so order matters.
    assert not GATES["max"].commutative
    assert len(eliminate_common(raw("f = max(x, y) + max(y, x)")).stages) == 3


def test_cse_keeps_a_named_repeat_as_a_copy():
    staged = eliminate_common(raw("q = x + y; r = x + y; f = q * r"))
    assert lines(staged) == ["q = x + y", "r = q", "f = q * r"]


def test_cse_keeps_integral_and_float_constants_apart():
    assert len(eliminate_common(raw("f = (x + 2) * (x + 2.0)")).stages) == 3


@pytest.mark.parametrize("row", [r for r in GATES.values() if r.commutative],
                         ids=lambda r: r.name)
def test_commutative_rows_are_symmetric_in_value_and_local_gradients(row):
    rng = random.Random(7)
    for _ in range(20):
        a, b = rng.uniform(-3, 3), rng.uniform(-3, 3)
        forward = [eval(fill(row.forward, row, [Const(p), Const(q)]), {"math": math})
                   for p, q in ((a, b), (b, a))]
        assert forward[0] == forward[1]
        out = repr(forward[0])
        local = [eval(fill(s, row, [Const(a), Const(b)], out=out)) for s in row.local]
        swapped = [eval(fill(s, row, [Const(b), Const(a)], out=out)) for s in row.local]
        assert local == swapped[::-1]


# -- constant folding --------------------------------------------------------

def test_fold_collapses_scale_of_scale_and_shift_of_shift():
    assert lines(eliminate_dead(fold_constants(raw("f = 2*(3*x)")))) == ["f = 6 * x"]
    assert lines(eliminate_dead(fold_constants(raw("f = (x + 1) + 2.5")))) == ["f = x + 3.5"]
    assert lines(eliminate_dead(fold_constants(raw("f = 2*x*3*4")))) == ["f = x * 24"]


def test_fold_never_reaches_through_a_named_stage():
    staged = fold_constants(raw("q = 3*x; f = 2*q"))
    assert lines(staged) == ["q = 3 * x", "f = 2 * q"]


@pytest.mark.parametrize("row", [r for r in GATES.values() if r.chain], ids=lambda r: r.name)
def test_a_chain_rule_matches_running_the_two_gates(row):
    inner, outer, x = Const(1.75), Const(-2.5), 0.375
    two = eval(fill(row.forward, row, [Const(eval(fill(row.forward, row, [Const(x)], inner)))],
                    outer))
    folded = CHAINS[row.chain](inner.value, outer.value)
    assert eval(fill(row.forward, row, [Const(x)], Const(folded))) == pytest.approx(two, 1e-15)


# -- dead code ---------------------------------------------------------------

def test_dce_drops_dead_stages_named_or_not_and_keeps_the_interface():
    text = "q = x * σ(y); f = x + 1"
    assert lines(eliminate_dead(raw(text))) == ["f = x + 1"]
    module = build(text)
    assert module.INPUTS == ("x", "y")
    assert module.grad(2.0, 5.0) == (3.0, (1.0, 0.0))
    assert "q = " not in compile_source(text)
    assert "    q = x * sigy\n" in compile_source(text, dce=False)


# -- --wrt -------------------------------------------------------------------

STAGED = (EXAMPLES / "staged.txt").read_text(encoding="utf-8")


def test_wrt_returns_only_the_named_gradients_in_that_order():
    full = build(STAGED).grad(3.0, -4.0)
    value, (dy, dx) = build(STAGED, wrt=("y", "x")).grad(3.0, -4.0)
    assert (value, (dx, dy)) == full
    only_y = build(STAGED, wrt=("y",))
    assert only_y.grad(3.0, -4.0) == (full[0], (full[1][1],))


def test_wrt_computes_only_what_its_gradients_need():
    source = compile_source("f = x*y + σ(z)", wrt=("x",))
    assert "dx = y * dxy" in source
    assert "dsigz" not in source and "dz" not in source and "dy" not in source
    assert "return (dx,)" in source


def test_wrt_with_an_input_the_output_ignores_gives_a_zero():
    assert build("f(x, y) = x^2", wrt=("y", "x")).grad(3.0, 1.0) == (9.0, (0.0, 6.0))


@pytest.mark.parametrize("wrt, message", [
    (("z",), "--wrt names 'z', which is not an input: expected one of x, y"),
    (("x", "x"), "--wrt names 'x' twice: name each input once"),
    ((), "--wrt names no input: expected a list such as --wrt x,y"),
])
def test_wrt_errors(wrt, message):
    with pytest.raises(GradcError) as caught:
        restrict_gradients(raw(STAGED), wrt)
    assert caught.value.message == message


def test_wrt_takes_the_name_the_file_wrote_for_a_renamed_input():
    module = build("f = lambda * x", wrt=("lambda",))
    assert module.INPUTS == ("lambda_", "x")
    assert module.grad(2.0, 5.0) == (10.0, (5.0,))


# -- all passes together -----------------------------------------------------

@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.txt")), ids=lambda p: p.stem)
def test_passes_change_no_example_and_no_value(example):
    text = example.read_text(encoding="utf-8")
    assert compile_source(text) == compile_source(text, **OFF)


def test_optimized_and_plain_modules_agree_on_values():
    text = "a = 2*(3*x) + (x + y); f = (x + y)^2 * (y + x) + a + σ(x + y) + 3*x*2"
    point = (0.7, -1.3)
    value, gradient = build(text).grad(*point)
    plain_value, plain_gradient = build(text, **OFF).grad(*point)
    assert value == pytest.approx(plain_value, rel=1e-14)
    assert gradient == pytest.approx(plain_gradient, rel=1e-14)
    assert len(_computing(compile_source(text), "x + y")) == 1


def _computing(source: str, code: str) -> list[str]:
    """The lines of forward (not comments) that compute `code`; grad runs
    the same lines again."""
    forward = source.split("\ndef forward(")[1].split("\ndef ")[0]
    return [line for line in forward.splitlines()
            if line.endswith(f" = {code}") and not line.lstrip().startswith("#")]


def test_cli_switches_and_wrt(tmp_path):
    formula = tmp_path / "f.txt"
    formula.write_text("f(x, y) = (x + y) * (x + y)\n", encoding="utf-8")
    run = [sys.executable, "-m", "compiler", "compile", str(formula), "-o"]
    subprocess.run(run + [str(tmp_path / "o0.py"), "-O0"], check=True)
    subprocess.run(run + [str(tmp_path / "wrt.py"), "--wrt", "y"], check=True)
    assert len(_computing((tmp_path / "o0.py").read_text(), "x + y")) == 2
    printed = subprocess.run([sys.executable, str(tmp_path / "wrt.py"), "x=1", "y=2"],
                             capture_output=True, text=True, check=True).stdout
    assert printed == "f = 9.0\ndf/dy = 6.0\n"
    bad = subprocess.run(run + ["-", "--wrt", "q"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr == f"{formula}: error: --wrt names 'q', which is not an input: " \
                         "expected one of x, y\n"
