"""The pipeline's parts import one another in one direction only.

Each rule is checked on the import statements of every module of the
package (inside functions too), read with `ast`.
"""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT

PACKAGE = ROOT / "compiler"


def _imports(path) -> set[str]:
    """The modules a file imports, as dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _part(path) -> str:
    """`front`, `gates`, ... or `top` for the package's own modules."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else "top"


MODULES = sorted(PACKAGE.rglob("*.py"))
IMPORTS = {path: _imports(path) for path in MODULES}


def _violations(allowed_part, forbidden) -> list[str]:
    return sorted(f"{path.relative_to(ROOT)} imports {name}"
                  for path, names in IMPORTS.items() if allowed_part(_part(path))
                  for name in names if any(name == f or name.startswith(f + ".")
                                           for f in forbidden))


@pytest.mark.parametrize("library, home", [("sympy", "checker"), ("lark", "front")])
def test_a_library_is_imported_by_its_part_alone(library, home):
    assert _violations(lambda part: part != home, [library]) == []


def test_the_gate_table_imports_no_pass_printer_or_tool():
    assert _violations(lambda part: part == "gates",
                       ["compiler.passes", "compiler.emit", "compiler.tools",
                        "compiler.checker", "compiler.front", "compiler.cli",
                        "compiler.driver"]) == []


def test_passes_and_printers_import_neither_the_command_line_nor_the_tools():
    assert _violations(lambda part: part in ("passes", "emit"),
                       ["compiler.cli", "compiler.tools", "compiler.checker",
                        "compiler.driver"]) == []


def test_the_front_end_knows_nothing_after_it():
    assert _violations(lambda part: part == "front",
                       ["compiler.passes", "compiler.emit", "compiler.tools",
                        "compiler.checker"]) == []


def test_the_rules_can_fail():
    # Each rule above would pass on any tree if the reading found nothing.
    checker_imports = set().union(*(names for path, names in IMPORTS.items()
                                    if _part(path) == "checker"))
    tool_imports = set().union(*(names for path, names in IMPORTS.items()
                                 if _part(path) == "tools"))
    assert "sympy" in checker_imports and "compiler.gates.snippets" in checker_imports
    assert "compiler.tools.trace" in checker_imports and "compiler.inputs" in tool_imports


def test_the_oracle_knows_each_gate_from_mathematics_not_from_the_table():
    oracle = [path for path in IMPORTS if path.name in ("oracle.py", "meaning.py")]
    assert len(oracle) == 2
    assert sorted(f"{path.name} imports {name}" for path in oracle for name in IMPORTS[path]
                  if name == "compiler.gates" or name.startswith("compiler.gates.")) == []


def test_the_tools_never_import_the_checker():
    assert _violations(lambda part: part == "tools", ["compiler.checker"]) == []


TEXT_READERS = ("re", "ast")
"""What reads code as text: a printer prints the table's trees instead, and
only the table's load (gates/expr.py) parses a snippet."""


def _text_readers(path) -> list[str]:
    return sorted(name for name in IMPORTS[path] if name in TEXT_READERS)


def test_no_printer_reads_code_as_text():
    found = {path.relative_to(PACKAGE).as_posix(): _text_readers(path)
             for path in MODULES if _part(path) in ("emit", "gates")}
    assert {name: names for name, names in found.items() if names} == {"gates/expr.py": ["ast"]}


def test_the_text_reading_rule_can_fail():
    assert _text_readers(PACKAGE / "gates" / "expr.py") == ["ast"]


def test_no_array_twin_remains_in_the_back_end():
    assert sorted(path.name for path in (PACKAGE / "emit").glob("array*")) == []


def test_no_module_is_an_array_twin():
    assert sorted(path.relative_to(PACKAGE).as_posix() for path in MODULES
                  if path.name.startswith("array_")) == []


def _function_names(part: str) -> set[str]:
    return {node.name for path in MODULES if _part(path) == part
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


@pytest.mark.parametrize("part", ["checker", "tools"])
def test_the_tools_and_the_checker_run_numbers_and_arrays_alike(part):
    # A number is an array of rank 0: no function of theirs is for arrays alone.
    names = _function_names(part)
    assert "check" in names or "trace" in names
    assert sorted(name for name in names if name.lstrip("_").startswith("array")) == []
