"""The peers gradc is measured against, each as text -> grad(*inputs).

SymPy (a runtime dependency) is always there: `sympy_grad` is lambdify with
cse of the value and the gradient.  JAX, PyTorch and CasADi are optional
(`pip install '.[bench]'`); `PEERS` and `ARRAY_PEERS` map a missing one to
None, and the tables say it was skipped.

The scalar peers, and CasADi on arrays, get the formula from gradc's own
parse of the file: `peer_function` writes it as a Python function, one line
per stage the file names, that calls the peer's own functions
(`torch.sigmoid`, `jax.nn.softplus`, `casadi.fmax`); the peer evaluates it,
traces it or builds its expression graph from it.  Nothing goes through
SymPy, whose expression of a big circuit with shared stages would be a tree.
The array peers JAX and PyTorch instead have each example written by hand
(`jax_formulas`, `torch_formulas`), as their users write them, and keep
their inputs where their users keep them (on JAX's device, in tensors).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import tempfile

import numpy as np
import sympy as sp

from compiler import gates
from compiler.checker.oracle import SMOOTH
from compiler.front.parse import parse
from compiler.front.resolve import CONSTANTS, Program, resolve
from compiler.front.syntax import Name, Number, fold

# max and min are pieces in the oracle; a benchmark wants SymPy's own.
_SYMPY = {**SMOOTH, "max": sp.Max, "min": sp.Min, "abs": sp.Abs,
          "relu": lambda a: sp.Max(a, 0)}

# Gates every peer spells as Python operators; the rest are calls of the
# peer's own functions, named after the gate's row.
OPERATORS = {"add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "cdot": "({0} * {1})",
             "div": "({0} / {1})", "neg": "(-{0})", "pow": "({0} ** {1})"}


def sympy_expression(text: str):
    program = resolve(parse(text))
    symbols = [sp.Symbol(name.id, real=True) for name in program.inputs]
    scope = {name.id: s for name, s in zip(program.inputs, symbols)}
    scope.update((name, CONSTANTS[name]) for name in program.constants)
    for binding in program.bindings:
        scope[binding.name] = fold(binding.value, lambda leaf: _sympy_leaf(leaf, scope),
                                   lambda node, args: _SYMPY[_gate(node)](*args))
    return scope[program.bindings[-1].name], symbols


def _sympy_leaf(node, scope):
    if isinstance(node, Number):
        return sp.Integer(int(node.value)) if node.integral else sp.Float(node.value)
    return scope[node.id]


def _gate(node) -> str:
    return gates.lookup(node.func).name if node.is_call else node.func


def sympy_grad(text: str):
    """lambdify(cse=True) of the value and the gradient, as one function
    that returns one flat list [f, df/dx, ...]."""
    expression, symbols = sympy_expression(text)
    gradient = [sp.diff(expression, s) for s in symbols]
    # A flat list: SymPy's cse does not look inside a nested one, and
    # [f, [dx, dy]] would compute every shared term again.
    return sp.lambdify(symbols, [expression, *gradient], modules="math", cse=True)


def peer_source(program: Program) -> str:
    """The formula as `def formula(a0, a1, ...)`: inputs `a<i>`, stages
    `s<i>` (the file's own names could be Python keywords), numbers printed."""
    names = {name.id: f"a{i}" for i, name in enumerate(program.inputs)}
    names.update((name, repr(value)) for name, value in program.constants.items())
    lines = [f"def formula({', '.join(names[n.id] for n in program.inputs)}):"]
    for i, binding in enumerate(program.bindings):
        text = fold(binding.value, lambda leaf: _leaf_text(leaf, names), _apply_text)
        names[binding.name] = f"s{i}"
        lines.append(f"    s{i} = {text}")
    lines.append(f"    return s{len(program.bindings) - 1}")
    return "\n".join(lines) + "\n"


def _leaf_text(node, names) -> str:
    return names[node.id] if isinstance(node, Name) else repr(float(node.value))


def _apply_text(node, args) -> str:
    gate = _gate(node)
    if gate in OPERATORS:
        return OPERATORS[gate].format(*args)
    return f"{gate}({', '.join(args)})"


def peer_function(program: Program | str, ops: dict):
    """`peer_source` compiled with `ops` (gate name -> function) as its globals."""
    program = resolve(parse(program)) if isinstance(program, str) else program
    namespace = dict(ops)
    exec(compile(peer_source(program), "<peer formula>", "exec"), namespace)
    return namespace["formula"]


def _variadic(pair):
    return lambda *args: functools.reduce(pair, args)


def jax_ops() -> dict:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    own = {"sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus, "atan2": jnp.arctan2,
           "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan,
           "relu": jax.nn.relu, "max": _variadic(jnp.maximum), "min": _variadic(jnp.minimum)}
    return {**{name: getattr(jnp, name) for name in _SAME_NAME}, **own}


# The gates every peer library spells as gradc does.
_SAME_NAME = ("exp", "log", "sqrt", "tanh", "sin", "cos", "tan", "sinh", "cosh",
              "log1p", "expm1", "abs")


def torch_ops() -> dict:
    import torch

    def tensors(pair):
        # torch's binary functions take tensors only; a formula may pass a number.
        def call(a, b):
            return pair(torch.as_tensor(a, dtype=torch.float64),
                        torch.as_tensor(b, dtype=torch.float64))
        return call
    own = {"sigmoid": torch.sigmoid, "softplus": torch.nn.functional.softplus,
           "asin": torch.asin, "acos": torch.acos, "atan": torch.atan, "relu": torch.relu,
           "atan2": tensors(torch.atan2), "max": _variadic(tensors(torch.maximum)),
           "min": _variadic(tensors(torch.minimum))}
    return {**{name: getattr(torch, name) for name in _SAME_NAME}, **own}


def casadi_ops() -> dict:
    import casadi
    # CasADi has neither σ nor softplus: σ as SymPy writes it, softplus in
    # the form that does not overflow (gradc's own).
    own = {"sigmoid": lambda a: 1 / (1 + casadi.exp(-a)),
           "softplus": lambda a: casadi.fmax(a, 0) + casadi.log1p(casadi.exp(-casadi.fabs(a))),
           "abs": casadi.fabs, "relu": lambda a: casadi.fmax(a, 0),
           "max": _variadic(casadi.fmax), "min": _variadic(casadi.fmin)}
    names = (*_SAME_NAME, "asin", "acos", "atan", "atan2")
    return {**{name: getattr(casadi, name) for name in names if name != "abs"}, **own}


def casadi_function(program: Program | str):
    """CasADi's SX expression of the formula and its gradient, as one
    Function of the inputs with two outputs: the value and the gradient."""
    import casadi
    program = resolve(parse(program)) if isinstance(program, str) else program
    variables = [casadi.SX.sym(f"a{i}") for i in range(len(program.inputs))]
    value = peer_function(program, casadi_ops())(*variables)
    gradient = casadi.gradient(value, casadi.vertcat(*variables))
    return casadi.Function("formula", variables, [value, gradient])


def _jax(text: str):
    import jax
    function = peer_function(text, jax_ops())
    count = function.__code__.co_argcount
    return jax.jit(jax.value_and_grad(function, argnums=tuple(range(count))))


def _torch(text: str):
    import torch
    function = peer_function(text, torch_ops())

    def grad(*args):
        inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
        value = function(*inputs)
        return value, torch.autograd.grad(value, inputs, allow_unused=True)
    return grad


def _casadi(text: str):
    """Evaluated through the Function's buffer, CasADi's low-overhead call:
    `function(0.3, 0.7)` converts every argument and result to a DM and
    took 30 times as long (21 µs against 0.7 µs on the staged example)."""
    function = casadi_function(text)
    buffer, evaluate = function.buffer()
    count = function.n_in()
    inputs, value, gradient = np.zeros(count), np.zeros(1), np.zeros(count)
    for i in range(count):
        buffer.set_arg(i, memoryview(inputs[i:i + 1]))
    buffer.set_res(0, memoryview(value))
    buffer.set_res(1, memoryview(gradient))

    def grad(*args):
        inputs[:] = args
        evaluate()
        return value.tolist() + gradient.tolist()
    grad.buffer = buffer            # the views above live as long as it does
    return grad


def _installed(module: str, make):
    return make if importlib.util.find_spec(module) is not None else None


PEERS = {
    "JAX jit": _installed("jax", _jax),
    "PyTorch": _installed("torch", _torch),
    "CasADi": _installed("casadi", _casadi),
}
"""Scalar peers: text -> grad(*floats), returning the value and the
gradient in the peer's own types (JAX and torch arrays, CasADi a flat list)."""


# Array peers: each example written by hand, as a user of the library
# writes it, in its own array functions.  The inputs are in the order of
# gradc's module (its INPUTS); tests/test_peers.py checks every one against
# gradc's numpy target and that every file in examples/ has one.

def jax_formulas() -> dict:
    """Each example in `jax.numpy`, by hand."""
    import jax
    import jax.numpy as jnp

    def circuit(x, y, z, w):
        return 2 * (x * y + jnp.maximum(z, w))

    def compound(x, y, z):
        q = x + y
        return q * z

    def logistic_loss(w, x):
        return -jnp.log(jax.nn.sigmoid(w * x))

    def multiply(x, y):
        return x * y

    def neuron(w0, x0, w1, x1, w2):
        return jax.nn.sigmoid(w0 * x0 + w1 * x1 + w2)

    def squared_error(y, w, x):
        return (y - w * x) ** 2

    def staged(x, y):
        return (x + jax.nn.sigmoid(y)) / (jax.nn.sigmoid(x) + (x + y) ** 2)
    return {f.__name__: f for f in (circuit, compound, logistic_loss, multiply, neuron,
                                   squared_error, staged)}


def torch_formulas() -> dict:
    """Each example in torch, by hand."""
    import torch

    def circuit(x, y, z, w):
        return 2 * (x * y + torch.maximum(z, w))

    def compound(x, y, z):
        q = x + y
        return q * z

    def logistic_loss(w, x):
        return -torch.log(torch.sigmoid(w * x))

    def multiply(x, y):
        return x * y

    def neuron(w0, x0, w1, x1, w2):
        return torch.sigmoid(w0 * x0 + w1 * x1 + w2)

    def squared_error(y, w, x):
        return (y - w * x) ** 2

    def staged(x, y):
        return (x + torch.sigmoid(y)) / (torch.sigmoid(x) + (x + y) ** 2)
    return {f.__name__: f for f in (circuit, compound, logistic_loss, multiply, neuron,
                                   squared_error, staged)}


def _jax_device(arrays):
    import jax
    jax.config.update("jax_enable_x64", True)
    inputs = [jax.device_put(a) for a in arrays]
    assert all(x.dtype == np.float64 for x in inputs)
    return jax.block_until_ready(inputs)


def _jax_vmap(name: str, text: str, arrays):
    """jit(vmap(value_and_grad)) of the hand-written formula, the inputs put
    on the (CPU) device before timing; the call waits for the results."""
    import jax
    inputs = _jax_device(arrays)
    every = tuple(range(len(inputs)))
    compiled = jax.jit(jax.vmap(jax.value_and_grad(jax_formulas()[name], argnums=every)))
    return lambda: jax.block_until_ready(compiled(*inputs))


def _jax_vjp(name: str, text: str, arrays):
    """jit of the value and its VJP with a ones cotangent: the elementwise
    formula over whole arrays, without vmap."""
    import jax
    import jax.numpy as jnp
    inputs = _jax_device(arrays)
    function = jax_formulas()[name]

    @jax.jit
    def value_and_grad(*xs):
        value, pullback = jax.vjp(function, *xs)
        return value, pullback(jnp.ones_like(value))
    return lambda: jax.block_until_ready(value_and_grad(*inputs))


def _torch_arrays(name: str, text: str, arrays):
    """Autograd of the hand-written formula on float64 CPU tensors made
    (with requires_grad) before timing; torch's own threads (one per core)
    run each operation."""
    import torch
    function = torch_formulas()[name]
    inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]

    def call():
        value = function(*inputs)
        gradient = torch.autograd.grad(value, inputs, torch.ones_like(value),
                                       materialize_grads=True)
        return value.detach(), gradient
    return call


