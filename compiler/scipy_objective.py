"""A generated module as SciPy's objective: chosen inputs packed into one
flat vector, the rest held fixed.

`scipy.optimize.minimize` works on one vector of float64; a formula's
inputs are numbers and arrays by name.  `Objective` packs the inputs being
fitted into that vector in a fixed order, and gives the two functions
SciPy's Newton methods call:

    objective = Objective(module, start={"b1": 500.0, "b2": 1e-4}, fixed={"x": x, "y": y})
    minimize(objective.fun, objective.pack(objective.start), jac=True,
             hessp=objective.hessp, method="trust-ncg")

`fun(v)` returns (value, gradient) from the module's `grad`; `hessp(v, p)`
the Hessian of the value times p, from the module's `hvp` (compile with
`--hvp`): forward over reverse, at a small multiple of the gradient's cost,
with no Hessian ever formed.  `scale` divides each fitted input by a
typical size, so that the optimizer sees numbers near 1 (its trust region
is a ball, which suits parameters of one magnitude): the vector holds
b / scale, and the gradient and the product are scaled to match.

No NumPy beyond what the generated module already needs, and no SciPy:
the adapter only packs and unpacks.
"""

from __future__ import annotations

import inspect
from typing import Mapping

import numpy as np


class Objective:
    def __init__(self, module, start: Mapping[str, object], fixed: Mapping[str, object] = (),
                 scale: Mapping[str, float] = ()):
        """`start`: the inputs to fit, by the names of the module's INPUTS,
        with their starting values (which also give their shapes), in the
        order the vector holds them.  `fixed`: every other input's value."""
        self.module = module
        self.start = dict(start)
        self.fixed = dict(fixed)
        self.scale = {name: float(dict(scale).get(name, 1.0)) for name in self.start}
        missing = set(module.INPUTS) - self.start.keys() - self.fixed.keys()
        unknown = (self.start.keys() | self.fixed.keys()) - set(module.INPUTS)
        if missing or unknown:
            raise ValueError(f"every input is fitted or fixed, once: missing {sorted(missing)}, "
                             f"unknown {sorted(unknown)}")
        self.directions = _directions(module)
        absent = [name for name in self.start if name not in self.directions]
        if absent:
            raise ValueError(f"the module differentiates no {absent}: compile it without "
                             "a --wrt that leaves them out")
        self.shapes = {name: np.shape(value) for name, value in self.start.items()}
        self.sizes = {name: int(np.prod(shape)) for name, shape in self.shapes.items()}

    def pack(self, values: Mapping[str, object]) -> np.ndarray:
        """The fitted inputs' values as one flat vector, each divided by its scale."""
        return np.concatenate([np.ravel(np.asarray(values[name], dtype=float))
                               / self.scale[name] for name in self.start])

    def unpack(self, vector) -> dict[str, object]:
        """The vector as the fitted inputs' values, numbers and arrays."""
        values, offset = {}, 0
        for name, shape in self.shapes.items():
            size = self.sizes[name]
            part = np.asarray(vector[offset:offset + size], dtype=float) * self.scale[name]
            values[name] = float(part[0]) if shape == () else part.reshape(shape)
            offset += size
        return values

    def _arguments(self, vector) -> list:
        values = {**self.fixed, **self.unpack(vector)}
        return [values[name] for name in self.module.INPUTS]

    def _flat(self, by_input: dict[str, object]) -> np.ndarray:
        """Per-input derivatives as one vector, scaled as the vector is."""
        return np.concatenate([np.ravel(np.asarray(by_input[name], dtype=float))
                               * self.scale[name] for name in self.start])

    def fun(self, vector) -> tuple[float, np.ndarray]:
        """(value, gradient) for `minimize(..., jac=True)`."""
        value, gradient = self.module.grad(*self._arguments(vector))
        return float(value), self._flat(dict(zip(self.directions, gradient)))

    def hessp(self, vector, p) -> np.ndarray:
        """The Hessian at `vector` times `p`, for `minimize(..., hessp=...)`."""
        direction = self.unpack(p)
        keywords = {f"v_{name}": direction[name] for name in self.start}
        _, _, product = self.module.hvp(*self._arguments(vector), **keywords)
        return self._flat(dict(zip(self.directions, product)))


def _directions(module) -> tuple[str, ...]:
    """The inputs the module differentiates, in the order its gradient
    lists them: hvp's keyword-only directions say (`v_b1` for `b1`)."""
    if not hasattr(module, "hvp"):
        raise ValueError("the module has no hvp: compile it with --hvp")
    parameters = inspect.signature(module.hvp).parameters.values()
    return tuple(p.name[2:] for p in parameters if p.kind is p.KEYWORD_ONLY)
