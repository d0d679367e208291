"""The numba target: the math target's numbers, from one compiled loop.

Each module's loop is compiled on its first call (about a second), so the
modules are built once per test module and shared; every gate row is
checked through one module that holds them all.  The loop runs the math
target's own lines, so values agree with the math module to rtol 1e-12
(absolute 1e-13 where a gradient is a sum that cancels, as in the numpy
tests).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

from compiler import compile_source
from compiler.passes.adjoint import adjoint
from compiler.emit.context import context
from compiler.gates import GATES, SCALAR_GATES
from compiler.loader import module_from_file, module_from_source
from compiler.emit.render import render
from compiler.passes.stage import Const, Ref, Stage, StagedIR
from arrays import ATOL, RTOL, example, pointwise, random_points, summed
from conftest import EXAMPLES, GENERATED, ROOT, build
from gate_math import MEANING, POSITIVE_ONLY
from helpers import gate_stages, page_faults_per_call

pytest.importorskip("numba")

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.txt"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("numba")


@pytest.fixture(scope="module")
def numba_module(folder):
    """Formula text -> its numba module, built once per text."""
    built = {}

    def make(text: str):
        if text not in built:
            built[text] = module_from_file(compile_source(text, target="numba"),
                                           f"formula{len(built)}", folder)
        return built[text]
    return make


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_examples_on_300_random_points_equal_the_math_target(example, numba_module):
    text = example.read_text(encoding="utf-8")
    math_module, module = build(text), numba_module(text)
    columns = random_points(300, math_module.INPUTS)
    values, gradients = pointwise(math_module, columns)
    value, gradient = module.grad(*columns)
    np.testing.assert_allclose(value, values, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.array(gradient), gradients, rtol=RTOL, atol=ATOL)


# -- every gate row, in one module: f = sum of w_g * g(operands of g), each
# gate with inputs of its own, so that df/dw_g is the gate's value and
# df/d(operand) its local gradient (w_g is 1).

def _all_gates() -> StagedIR:
    inputs, stages, terms = [], [], []
    for name in sorted(SCALAR_GATES):
        gate = GATES[name]
        operands = [f"{name}_{i}" for i in range(3 if gate.variadic else gate.arity)]
        const = Const(float(MEANING[name][1])) if gate.takes_constant else None
        inputs += operands + [f"w_{name}"]
        stages += gate_stages(gate, tuple(map(Ref, operands)), const, f"g_{name}")
        stages.append(Stage(f"t_{name}", GATES["mul"], (Ref(f"w_{name}"), Ref(f"g_{name}")),
                            None, None))
        terms.append(f"t_{name}")
    total = terms[0]
    for index, term in enumerate(terms[1:]):
        name = "f" if index == len(terms) - 2 else f"s{index}"
        stages.append(Stage(name, GATES["add"], (Ref(total), Ref(term)), None, None))
        total = name
    return StagedIR(tuple(inputs), tuple(stages), "f", {n: n for n in inputs})


def _gate_columns(inputs, count: int = 200, seed: int = 3):
    """Points inside each gate's domain, with ties for max and min and the
    kinks of abs and relu (0) among them."""
    rng = np.random.default_rng(seed)
    columns = []
    for name in inputs:
        gate = name.rpartition("_")[0] or name
        if name.startswith("w_"):
            columns.append(np.ones(count))
        elif gate in ("max", "min", "abs", "relu"):
            columns.append(rng.choice([-0.5, 0.0, 0.5], count))
        elif gate in POSITIVE_ONLY:
            columns.append(rng.uniform(0.05, 0.95, count))
        else:
            columns.append(rng.uniform(0.05, 3.0, count) * rng.choice([-1.0, 1.0], count))
    return columns


@pytest.fixture(scope="module")
def gate_modules(folder):
    staged = _all_gates()
    math_source = render(context(adjoint(staged)))
    numba_source = render(context(adjoint(staged), target="numba"), "numba")
    return (module_from_source(math_source, "all_gates_math", "<all gates>"),
            module_from_file(numba_source, "all_gates", folder))


def test_every_gate_row_runs_in_the_loop_and_equals_the_math_target(gate_modules):
    math_module, module = gate_modules
    columns = _gate_columns(module.INPUTS)
    values, gradients = pointwise(math_module, columns)
    value, gradient = module.grad(*columns)
    np.testing.assert_allclose(value, values, rtol=RTOL, atol=ATOL)
    for name, got, expected in zip(module.INPUTS, gradient, gradients):
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_route_to_the_first_tied_argument(name, gate_modules):
    _, module = gate_modules
    a = np.array([0.5, 0.1, 0.2, 0.9])
    b = np.array([0.5, 0.5, 0.2, 0.1])
    c = np.array([0.5, 0.5, 0.7, 0.1])
    columns = {f"{name}_0": a, f"{name}_1": b, f"{name}_2": c}
    gradient = dict(zip(module.INPUTS, module.grad(
        *[columns.get(i, np.ones(4) if i.startswith("w_") else 0.5) for i in module.INPUTS])[1]))
    first = {"max": [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]],
             "min": [[1, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]}[name]
    np.testing.assert_array_equal([gradient[i] for i in columns], first)


# -- the interface and broadcasting, on the lecture's examples.

def test_forward_then_backward_with_an_array_seed_weights_each_point(numba_module):
    module = numba_module(example("staged"))
    x, y = random_points(20, "xy")
    seed = np.linspace(-2.0, 2.0, 20)
    value, cache = module.forward(x, y)
    dx, dy = module.backward(cache, seed)
    _, (each_dx, each_dy) = pointwise(build(example("staged")), [x, y])
    np.testing.assert_allclose(dx, seed * each_dx, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dy, seed * each_dy, rtol=RTOL, atol=ATOL)
    total = module.backward(cache, np.ones((3, 1)) * seed)      # a seed of more axes
    np.testing.assert_allclose(total[0], 3 * seed * each_dx, rtol=RTOL, atol=ATOL)
    for got, expected in zip(module.backward(cache), module.grad(x, y)[1]):
        np.testing.assert_array_equal(got, expected)


def test_gradients_are_new_arrays(numba_module):
    module = numba_module(example("staged"))
    x, y = np.ones(3), np.ones(3)
    cache = module.forward(x, y)[1]
    first, second = module.backward(cache), module.backward(cache)
    arrays = (*first, *second, x, y)
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[:i])


def test_the_value_alone_equals_grads_value(numba_module):
    module = numba_module(example("staged"))
    x, y = random_points(30, "xy", seed=2)
    np.testing.assert_array_equal(module.f(x, y), module.grad(x, y)[0])
    assert module.f(3.0, -4.0) == 1.5456448841066441


def test_an_input_the_output_ignores_neither_widens_the_value_nor_gets_a_gradient(
        numba_module):
    module = numba_module("f(x, y) = 3 * x")
    value, (dx, dy) = module.grad(np.ones(4), np.ones((2, 1)))
    assert value.tolist() == [3.0] * 4
    assert dx.tolist() == [3.0] * 4 and dy.tolist() == [[0.0], [0.0]]


def test_a_formula_of_no_input_gives_its_number(numba_module):
    module = numba_module("f = 2 * 3.5")
    assert module.grad() == (7.0, ())
    assert module.f() == 7.0 and module.forward()[0] == 7.0


# -- what the loop reads and writes: each input where it lies when it can,
# each result an array of its own, one compiled signature whatever comes in.

def test_an_input_of_the_broadcast_shape_in_float64_is_read_where_it_lies(numba_module):
    module = numba_module(example("staged"))
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    assert np.shares_memory(module._loop_input(x, (3, 4), 12), x)
    read_only = x.copy()
    read_only.flags.writeable = False
    for copied, shape in ((x[:, ::2], (3, 2)), (np.asfortranarray(x), (3, 4)),
                          (x.astype(np.float32), (3, 4)), (x.astype(int), (3, 4)),
                          (read_only, (3, 4)), (x[0], (3, 4)), (2.5, (3, 4))):
        row = module._loop_input(copied, shape, int(np.prod(shape)))
        assert not np.shares_memory(row, x) and row.dtype == np.float64 and row.shape == (
            int(np.prod(shape)),)
        np.testing.assert_array_equal(row.reshape(shape), np.broadcast_to(copied, shape))


def test_inputs_of_every_layout_and_type_give_the_math_values_from_one_loop(numba_module):
    module = numba_module(example("staged"))
    x, y = random_points(24, "xy", seed=11)
    read_only = y.reshape(4, 6).copy()
    read_only.flags.writeable = False
    calls = [(x.reshape(4, 6), read_only), (x.reshape(6, 4).T, y.reshape(4, 6)),
             (x.reshape(4, 6)[:, ::2], y.reshape(4, 6)[:, ::2].astype(np.float32)),
             (np.arange(-3, 3), y[:6]), (x[:6].tolist(), 0.5)]
    math_module = build(example("staged"))
    for first, second in calls:
        kept = np.array(first, copy=True), np.array(second, copy=True)
        value, gradient = module.grad(first, second)
        columns = [np.broadcast_to(np.asarray(each, float), np.shape(value)).ravel()
                   for each in (first, second)]
        values, gradients = pointwise(math_module, columns)
        np.testing.assert_allclose(np.ravel(value), values, rtol=RTOL, atol=ATOL)
        for got, expected, each in zip(gradient, gradients, (first, second)):
            np.testing.assert_allclose(got, summed(expected.reshape(np.shape(value)),
                                                   np.shape(each)), rtol=RTOL, atol=ATOL)
        np.testing.assert_array_equal(first, kept[0])       # inputs read, never written
        np.testing.assert_array_equal(second, kept[1])
    assert len(module._kernel.signatures) == 1


def test_each_result_is_an_array_of_its_own_size(numba_module):
    """One block of all the results, past 32 MiB, glibc maps afresh at
    every call, and the loop faults it in page by page."""
    module = numba_module(example("neuron"))
    value, gradient = module.grad(*random_points(1000, range(5)))
    for result in (value, *gradient):
        assert result.base is None or result.base.nbytes == result.nbytes == 8000


def test_inputs_of_one_shape_skip_numpys_broadcast_shapes_and_prod(numba_module, monkeypatch):
    """Each of the two takes longer than the loop itself at a few points."""
    module = numba_module(example("staged"))
    x, y = random_points(6, "xy", seed=3)
    value, gradient = module.grad(x, y)

    def refused(*arguments, **options):
        raise AssertionError("called for inputs of one shape")
    monkeypatch.setattr(np, "broadcast_shapes", refused)
    monkeypatch.setattr(np, "prod", refused)
    shaped_value, shaped_gradient = module.grad(x.reshape(2, 3), y.reshape(2, 3))
    np.testing.assert_array_equal(shaped_value, value.reshape(2, 3))
    for shaped, flat in zip(shaped_gradient, gradient):
        np.testing.assert_array_equal(shaped, flat.reshape(2, 3))
    number_value, number_gradient = module.grad(float(x[0]), float(y[0]))
    assert number_value == value[0] and number_gradient == (gradient[0][0], gradient[1][0])


def test_eight_inputs_apart_and_nine_results_in_rows_of_one_array(numba_module):
    """Past eight arrays a side, the loop takes one array of a row per value."""
    text = "f(a, b, c, d, e, g, h, k) = a*b + σ(c - d) * e + max(g, h) / (1 + k^2)"
    module, math_module = numba_module(text), build(text)
    columns = random_points(50, range(8), seed=4)
    values, gradients = pointwise(math_module, columns)
    value, gradient = module.grad(*columns)
    np.testing.assert_allclose(value, values, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.array(gradient), gradients, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(module.f(*columns), values, rtol=RTOL, atol=ATOL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, Linux's counts")
def test_results_of_48_mb_a_call_reuse_memory(tmp_path):
    """neuron's six results at 10^6 points take 48 MB: in a process that had
    freed no large array, glibc gave them back to the system at every call
    and the next call faulted them in again, about 3,000 page faults a call,
    before the module freed one array of just under 32 MiB."""
    (tmp_path / "neuron_numba.py").write_bytes((GENERATED / "neuron_numba.py").read_bytes())
    assert page_faults_per_call("import neuron_numba as module", cwd=tmp_path) < 100


# -- the compiled loop is cached on disk: a second process does not compile.

_PROBE = """
import staged_numba as module
module.grad(3.0, -4.0)
stats = module._kernel.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_the_script_compiles_once_and_a_second_process_loads_the_loop(tmp_path):
    module = tmp_path / "staged_numba.py"
    module.write_bytes((GENERATED / "staged_numba.py").read_bytes())
    script = subprocess.run([sys.executable, str(module), "x=3", "y=-4"],
                            capture_output=True, text=True, check=True, cwd=tmp_path)
    assert script.stdout == ("f = 1.5456448841066441\n"
                             "df/dx = 2.0595697955721652\n"
                             "df/dy = 1.5922327514838093\n")
    assert sorted(p.suffix for p in (tmp_path / "__pycache__").glob("*._kernel-*")) == \
        [".nbc", ".nbi"]
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                           check=True, cwd=tmp_path)
    assert probe.stdout == "1 0\n"           # one signature loaded, none compiled


def test_load_writes_the_module_under_the_cache_directory(tmp_path):
    """`compiler.load` gives the module a file, so its loop is cached too."""
    probe = ("import compiler; module = compiler.load('examples/staged.txt', 'numba'); "
             "print(module.__file__)")
    environment = dict(os.environ, GRADC_CACHE_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=environment)
    path = tmp_path / run.stdout.strip()
    assert path.parent == tmp_path and path.name.startswith("staged_")
    assert path.read_text(encoding="utf-8") == (GENERATED / "staged_numba.py").read_text(
        encoding="utf-8")


# -- the module's text.

@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_numba_modules_import_only_numba_numpy_and_sys(example):
    tree = ast.parse((GENERATED / f"{example.stem}_numba.py").read_text(encoding="utf-8"))
    imports = [alias.name for node in tree.body if isinstance(node, ast.Import)
               for alias in node.names]
    # sys: the module registers the home of its compiled code (test_numba_imports.py).
    assert imports == ["sys", "numba", "numpy"]
    assert not any(isinstance(node, ast.ImportFrom) for node in tree.body)
