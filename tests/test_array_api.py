"""The array-api target: one module, the same results on every array library.

Each generated module of examples/*.txt (generated/X_array_api.py) and each
shaped example compiled with --target array-api runs on NumPy,
array-api-strict, PyTorch (CPU), JAX and Dask arrays, and equals the numpy
target's module (or the NumPy array module) to 1e-12 relative.  A library
that is not installed skips its own cases, saying so; CuPy runs where a GPU
is present.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest

from array_helpers import inputs as shaped_inputs
from compiler import compile_source
from compiler.front.parse import parse
from compiler.front.resolve import resolve
from compiler.loader import module_from_source
from conftest import EXAMPLES, GENERATED, build

pytest.importorskip("array_api_compat", reason="array_api_compat is not installed "
                    "(pip install \".[array]\"): the array-api target is not tested")

RTOL = 1e-12
SCALAR_EXAMPLES = sorted(EXAMPLES.glob("*.txt"))
SHAPED_EXAMPLES = sorted((EXAMPLES / "arrays").glob("*.txt"))


class Library:
    """How a test makes a library's arrays from NumPy's and reads them back."""

    def __init__(self, name, module, make, back=None, reason=""):
        self.name, self.module, self.make, self.back, self.reason = \
            name, module, make, back, reason

    def load(self):
        imported = pytest.importorskip(self.module, reason=f"{self.module} is not installed: "
                                       f"the array-api target is not tested on {self.name}")
        return imported

    def array(self, value):
        return self.make(np.asarray(value, dtype=float))


def _strict(value):
    import array_api_strict
    return array_api_strict.asarray(value)


def _torch(value):
    import torch
    return torch.asarray(value)


def _jax(value):
    import jax
    jax.config.update("jax_enable_x64", True)   # JAX computes in float32 otherwise
    import jax.numpy as jnp
    return jnp.asarray(value)


def _dask(value):
    import dask.array as da
    # Chunks smaller than the arrays, so that sums cross chunks.
    return da.from_array(value, chunks=2)


def _cupy(value):
    import cupy
    return cupy.asarray(value)


def _cupy_reason():
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return ""
    except Exception:   # no CuPy, or CuPy without a driver or a device
        pass
    return "no GPU here (or no CuPy): CuPy's cases are skipped"


LIBRARIES = [
    Library("NumPy", "numpy", lambda v: v),
    Library("array-api-strict", "array_api_strict", _strict),
    Library("PyTorch", "torch", _torch),
    Library("JAX", "jax", _jax),
    Library("Dask", "dask.array", _dask),
    Library("CuPy", "cupy", _cupy, reason="gpu"),
]


def to_numpy(value):
    """A library's array (or a float) as a NumPy array, computing a lazy one."""
    if isinstance(value, float):
        return np.asarray(value)
    if hasattr(value, "compute"):
        value = value.compute()
    if type(value).__module__.startswith("array_api_strict"):
        return np.from_dlpack(value)
    if type(value).__module__.startswith("cupy"):
        return value.get()
    if type(value).__module__.startswith("torch"):
        return value.cpu().numpy()
    return np.asarray(value)


@pytest.fixture(params=LIBRARIES, ids=lambda library: library.name)
def library(request):
    chosen = request.param
    if chosen.reason == "gpu" and _cupy_reason():
        pytest.skip(_cupy_reason())
    chosen.load()
    return chosen


def _module(path):
    return module_from_source(path.read_text(encoding="utf-8"), f"m_{path.stem}", str(path))


# Shapes that broadcast together: a matrix, a column, a row, a number.
SCALAR_SHAPES = [(3, 4), (3, 1), (4,), ()]


def _scalar_inputs(count, seed=3):
    generator = np.random.default_rng(seed)
    return [generator.uniform(0.2, 2.0, SCALAR_SHAPES[i % len(SCALAR_SHAPES)])
            for i in range(count)]


def _given(library, value):
    """A 0-d input stays a Python number: the call mixes numbers and arrays."""
    return float(value) if np.ndim(value) == 0 else library.array(value)


