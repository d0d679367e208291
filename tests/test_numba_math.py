"""The numba target's own exp, expm1, log, log1p and tanh (templates/numba_math.jinja).

Each is checked against libm, the functions Python's math module calls, on
a few million points: the whole float64 range, the ranges where the
result is subnormal or overflows, the neighbourhoods where a formula could
cancel, and NaN, the infinities, the zeros and the subnormals.  The
comparison runs in numba loops, so millions of points take a second; a
sample of each reference is first checked against Python's math module
itself.  Errors are counted in ulps as the distance between the bit
patterns of two finite numbers of one sign.  libm's tanh is itself up to 2
ulps from the true value, so tanh is held to 2 ulps of mpmath's (on fewer
points: mpmath is slow) and to 3 of libm's.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from compiler.emit.render import _environment

numba = pytest.importorskip("numba")

FUNCTIONS = ("exp", "expm1", "log", "log1p", "tanh")
HELPERS = ("power_of_two", "ln2_multiple", "expm1_near_zero")
NAMES = {f"_{name}": f"_{name}" for name in FUNCTIONS + HELPERS} | {
    "_compiled": "_compiled", "np": "np"}
MAX_ULPS = 2
FROM_LIBM = {"exp": 2, "expm1": 2, "log": 2, "log1p": 2, "tanh": 3}

HEADER = '''
import math
import numba
import numpy as np


def _compiled(**options):
    return numba.njit(**({"fastmath": False, "error_model": "numpy"} | options))
'''


def rendered(needed) -> str:
    template = _environment().from_string(
        '{% from "numba_math.jinja" import numba_math %}'
        '{{ numba_math(names, needed) }}')
    return template.render(names=NAMES, needed=needed)


LOOPS = '''

@numba.njit
def _ulps(got, want):
    """The largest distance in ulps, and where; a NaN, an infinity or a zero
    must be matched exactly (a zero of either sign)."""
    worst, where = 0, -1
    for i in range(got.size):
        a, b = got[i], want[i]
        if a == b or (a != a and b != b):
            continue
        finite = abs(a) < np.inf and abs(b) < np.inf
        if not finite or (a > 0) != (b > 0) or a == 0 or b == 0:
            return 1 << 62, i
        distance = abs(np.float64(a).view(np.int64) - np.float64(b).view(np.int64))
        if distance > worst:
            worst, where = distance, i
    return worst, where
'''

LOOP = '''

@numba.njit
def mine_{name}(x, out):
    for i in range(x.size):
        out[i] = _{name}(x[i])


@numba.njit
def libm_{name}(x, out):
    for i in range(x.size):
        out[i] = {libm}(x[i])
'''

LIBM = {"exp": "math.exp", "expm1": "math.expm1", "log": "_libm_log",
        "log1p": "_libm_log1p", "tanh": "math.tanh"}

LIBM_LOGS = '''

@numba.njit
def _libm_log(x):
    """math.log, with the values Python raises for: -inf at 0, NaN below."""
    return math.log(x) if x > 0.0 else (-np.inf if x == 0.0 else np.nan)


@numba.njit
def _libm_log1p(x):
    return math.log1p(x) if x > -1.0 else (-np.inf if x == -1.0 else np.nan)
'''


@pytest.fixture(scope="module")
def loops():
    source = HEADER + rendered(FUNCTIONS) + LOOPS + LIBM_LOGS + "".join(
        LOOP.format(name=name, libm=LIBM[name]) for name in FUNCTIONS)
    namespace = {}
    exec(compile(source, "<numba_math>", "exec"), namespace)
    return namespace


def python_math(name, value):
    """Python's math module, with the values it raises for instead."""
    try:
        return getattr(math, name)(value)
    except OverflowError:
        return math.inf
    except ValueError:
        return -math.inf if value == (0.0 if name == "log" else -1.0) else math.nan


SPECIALS = np.array([
    math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, -5e-324,
    2.2250738585072014e-308, -2.2250738585072014e-308, 2.225073858507201e-308,
    1e-300, -1e-300, 1e-17, -1e-17, 1.7976931348623157e308, -1.7976931348623157e308,
    1.0, -1.0, 2.0, 0.5, -1.0 + 2.0**-53, 0.55, -0.55, 0.7, -0.7, 40.0, -45.0,
    709.782712893384, 709.7827128933841, 710.0, -708.3964185322641, -745.1332191019411,
    -745.1332191019412, -746.0, math.log(2) / 2, -math.log(2) / 2])


def wide(rng, count):
    """Both signs, magnitudes spread evenly over the exponents of 5e-324 to 1.8e308."""
    bits = rng.integers(1, 0x7FF0000000000000, count, dtype=np.int64)
    return bits.view(np.float64) * rng.choice([-1.0, 1.0], count)


def points(name, rng):
    per = 400_000
    uniform = rng.uniform
    common = [SPECIALS, wide(rng, per), uniform(-1, 1, per), uniform(-40, 40, per)]
    extra = {
        "exp": [uniform(-746, 710, per), uniform(-745.2, -708, per), uniform(700, 709.8, per)],
        "expm1": [uniform(-50, 710, per), uniform(-0.8, 0.8, per)],
        "log": [np.abs(wide(rng, per)), 1.0 + rng.integers(-200_000, 200_000, per) * 2.0**-52,
                uniform(0.5, 2, per)],
        "log1p": [np.abs(wide(rng, per)), -1.0 + np.abs(wide(rng, per)) % 1.0,
                  uniform(-0.5, 1, per)],
        "tanh": [uniform(-1, 1, per), uniform(-20, 20, per)],
    }[name]
    return np.concatenate(common + extra)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_libm_in_numba_is_python_math(name, loops):
    x = points(name, np.random.default_rng(1))[:: 97]
    got = np.empty_like(x)
    loops[f"libm_{name}"](x, got)
    want = np.array([python_math(name, value) for value in x])
    assert loops["_ulps"](got, want)[0] == 0


