"""No module outside the gate table names a gate in a string.

The passes ask a row what to do; a gate's name written as a string
elsewhere is a branch on that gate waiting to happen.
"""

from __future__ import annotations

import ast

from conftest import ROOT
from compiler.gates import GATES

# Modules whose strings equal a gate's name for another reason.
ALLOWED = {
    "gates/table.py": "the table itself",
    "gates/arrays.py": "the table's array rows",
    "checker/meaning.py": "the checker's own meaning of each gate, independent on purpose",
    "checker/oracle.py": "the same, where a gate's meaning depends on its call",
    "gates/targets.py": "math's function names, as NumPy spells them",
    "passes/naming.py": "Python builtins the generated modules call",
    "emit/printers.py": "NumPy's ufunc names for Python's operators",
    "emit/compact.py": "NumPy's ufunc names for a sum's last operation",
    "emit/blocks.py": "the NumPy functions of σ's exp that a block shares, and its lines' names",
    "emit/differentiate.py": "the functions of the targets' modules whose derivatives it knows",
}


def _strings_naming_gates(text: str):
    tree = ast.parse(text)
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in GATES)


def test_no_gate_name_is_written_as_a_string_outside_the_table():
    package = ROOT / "compiler"
    found = {path.relative_to(package).as_posix(): hits for path in sorted(package.rglob("*.py"))
             if path.relative_to(package).as_posix() not in ALLOWED
             and (hits := _strings_naming_gates(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_search_finds_a_gate_name():
    # The test above would pass on any tree if the search could never match.
    assert _strings_naming_gates('x = "sigmoid"\n') == [(1, "sigmoid")]