@pytest.mark.parametrize("example", SCALAR_EXAMPLES, ids=lambda p: p.stem)
def test_scalar_examples_equal_the_numpy_target(example, library):
    reference = build(example.read_text(encoding="utf-8"), target="numpy")
    module = _module(GENERATED / f"{example.stem}_array_api.py")
    values = _scalar_inputs(len(module.INPUTS))
    expected_value, expected_gradient = reference.grad(*values)
    value, gradient = module.grad(*[_given(library, v) for v in values])
    np.testing.assert_allclose(to_numpy(value), expected_value, rtol=RTOL)
    for got, expected, given in zip(gradient, expected_gradient, values):
        assert tuple(got.shape) == np.shape(given)
        np.testing.assert_allclose(to_numpy(got), expected, rtol=RTOL)
    seed = library.array(np.linspace(0.5, 1.5, 12).reshape(3, 4))
    cache = module.forward(*[_given(library, v) for v in values])[1]
    scaled = module.backward(cache, seed)
    expected_scaled = reference.backward(reference.forward(*values)[1], to_numpy(seed))
    for got, expected in zip(scaled, expected_scaled):
        np.testing.assert_allclose(to_numpy(got), expected, rtol=RTOL)


@pytest.mark.parametrize("example", SHAPED_EXAMPLES, ids=lambda p: p.stem)
def test_shaped_examples_equal_the_array_module(example, library):
    text = example.read_text(encoding="utf-8")
    reference = build(text)
    module = build(text, target="array-api")
    values = shaped_inputs(reference, labels=resolve(parse(text)).labels)
    expected_value, cache = reference.forward(*values)
    layer = np.ndim(expected_value) > 0
    upstream = np.random.default_rng(11).standard_normal(np.shape(expected_value))
    expected_gradient = reference.backward(cache, upstream) if layer else \
        reference.backward(cache)
    value, cache = module.forward(*[_given(library, v) if name in module.SHAPES else v
                                    for name, v in zip(module.INPUTS, values)])
    gradient = module.backward(cache, library.array(upstream)) if layer else \
        module.backward(cache)
    np.testing.assert_allclose(to_numpy(value), expected_value, rtol=RTOL)
    for got, expected in zip(gradient, expected_gradient):
        np.testing.assert_allclose(to_numpy(got), expected, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("text", [
    "S: [N, C]\ny: [N] of C\nf = -sum(pick(log_softmax(S), y))\n",
    "S: [N, C]\ny: [N] of C\ncorrect = pick(S, y)\nf = sum(max(S - correct + 1, 0))\n",
], ids=["cross-entropy", "svm"])
@pytest.mark.parametrize("masked", [-np.inf, np.inf])
def test_an_infinite_entry_pick_leaves_out_gives_the_numpy_targets_numbers(text, masked, library):
    """A logit of -inf masks a class out; the picked entries stay finite."""
    S = np.array([[0.0, masked, 0.5], [1.0, 0.0, -1.0]])
    y = np.array([0, 2])
    with np.errstate(all="ignore"):
        expected_value, expected_gradient = build(text).grad(S, y)
        value, gradient = build(text, target="array-api").grad(library.array(S),
                                                               library.array(y))
    np.testing.assert_allclose(to_numpy(value), expected_value, rtol=1e-15)
    np.testing.assert_allclose(to_numpy(gradient[0]), expected_gradient[0], rtol=1e-15)


def test_python_numbers_give_python_floats():
    module = _module(GENERATED / "staged_array_api.py")
    value, gradient = module.grad(3.0, -4.0)
    assert value == pytest.approx(1.5456448841066441, rel=1e-15)
    assert gradient == pytest.approx((2.0595697955721652, 1.5922327514838093), rel=1e-15)
    assert type(value) is float and all(type(g) is float for g in gradient)


@pytest.mark.parametrize("make", ["numpy", "torch"])
def test_float32_stays_float32_and_integers_compute_in_float64(make):
    module = _module(GENERATED / "staged_array_api.py")
    xp = pytest.importorskip(make, reason=f"{make} is not installed")
    x32 = xp.asarray([0.5, 1.5], dtype=xp.float32)
    value, (dx, dy) = module.grad(x32, 2.0)
    assert value.dtype == dx.dtype == dy.dtype == xp.float32
    value, (dx, dy) = module.grad(xp.asarray([1, 2]), xp.asarray([3, 4]))
    assert value.dtype == dx.dtype == xp.float64
    value, (dx, dy) = module.grad(x32, xp.asarray([3.0, 4.0], dtype=xp.float64))
    assert dx.dtype == xp.float64   # float32 with float64 promotes, as the standard says


def test_a_shared_weights_gradient_stays_lazy_on_dask():
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    import dask

    def refuse(*args, **kwargs):
        raise AssertionError("the module computed a Dask array")

    module = _module(GENERATED / "neuron_array_api.py")
    x0, x1 = (da.from_array(np.linspace(-1.0, 1.0, 10) * k, chunks=3) for k in (1, 2))
    with dask.config.set(scheduler=refuse):
        value, gradient = module.grad(2.0, x0, -3.0, x1, -3.0)
    assert all(isinstance(g, da.Array) for g in (value, *gradient))
    assert gradient[0].shape == () and gradient[1].shape == (10,)
    reference = build(example_text("neuron"), target="numpy")
    expected = reference.grad(2.0, x0.compute(), -3.0, x1.compute(), -3.0)[1]
    for got, want in zip(gradient, expected):
        np.testing.assert_allclose(got.compute(), want, rtol=RTOL)


def example_text(stem):
    return (EXAMPLES / f"{stem}.txt").read_text(encoding="utf-8")


def _sources():
    yield from sorted(GENERATED.glob("*_array_api.py"))


def _shaped_sources():
    for path in SHAPED_EXAMPLES:
        yield path.stem, compile_source(path.read_text(encoding="utf-8"), target="array-api")


@pytest.mark.parametrize("source", [*(p.read_text(encoding="utf-8") for p in _sources()),
                                    *(text for _, text in _shaped_sources())],
                         ids=[*(p.stem for p in _sources()), *(s for s, _ in _shaped_sources())])
def test_modules_import_only_array_api_compat_and_use_only_the_standard(source):
    tree = ast.parse(source)
    top = [alias.name for node in tree.body if isinstance(node, ast.Import)
           for alias in node.names]
    assert top == ["array_api_compat"]
    assert not any(isinstance(node, ast.ImportFrom) for node in tree.body)
    code = "\n".join(line.split("#")[0] for line in source.splitlines()
                     if not line.lstrip().startswith(("import numpy", "generator", "numpy.")))
    assert "np." not in code and "out=" not in code and ".astype(" not in code.replace(
        "xp.astype(", "")
    assert not re.search(r"\w\s*(\+|-|\*|/)=", code), "an in-place update"
    assert ".compute(" not in code
    standard = {"exp", "log", "log1p", "expm1", "sqrt", "square", "abs", "sign", "maximum",
                "minimum", "where", "sum", "max", "mean", "asin", "acos", "atan", "atan2",
                "sin", "cos", "tan", "sinh", "cosh", "tanh", "pow", "ones", "zeros_like",
                "full_like", "ones_like", "expand_dims", "astype", "asarray", "reshape", "broadcast_to",
                "isdtype", "result_type", "float64", "zeros",
                # labels: compared as whole numbers, checked, and typed as integers
                "arange", "round", "all", "int64"}
    called = set(re.findall(r"\bxp\.(\w+)", code))
    assert called <= standard, sorted(called - standard)


def test_a_formula_in_the_targets_own_names_keeps_them():
    text = "f = xp * numbers + _namespace * array_api_compat - dtype * device"
    module = build(text, target="array-api")
    assert module.INPUTS == ("xp", "numbers", "_namespace", "array_api_compat",
                             "dtype", "device")
    value, gradient = module.grad(2.0, 3.0, 5.0, 7.0, 11.0, 13.0)
    assert value == 2.0 * 3.0 + 5.0 * 7.0 - 11.0 * 13.0
    assert gradient == (3.0, 2.0, 7.0, 5.0, -13.0, -11.0)
    shaped = build("x: [D]\nf = sum(xp * x) + numbers", target="array-api")
    value, gradient = shaped.grad(**{"xp": 2.0, "x": np.arange(3.0), "numbers": 1.0})
    assert value == 7.0 and dict(zip(shaped.INPUTS, gradient))["xp"] == 3.0


def test_cupy_is_tested_only_where_a_gpu_is_present():
    reason = _cupy_reason()
    if reason:
        pytest.skip(reason)


def test_a_wrong_shape_is_refused_before_any_stage_with_the_array_modules_message(library):
    text = "W: [H, D]\nx: [D]\nf = sum(W @ x)"
    reference = build(text)
    module = build(text, target="array-api")
    W, x = np.ones((2, 5)), np.ones(4)
    with pytest.raises(ValueError) as expected:
        reference.forward(W, x)
    with pytest.raises(ValueError) as caught:
        module.forward(library.array(W), library.array(x))
    assert str(caught.value) == str(expected.value) == \
        "x has shape (4,), but it is declared [D] and W set D = 5"


@pytest.mark.parametrize("rule", ["np.flipud({g})", "{g}.astype(int)",
                                  "np.where({g} > 0, 1.0, 0.0)"])
def test_the_table_refuses_a_backward_rule_the_standard_cannot_run(rule):
    import dataclasses

    from compiler.gates import checks as gate_checks
    from compiler.gates import GATES

    row = dataclasses.replace(GATES["transpose"], vjp=lambda index, ranks: rule)
    with pytest.raises(AssertionError, match="cannot run in the array-api target"):
        gate_checks._validate_vjp(row)
