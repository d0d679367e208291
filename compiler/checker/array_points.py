"""Sizes and random points for `gradc check` on array formulas.

Sizes: `--dims N=4 D=3` sets some; every other dimension name gets the
smallest size from 2 up that no other dimension has, the declared whole
numbers included.  Distinct sizes make a transposed or swapped axis a
shape error or a wrong entry instead of a coincidence that passes.

A point draws every entry, and every number input, uniformly from [-3, 3],
rounded to three decimals as the scalar check does, and for a layer an
upstream gradient of the output's shape the same way.  A point where the
module's value or gradient is not finite is drawn again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from compiler.checker.checkpoints import DRAW_RANGE, MAX_DRAWS
from compiler.errors import GradcError
from compiler.front.resolve import Program

FIRST_SIZE = 2
"""No dimension is 1: a size-1 axis would broadcast where the file's does not."""


def parse_dims(dims, program: Program) -> dict[str, int]:
    """The sizes given as words (`N=4 D=3`), a list of words, or a mapping."""
    if dims is None:
        return {}
    if not program.shaped:
        raise GradcError("--dims gives sizes of dimensions, but the formula declares no "
                         "shapes")
    if isinstance(dims, Mapping):
        words = [f"{name}={size}" for name, size in dims.items()]
    else:
        words = dims.split() if isinstance(dims, str) else list(dims)
    given: dict[str, int] = {}
    for word in words:
        name, equals, size = word.partition("=")
        if not equals:
            raise GradcError(f"expected NAME=SIZE in --dims, such as N=4, got '{word}'")
        if name not in program.dims:
            known = ", ".join(program.dims) or "none: every shape is written in numbers"
            raise GradcError(f"'{name}' is not a dimension of the formula: its dimensions "
                             f"are {known}")
        if name in given:
            raise GradcError(f"'{name}' is given twice in --dims")
        if not size.isdigit() or int(size) < 1:
            raise GradcError(f"expected a whole number of 1 or more for '{name}' in "
                             f"--dims, got '{size}'")
        given[name] = int(size)
    return given


def choose_sizes(program: Program, given: dict[str, int]) -> dict[str, int]:
    """A size for every dimension name, in the order the file names them."""
    taken = set(given.values()) | {d for shape in program.shapes.values()
                                   for d in shape if isinstance(d, int)}
    sizes = dict(given)
    candidate = FIRST_SIZE
    for name in program.dims:
        if name in sizes:
            continue
        while candidate in taken:
            candidate += 1
        sizes[name] = candidate
        taken.add(candidate)
    return {name: sizes[name] for name in program.dims}


@dataclass(frozen=True)
class ArrayPoint:
    values: tuple
    """One float or float64 array per input, in INPUTS order."""
    upstream: np.ndarray | None
    """The random upstream gradient of a layer's output; None for a number."""
    redraws: tuple[str, ...]
    value: object
    """What the module computed: the output (a float or an array), ..."""
    gradient: tuple
    """... and the gradient, one array (or float) per input; () when
    backward raised, which is a wrong gradient, not a bad point: ..."""
    cache: tuple
    broken: str = ""
    """... what it raised."""


def shape_of(program: Program, name: str, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(sizes.get(d, d) for d in program.shapes.get(name, ()))


def draw(module, program: Program, sizes: dict[str, int], rng: random.Random,
         output_shape: tuple[int, ...]) -> ArrayPoint:
    redraws = []
    for _ in range(MAX_DRAWS):
        values = tuple(_uniform(rng, shape_of(program, n.id, sizes)) for n in program.inputs)
        upstream = _uniform(rng, output_shape) if output_shape else None
        outcome = run(module, values, upstream)
        if not isinstance(outcome, str):
            return ArrayPoint(values, upstream, tuple(redraws), *outcome)
        redraws.append(outcome)
    raise GradcError(f"found no point where the output and its gradient are finite in "
                     f"{MAX_DRAWS} random draws from [-{DRAW_RANGE:g}, {DRAW_RANGE:g}]")


def _uniform(rng: random.Random, shape: tuple[int, ...]):
    if not shape:
        return round(rng.uniform(-DRAW_RANGE, DRAW_RANGE), 3)
    count = int(np.prod(shape))
    return np.array([round(rng.uniform(-DRAW_RANGE, DRAW_RANGE), 3)
                     for _ in range(count)]).reshape(shape)


def run(module, values, upstream):
    """(value, gradient, cache, what backward raised) from the module, or
    why the point is unusable.

    NumPy warns instead of raising where a function has no finite value,
    so the results are tested for finiteness instead.  A forward pass that
    raises rejects the point; a backward pass that raises after a finite
    forward pass has a wrong rule (a matrix product's gradient that does
    not fit, say), and the check reports it."""
    with np.errstate(all="ignore"):
        try:
            value, cache = module.forward(*values)
        except (ArithmeticError, ValueError, TypeError) as error:
            return f"the module raises {type(error).__name__}: {error}"
        if not np.all(np.isfinite(value)):
            return "the module's value is not finite there"
        try:
            gradient = module.backward(cache, 1.0 if upstream is None else upstream)
        except Exception as error:  # noqa: BLE001 (any error is the rule's)
            return value, (), cache, f"backward raises {type(error).__name__}: {error}"
    if not all(np.all(np.isfinite(np.asarray(part, dtype=float))) for part in gradient):
        return "the module's gradient is not finite there"
    return value, tuple(gradient), cache, ""


def forward_sum(module, values, upstream) -> float:
    """The number central differences differentiate: the output, or for a
    layer the upstream-weighted sum of its entries."""
    with np.errstate(all="ignore"):
        value = module.forward(*values)[0]
    return float(value if upstream is None else np.sum(upstream * value))
