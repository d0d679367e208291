"""gradc: compile formulas to readable, verified gradient code.

    >>> import compiler
    >>> source = compiler.compile_source("f(x, y) = x * y")
    >>> module = compiler.load("examples/staged.txt")
    >>> module.grad(3.0, -4.0)
    >>> compiler.check("examples/staged.txt", at={"x": 3, "y": -4}).ok
    True
"""

from __future__ import annotations

__version__ = "0.1.0"

from compiler.driver import compile_source
from compiler.errors import GradcError, Span, format_error
from compiler.loader import load

__all__ = ["compile_source", "load", "check", "CheckReport", "GradcError", "Span",
           "format_error", "__version__"]


def __getattr__(name: str):
    # The checker imports SymPy and NumPy: loaded on first use, so that
    # `import compiler` stays quick for a program that only compiles.
    if name in ("check", "CheckReport"):
        from compiler.checker import checking

        return getattr(checking, name)
    raise AttributeError(f"module 'compiler' has no attribute '{name}'")
