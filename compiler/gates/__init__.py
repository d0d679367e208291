"""The gate table (`table.py`), the checks of its rows
(`checks.py`), the targets' spelling of its code (`targets.py`), and the
filling of its snippets (`snippets.py`).  Data and lookups only: nothing
here imports a pass, a printer or a tool.

The package is the table: `gates.GATES`, `gates.lookup`, `gates.Gate`.
"""

from compiler.gates.table import (  # noqa: F401  (the package's interface)
    CHAINS, COLUMN, CONST, COPY, FUNCTION_NAMES, GATES, MUL, NEG, SCALAR_GATES, SNIPPET_BUILTINS,
    SPELLINGS, TRANSPOSE, ConstForm, Form, Gate, Rewrite, check, lookup,
)
