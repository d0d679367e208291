"""The modules kept as golden files: every example and every good case file,
in every target and style that compiles it, byte for byte.

Regenerate (after a change that is meant to alter output) with:

    PYTHONPATH=. python tests/golden_modules.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "modules"
SOURCES = (sorted((ROOT / "examples").glob("*.txt"))
           + sorted((ROOT / "examples" / "arrays").glob("*.txt"))
           + sorted((ROOT / "tests" / "cases").glob("*.txt")))
TARGETS = ("math", "numpy", "numba", "array-api")
STYLES = ("lecture", "compact")
UNOPTIMIZED = {"fold": False, "cse": False, "dce": False}


def _name(source: Path) -> str:
    return f"{source.parent.name}_{source.stem}"


def _variants(source: Path):
    """(golden file name, compile options) for each variant of one file;
    the unoptimized ones for the examples alone."""
    passes = [("", {})]
    if source.parent.name != "cases":
        passes.append((".O0", UNOPTIMIZED))
    for target in TARGETS:
        for style in STYLES:
            for suffix, options in passes:
                yield (f"{_name(source)}.{target}.{style}{suffix}.py",
                       dict(target=target, style=style, **options))


def modules():
    """Every (golden file name, module text) that compiles today."""
    from compiler import GradcError, compile_source
    from compiler.files import read_source
    for source in SOURCES:
        for name, options in _variants(source):
            try:
                yield name, compile_source(read_source(source), **options)
            except GradcError:
                continue


def write() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN.glob("*.py"):
        stale.unlink()
    for name, module in modules():
        (GOLDEN / name).write_bytes(module.encode("utf-8"))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    write()