@pytest.mark.parametrize("name", FUNCTIONS)
def test_within_two_ulps_everywhere(name, loops):
    x = points(name, np.random.default_rng(2))
    got, want = np.empty_like(x), np.empty_like(x)
    loops[f"mine_{name}"](x, got)
    loops[f"libm_{name}"](x, want)
    worst, where = loops["_ulps"](got, want)
    assert worst <= FROM_LIBM[name], (name, x[where], got[where], want[where], worst)
    assert x.size > 2_000_000


@pytest.mark.parametrize("name", FUNCTIONS)
def test_within_two_ulps_of_the_true_value(name, loops):
    mpmath = pytest.importorskip("mpmath")
    x = points(name, np.random.default_rng(3))[:: 400]
    x = x[np.isfinite(x)]
    got = np.empty_like(x)
    loops[f"mine_{name}"](x, got)
    with mpmath.workprec(120):
        want = np.array([true_value(mpmath, name, value) for value in x])
    worst, where = loops["_ulps"](got, want)
    assert worst <= MAX_ULPS, (name, x[where], got[where], want[where], worst)


def true_value(mpmath, name, value):
    """The correctly rounded value (mpmath's inf past float64's largest)."""
    if name in ("log", "log1p") and value <= (0.0 if name == "log" else -1.0):
        return python_math(name, value)
    return float(getattr(mpmath, name)(mpmath.mpf(value)))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_special_values_exactly(name, loops):
    x = np.array([math.nan, math.inf, -math.inf, 0.0, -0.0])
    got = np.empty_like(x)
    loops[f"mine_{name}"](x, got)
    want = np.array([python_math(name, value) for value in x])
    np.testing.assert_array_equal(got, want)


def test_tanh_keeps_the_sign_of_zero(loops):
    got = np.empty(2)
    loops["mine_tanh"](np.array([0.0, -0.0]), got)
    assert list(np.signbit(got)) == [False, True]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_loop_that_calls_it_is_vectorized(name, loops):
    """LLVM turned the loop into vector code: the vector types in its IR."""
    loop = loops[f"mine_{name}"]
    ir = next(iter(loop.inspect_llvm().values()))
    assert " x double>" in ir


@pytest.mark.parametrize("needed, functions", [
    (["exp"], ["_power_of_two", "_ln2_multiple", "_expm1_near_zero", "_exp"]),
    (["tanh"], ["_power_of_two", "_ln2_multiple", "_expm1_near_zero", "_expm1", "_tanh"]),
    (["log1p"], ["_log", "_log1p"]),
    (["log", "exp"], ["_power_of_two", "_ln2_multiple", "_expm1_near_zero", "_exp", "_log"]),
    ([], []),
])
def test_only_the_functions_needed_and_theirs_are_written(needed, functions):
    written = [line[len("def "):line.index("(")] for line in rendered(needed).splitlines()
               if line.startswith("def ")]
    assert written == functions


def defined(source: str) -> list[str]:
    return [line[len("def "):line.index("(")] for line in source.splitlines()
            if line.startswith("def ")]


EXP_ARGUMENTS = {"staged": {"-abs(x)", "-abs(y)"}, "logistic_loss": {"-abs(h1)"}, "multiply": set()}


@pytest.mark.parametrize("example, own", [
    ("staged", ["_power_of_two", "_ln2_multiple", "_expm1_near_zero", "_exp"]),
    ("logistic_loss", ["_power_of_two", "_ln2_multiple", "_expm1_near_zero", "_exp", "_log",
                       "_log1p"]),
    ("multiply", []),
])
def test_a_numba_module_writes_the_functions_its_lines_call_and_no_others(example, own):
    from compiler import compile_source
    from conftest import EXAMPLES

    source = compile_source((EXAMPLES / f"{example}.txt").read_text(encoding="utf-8"),
                            target="numba")
    written = [name for name in defined(source) if name[1:] in FUNCTIONS + HELPERS]
    assert written == own
    assert "np.exp(" not in source and "np.log" not in source
    # σ, σ(-x) and softplus read one exp a point, exp(-|x|), which LLVM
    # computes once however many lines spell it.
    loop = source[source.index("def _grad_at("):]
    assert set(re.findall(r"_exp\(([^()]*(?:\([^()]*\))?)\)", loop)) == EXP_ARGUMENTS[example]


def test_a_formula_name_moves_the_modules_own_function(tmp_path):
    from compiler import compile_source
    from compiler.loader import module_from_file
    from conftest import build

    text = "f(_exp, _log1p) = exp(_exp) * log1p(_log1p) + tanh(_exp)"
    source = compile_source(text, target="numba")
    assert {"_exp_", "_log1p_", "_tanh"} <= set(defined(source))
    module = module_from_file(source, "own_names", tmp_path)
    points = np.array([-0.7, 0.0, 0.3, 2.5]), np.array([0.5, 1e-9, 3.0, 40.0])
    value, gradient = module.grad(*points)
    math_module = build(text)
    for i in range(4):
        expected = math_module.grad(points[0][i], points[1][i])
        assert value[i] == pytest.approx(expected[0], rel=1e-14)
        assert gradient[0][i] == pytest.approx(expected[1][0], rel=1e-14)
        assert gradient[1][i] == pytest.approx(expected[1][1], rel=1e-14)
