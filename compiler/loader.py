"""Compile a formula file and import the result in one call.

Like SymPy's `lambdify`, `load` hands back something callable without a
file on disk; the module's source is registered with `linecache`, so a
traceback from a generated module still shows its lines.
"""

from __future__ import annotations

import linecache
import os
import types
from pathlib import Path

from .driver import compile_source
from .files import read_source


def load(path: str | os.PathLike, target: str = "math", style: str = "lecture"):
    """Compile the formula file at `path` and return the module it makes."""
    source = compile_source(read_source(path), target=target, style=style)
    stem = Path(path).stem
    name = stem if stem.isidentifier() else "formula"
    return module_from_source(source, name, f"<gradc {Path(path).name}>")


def module_from_source(source: str, name: str, filename: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = filename
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), module.__dict__)
    return module
