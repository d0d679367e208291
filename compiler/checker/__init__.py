"""`gradc check`: the SymPy oracle, independent of the gate table's code,
and the comparison with the module and with central differences.  The
only part of gradc that imports SymPy."""