def _casadi_arrays(name: str, text: str, arrays):
    """The formula's Function mapped over `size` points in parallel
    (`map(size, "openmp")`) and compiled to C by CasADi's jit (gcc -O3
    -fopenmp), called through its buffer.  Measured on the staged example
    at 10^6 points: 0.15-0.2 s for the mapped Function in CasADi's virtual
    machine ("serial" or "thread"), 0.1 s with each point's Function
    compiled, 0.02-0.03 s with the whole map compiled; converting the
    arrays to and from DM took 0.4 s more."""
    import casadi
    size = len(arrays[0])
    function = casadi_function(text)
    count = function.n_in()
    rows = [casadi.MX.sym(f"a{i}", 1, size) for i in range(count)]
    options = {"jit": True, "compiler": "shell", "jit_options": _JIT}
    mapped = casadi.Function("mapped", rows, function.map(size, "openmp")(*rows), options)
    buffer, evaluate = mapped.buffer()

    inputs = [np.ascontiguousarray(array, dtype=np.float64) for array in arrays]

    def call():
        value, gradient = np.empty(size), np.empty((size, count))
        for i, array in enumerate(inputs):
            buffer.set_arg(i, memoryview(array))
        buffer.set_res(0, memoryview(value))
        buffer.set_res(1, memoryview(gradient))
        evaluate()
        # The mapped gradient is count x size, column-major: point by point.
        return value, list(gradient.T)
    call.buffer = buffer
    return call


_JIT = {"flags": ["-O3", "-fopenmp"], "linker_flags": ["-fopenmp"],
        "directory": tempfile.gettempdir() + os.sep}

ARRAY_PEERS = {
    "JAX vmap": _installed("jax", _jax_vmap),
    "JAX vjp": _installed("jax", _jax_vjp),
    "PyTorch": _installed("torch", _torch_arrays),
    "CasADi": _installed("casadi", _casadi_arrays) if shutil.which("gcc") else None,
}
"""Array peers: (example's stem, its text, its input arrays) -> call(),
which takes no arguments (each peer puts the inputs where its users keep
them before timing) and returns the value and the gradient as arrays
NumPy can read.  JAX, PyTorch: the example by hand (jax_formulas,
torch_formulas); CasADi: gradc's resolved program, as for the scalars."""
