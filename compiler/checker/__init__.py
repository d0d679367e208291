"""`gradc check`: the SymPy oracle, independent of the gate table's code,
and the comparison with the module and with central differences.  The
only part of gradc that imports SymPy.

The defaults live here, where the command line reads them without
importing the checker itself."""

RTOL = 1e-9
ATOL = 1e-12
SYMPY_TIMEOUT = 10.0
"""Seconds SymPy may take before only central differences are compared."""
