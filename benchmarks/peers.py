"""The peers gradc is measured against, each as text -> grad(*inputs).

SymPy (a runtime dependency) is always there.  JAX, PyTorch and CasADi are
optional (`pip install '.[bench]'`); `PEERS` maps a missing one to None, and
the tables say it was skipped.  Every peer gets the same formula, built
from gradc's own parse of the file, and returns the value and the gradient.
"""

from __future__ import annotations

import importlib.util

import sympy as sp

from compiler.oracle import SMOOTH
from compiler.parse import parse
from compiler.resolve import CONSTANTS, resolve
from compiler.syntax import Apply, Name, Number

# max and min are pieces in the oracle; a benchmark wants SymPy's own.
_SYMPY = {**SMOOTH, "max": sp.Max, "min": sp.Min, "abs": sp.Abs}


def sympy_expression(text: str):
    program = resolve(parse(text))
    symbols = [sp.Symbol(name.id, real=True) for name in program.inputs]
    scope = {name.id: s for name, s in zip(program.inputs, symbols)}
    scope.update((name, CONSTANTS[name]) for name in program.constants)
    for binding in program.bindings:
        scope[binding.name] = _translate(binding.value, scope)
    return scope[program.bindings[-1].name], symbols


def _translate(node, scope):
    if isinstance(node, Number):
        return sp.Integer(int(node.value)) if node.integral else sp.Float(node.value)
    if isinstance(node, Name):
        return scope[node.id]
    from compiler.gates import lookup
    row = lookup(node.func) if node.is_call else None
    name = row.name if row is not None else node.func
    return _SYMPY[name](*(_translate(arg, scope) for arg in node.args))


def sympy_grad(text: str):
    """lambdify(cse=True) of the value and the gradient, as one function
    that returns one flat list [f, df/dx, ...]."""
    expression, symbols = sympy_expression(text)
    gradient = [sp.diff(expression, s) for s in symbols]
    # A flat list: SymPy's cse does not look inside a nested one, and
    # [f, [dx, dy]] would compute every shared term again.
    return sp.lambdify(symbols, [expression, *gradient], modules="math", cse=True)


def _jax(text: str):
    import jax
    jax.config.update("jax_enable_x64", True)
    expression, symbols = sympy_expression(text)
    function = sp.lambdify(symbols, expression, modules="jax")
    return jax.jit(jax.value_and_grad(function, argnums=tuple(range(len(symbols)))))


def _torch(text: str):
    import torch
    expression, symbols = sympy_expression(text)
    function = sp.lambdify(symbols, expression, modules=[_TORCH_MAP(torch), "math"])

    def grad(*args):
        inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
        value = function(*inputs)
        return value.item(), [g.item() for g in torch.autograd.grad(value, inputs)]
    return grad


def _TORCH_MAP(torch):
    return {name: getattr(torch, name) for name in
            ("exp", "log", "sqrt", "tanh", "sin", "cos", "tan", "maximum", "minimum")} | {
        "Max": torch.maximum, "Min": torch.minimum, "Abs": torch.abs}


def _casadi(text: str):
    import casadi
    expression, symbols = sympy_expression(text)
    variables = [casadi.SX.sym(str(s)) for s in symbols]
    mapping = {"exp": casadi.exp, "log": casadi.log, "sqrt": casadi.sqrt,
               "tanh": casadi.tanh, "sin": casadi.sin, "cos": casadi.cos,
               "Max": casadi.fmax, "Min": casadi.fmin, "Abs": casadi.fabs}
    value = sp.lambdify(symbols, expression, modules=[mapping])(*variables)
    function = casadi.Function("f", variables, [value, casadi.gradient(value,
                                                casadi.vertcat(*variables))])
    return lambda *args: function(*args)


def _installed(module: str, make):
    return make if importlib.util.find_spec(module) is not None else None


PEERS = {
    "JAX jit": _installed("jax", _jax),
    "PyTorch": _installed("torch", _torch),
    "CasADi": _installed("casadi", _casadi),
}
