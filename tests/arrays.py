"""Helpers shared by the tests of the array targets (numpy, numba)."""

from __future__ import annotations

import numpy as np

from conftest import EXAMPLES

RTOL, ATOL = 1e-12, 1e-13


def example(stem: str) -> str:
    return (EXAMPLES / f"{stem}.txt").read_text(encoding="utf-8")


def pointwise(module, columns):
    """The math module at each point: the value and each gradient, as arrays."""
    results = [module.grad(*point) for point in zip(*columns)]
    values = np.array([value for value, _ in results])
    return values, np.array([gradient for _, gradient in results]).T


def random_points(count: int, inputs, seed: int = 7):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.05, 3.0, count) * rng.choice([-1.0, 1.0], count) for _ in inputs]


def summed(full, shape):
    """The per-point gradients of a broadcast input, summed the slow way."""
    if shape == ():
        return full.sum()
    full = full.sum(axis=tuple(range(full.ndim - len(shape))))
    axes = tuple(axis for axis, size in enumerate(shape) if size == 1)
    return full.sum(axis=axes, keepdims=True) if axes else full
