"""Checking an array module against a NumPy formula written apart from it."""

from __future__ import annotations

import numpy as np

from conftest import build

# Sizes for the dimension names the tests use; all differ, so that a
# gradient in the wrong orientation cannot pass by having the right size.
SIZES = {"N": 3, "M": 4, "K": 5, "H": 2, "D": 6, "C": 7}


def positive(generator, shape):
    return generator.uniform(0.3, 2.0, shape)


def unit(generator, shape):
    return generator.uniform(-0.8, 0.8, shape)


def normal(generator, shape):
    return generator.standard_normal(shape)


def inputs(module, domain=None, seed: int = 5, labels: dict | None = None):
    """Random arguments in INPUTS order, of the declared shapes; `labels`
    (a name's class count, as declared) get whole numbers below it."""
    generator = np.random.default_rng(seed)
    domain = domain or normal
    labels = labels or {}

    def value(name):
        shape = tuple(SIZES.get(d, d) for d in module.SHAPES[name])
        if name in labels:
            return generator.integers(0, SIZES.get(labels[name], labels[name]), shape)
        return np.asarray(domain(generator, shape))
    return [value(name) if name in module.SHAPES else float(domain(generator, ()))
            for name in module.INPUTS]


def value_and_gradient(module, args, seed: int = 11):
    """The module's value and gradient; for a layer, the gradient is
    backward's at a random upstream gradient, returned with it."""
    value, cache = module.forward(*args)
    if np.ndim(value) == 0:
        return value, module.backward(cache), None
    upstream = np.random.default_rng(seed).standard_normal(np.shape(value))
    return value, module.backward(cache, upstream), upstream


def central_differences(function, args, upstream, step: float = 1e-6):
    """d(sum(upstream * function))/d(each entry of each argument)."""
    def scalar(values):
        out = function(*values)
        return float(np.sum(out * upstream)) if upstream is not None else float(out)

    gradients = []
    for index, arg in enumerate(args):
        gradient = np.zeros(np.shape(arg))
        for entry in np.ndindex(np.shape(arg)):
            moved = []
            for sign in (1, -1):
                values = [np.array(a, dtype=float) for a in args]
                values[index][entry] += sign * step
                moved.append(scalar([v if np.ndim(v) else float(v) for v in values]))
            gradient[entry] = (moved[0] - moved[1]) / (2 * step)
        gradients.append(gradient)
    return gradients


def check(text: str, numpy_formula, domain=None):
    """Value against `numpy_formula`, and every gradient entry, in its
    input's shape, against central differences of `numpy_formula`."""
    module = build(text)
    args = inputs(module, domain)
    value, gradient, upstream = value_and_gradient(module, args)
    np.testing.assert_allclose(value, numpy_formula(*args), rtol=1e-12, atol=1e-12)
    expected = central_differences(numpy_formula, args, upstream)
    assert len(gradient) == len(args)
    for name, got, want, arg in zip(module.INPUTS, gradient, expected, args):
        assert np.shape(got) == np.shape(arg), name
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)
    return module
