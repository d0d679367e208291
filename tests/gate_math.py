"""What each gate means, written independently of the gate table, in SymPy.

Each entry: the SymPy function of the operands (and the constant `c` for a
constant-specialised gate), the constant to use, and sample points inside
the gate's domain and away from its kinks.
"""

from __future__ import annotations

import sympy as sp

C = sp.Rational(7, 4)

MEANING = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "cdot": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, None),
    "inv": (lambda a: 1 / a, None),
    "neg": (lambda a: -a, None),
    "addc": (lambda a, c: a + c, C),
    "cadd": (lambda a, c: c + a, C),
    "subc": (lambda a, c: a - c, C),
    "csub": (lambda a, c: c - a, C),
    "mulc": (lambda a, c: a * c, C),
    "cmul": (lambda a, c: c * a, -C),
    "divc": (lambda a, c: a / c, C),
    "pow": (lambda a, b: a**b, None),
    "square": (lambda a: a**2, None),
    "powc": (lambda a, c: a**c, sp.Integer(3)),
    "powr": (lambda a, c: a**c, C),
    "cpow": (lambda a, c: c**a, C),
    "sigmoid": (lambda a: 1 / (1 + sp.exp(-a)), None),
    "signeg": (lambda a: 1 / (1 + sp.exp(a)), None),
    "exp": (sp.exp, None),
    "log": (sp.log, None),
    "sqrt": (sp.sqrt, None),
    "tanh": (sp.tanh, None),
    "sin": (sp.sin, None),
    "cos": (sp.cos, None),
    "tan": (sp.tan, None),
    "asin": (sp.asin, None),
    "acos": (sp.acos, None),
    "atan": (sp.atan, None),
    "atan2": (sp.atan2, None),
    "sinh": (sp.sinh, None),
    "cosh": (sp.cosh, None),
    "log1p": (lambda a: sp.log(1 + a), None),
    "expm1": (lambda a: sp.exp(a) - 1, None),
    "abs": (sp.Abs, None),
    "relu": (lambda a: sp.Max(a, 0), None),
    "softplus": (lambda a: sp.log(1 + sp.exp(a)), None),
    "max": (lambda *args: sp.Max(*args), None),
    "min": (lambda *args: sp.Min(*args), None),
    # The cross-entropy of a logit a against a target b, as the lecture writes it.
    "bce": (lambda a, b: -b * sp.log(1 / (1 + sp.exp(-a)))
            - (1 - b) * sp.log(1 - 1 / (1 + sp.exp(-a))), None),
    "bce1": (lambda a: -sp.log(1 / (1 + sp.exp(-a))), None),
    "copy": (lambda a: a, None),
    "const": (lambda c: c, C),
}

# Points inside every gate's domain: positive, below 1, and distinct, so
# that no max/min ties, no abs/relu kink, and log, sqrt, asin all apply.
POINTS = [
    (0.3, 0.7, 0.55),
    (0.81, 0.12, 0.47),
    (0.05, 0.93, 0.61),
]
NEGATIVE_POINTS = [(-0.4, -0.2, -0.9), (-0.75, 0.35, -0.1)]
"""Also used for gates defined for negative operands."""
POSITIVE_ONLY = {"log", "sqrt", "pow", "powr", "asin", "acos", "log1p"}
