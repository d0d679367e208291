"""Random array formulas: every one either compiles to a module whose
value and gradient match a NumPy formula written beside it (the gradient
by central differences), or is refused with a located GradcError.

The generator builds formula text and the NumPy expression it means side
by side, from a seeded `random.Random`, so a failing case is reproducible
from its number.  Gates are smooth ones, with arguments kept inside their
domains; shapes combine by broadcasting, matrix products, transposes,
reductions along an axis and softmax.  Dimension and input names come from
pools that include names the module must rename (`len`, `lambda`, `dA`
beside `A`, `print`).  One case in eight gets a shape fault on purpose.

    GRADC_FUZZ_CASES=5000 python -m pytest tests/test_array_fuzz.py
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from array_helpers import central_differences, value_and_gradient
from compiler import GradcError, compile_source
from conftest import build

CASES = int(os.environ.get("GRADC_FUZZ_CASES", "200"))

# (rows, columns) dimension names, and (matrix, matrix, row vector, column
# vector, number) input names.
DIMENSIONS = [("N", "D"), ("len", "lambda"), ("H", "dA"), ("None", "K")]
INPUTS = [("A", "B", "u", "v", "c"), ("A", "W", "print", "dv", "v"), ("X", "Y", "x", "y", "grad")]
SIZES = (3, 4)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logsumexp(a, axis=None):
    top = np.max(a, axis=axis, keepdims=True)
    kept = top + np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))
    return kept.squeeze() if axis is None else np.squeeze(kept, axis=axis)


def _log_softmax(a, axis=-1):
    top = np.max(a, axis=axis, keepdims=True)
    return a - top - np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))


NUMPY = {"np": np, "sig": _sigmoid, "lse": _logsumexp, "lsm": _log_softmax}

# (formula, numpy) with {0} the operand.
UNARY = [("tanh({0})", "np.tanh({0})"), ("σ({0})", "sig({0})"), ("sin({0})", "np.sin({0})"),
         ("exp(tanh({0}))", "np.exp(np.tanh({0}))"), ("log(1 + ({0})^2)", "np.log(1 + ({0})**2)"),
         ("sqrt(2 + sin({0}))", "np.sqrt(2 + np.sin({0}))"),
         ("softplus({0})", "np.logaddexp(0, {0})"), ("-({0})", "-({0})")]
BINARY = [("({0}) + ({1})", "({0}) + ({1})"), ("({0}) - ({1})", "({0}) - ({1})"),
          ("({0}) * ({1})", "({0}) * ({1})"),
          ("({0}) / (1 + ({1})^2)", "({0}) / (1 + ({1})**2)"),
          # The lecture's cross-entropy after σ of a logit {0} against {1}, one stage.
          ("-({1})*log(σ({0})) - (1 - ({1}))*log(1 - σ({0}))",
           "({1})*np.logaddexp(0, -({0})) + (1 - ({1}))*np.logaddexp(0, {0})")]


class Generator:
    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.rows, self.columns = self.random.choice(DIMENSIONS)
        names = self.random.choice(INPUTS)
        self.sizes = dict(zip((self.rows, self.columns), SIZES))
        row, column = self.rows, self.columns
        # Values by shape: (formula text, numpy code) of each input or stage.
        self.values: dict[tuple, list[tuple[str, str]]] = {
            (row, column): [(names[0], names[0]), (names[1], names[1])],
            (column,): [(names[2], names[2])], (row,): [(names[3], names[3])],
            (): [(names[4], names[4])]}
        self.inputs = [(names[0], (row, column)), (names[1], (row, column)),
                       (names[2], (column,)), (names[3], (row,)), (names[4], ())]
        self.lines: list[str] = [f"{name}: [{', '.join(shape)}]" for name, shape in self.inputs
                                 if shape]
        self.numpy_lines: list[str] = []

    def formula(self) -> tuple[str, str, bool]:
        """The file's text, the NumPy function's source, and whether the
        file has a shape fault on purpose."""
        for index in range(self.random.randint(0, 2)):
            shape = self.random.choice(list(self.values))
            text, code = self.expression(shape, 3)
            name = f"h{index}"
            self.lines.append(f"{name} = {text}")
            self.numpy_lines.append(f"{name} = {code}")
            self.values[shape].append((name, name))
        layer = self.random.random() < 0.25
        shape = self.random.choice([s for s in self.values if s]) if layer else ()
        text, code = self.expression(shape, 4)
        faulty = self.random.random() < 0.125
        if faulty:
            text = f"{text} + {self.random.choice(self.values[(self.rows,)])[0]} * " \
                   f"{self.random.choice(self.values[(self.columns,)])[0]}"
        params = ", ".join(name for name, _ in self.inputs)
        self.lines.append(f"out({params}) = {text}")
        body = "".join(f"    {line}\n" for line in self.numpy_lines)
        return "\n".join(self.lines) + "\n", \
            f"def numpy_formula({params}):\n{body}    return {code}\n", faulty

    def expression(self, shape: tuple, depth: int) -> tuple[str, str]:
        if depth == 0 or self.random.random() < 0.2:
            return self.leaf(shape)
        kind = self.random.random()
        if kind < 0.3:
            text, code = self.expression(shape, depth - 1)
            pattern = self.random.choice(UNARY)
            return pattern[0].format(text), pattern[1].format(code)
        if kind < 0.6:
            left = self.expression(shape, depth - 1)
            right = self.expression(self.broadcast_partner(shape), depth - 1)
            if self.random.random() < 0.5:
                left, right = right, left
            pattern = self.random.choice(BINARY)
            return pattern[0].format(left[0], right[0]), pattern[1].format(left[1], right[1])
        return self.structural(shape, depth)

    def broadcast_partner(self, shape: tuple) -> tuple:
        """A shape that broadcasts against `shape` to `shape`."""
        choices = [shape, ()] + ([shape[1:]] if len(shape) == 2 else [])
        return self.random.choice(choices)

    def leaf(self, shape: tuple) -> tuple[str, str]:
        pick = self.random.random()
        if shape == () and pick < 0.2:
            number = self.random.choice(["2", "0.5", "3"])
            return number, number
        if shape == () and pick < 0.3:
            dim = self.random.choice((self.rows, self.columns))
            return f"(1 / {dim})", f"(1 / {self.sizes[dim]})"
        if shape in self.values:
            return self.random.choice(self.values[shape])
        return self.structural(shape, 1)

    def structural(self, shape: tuple, depth: int) -> tuple[str, str]:
        """Shapes changed by a product, a transpose, a reduction or a softmax."""
        row, column = self.rows, self.columns
        options = []
        if shape == ():
            options = ["sum", "mean", "lse", "dot"]
        elif shape == (row,):
            options = ["matvec", "reduce1"]
        elif shape == (column,):
            options = ["vecmat", "reduce0"]
        elif shape == (row, column):
            options = ["softmax", "outer", "transpose"]
        elif shape == (column, row):
            options = ["transpose"]
        choice = self.random.choice(options)
        sub = depth - 1
        if choice in ("sum", "mean", "lse"):
            text, code = self.expression(self.random.choice([(row,), (column,), (row, column)]), sub)
            numpy = {"sum": "np.sum", "mean": "np.mean", "lse": "lse"}[choice]
            formula = {"sum": "sum", "mean": "mean", "lse": "logsumexp"}[choice]
            return f"{formula}({text})", f"{numpy}({code})"
        if choice == "dot":
            a, b = self.expression((column,), sub), self.expression((column,), sub)
            return f"({a[0]}) @ ({b[0]})", f"({a[1]}) @ ({b[1]})"
        if choice in ("reduce0", "reduce1"):
            axis = choice[-1]
            text, code = self.expression((row, column), sub)
            formula, numpy = self.random.choice([("sum", "np.sum"), ("mean", "np.mean"),
                                                 ("logsumexp", "lse")])
            return f"{formula}({text}, {axis})", f"{numpy}({code}, axis={axis})"
        if choice == "matvec":
            m, x = self.expression((row, column), sub), self.expression((column,), sub)
            return f"({m[0]}) @ ({x[0]})", f"({m[1]}) @ ({x[1]})"
        if choice == "vecmat":
            x, m = self.expression((row,), sub), self.expression((row, column), sub)
            return f"({x[0]}) @ ({m[0]})", f"({x[1]}) @ ({m[1]})"
        if choice == "softmax":
            text, code = self.expression((row, column), sub)
            axis = self.random.choice(["", ", 0", ", 1"])
            axis_code = {"": "-1", ", 0": "0", ", 1": "1"}[axis]
            if self.random.random() < 0.5:
                return f"log_softmax({text}{axis})", f"lsm({code}, {axis_code})"
            return f"softmax({text}{axis})", f"np.exp(lsm({code}, {axis_code}))"
        if choice == "outer":
            v, u = self.expression((row,), sub), self.expression((column,), sub)
            return f"outer({v[0]}, {u[0]})", f"np.outer({v[1]}, {u[1]})"
        other = (column, row) if shape == (row, column) else (row, column)
        text, code = self.expression(other, sub)
        return f"({text})ᵀ", f"({code}).T"


def _arguments(generator: Generator, seed: int) -> list:
    draw = np.random.default_rng(seed)
    return [draw.uniform(-1.5, 1.5, tuple(generator.sizes[d] for d in shape)) if shape
            else float(draw.uniform(-1.5, 1.5)) for _, shape in generator.inputs]


@pytest.mark.parametrize("seed", range(CASES))
def test_a_random_array_formula_compiles_right_or_is_refused_where_it_is_wrong(seed):
    generator = Generator(seed)
    text, numpy_source, faulty = generator.formula()
    try:
        compile_source(text)
    except GradcError as error:
        assert error.span is not None, (text, str(error))
        assert faulty, (text, str(error))
        return
    assert not faulty, text
    scope = dict(NUMPY)
    exec(numpy_source, scope)
    formula = scope["numpy_formula"]
    module = build(text)
    args = _arguments(generator, seed)
    value, gradient, upstream = value_and_gradient(module, args)
    np.testing.assert_allclose(value, formula(*args), rtol=1e-10, atol=1e-12, err_msg=text)
    if upstream is None:
        # grad writes into arrays it made itself: forward's and backward's bits.
        kept = [np.copy(each) for each in args]
        whole, parts = module.grad(*args)
        assert whole == value, text
        for got, want in zip(parts, gradient):
            np.testing.assert_array_equal(got, want, err_msg=text)
        for given, copy in zip(args, kept):
            np.testing.assert_array_equal(given, copy, err_msg=text)
    expected = central_differences(formula, args, upstream)
    for (name, _), got, want in zip(generator.inputs, gradient, expected):
        assert np.shape(got) == np.shape(want), (text, name)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{text}d{name}")
