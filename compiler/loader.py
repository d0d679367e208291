"""Compile a formula file and import the result in one call.

Like SymPy's `lambdify`, `load` hands back something callable without a
file the user has to manage; the module's source is registered with
`linecache`, so a traceback from a generated module still shows its lines.

A target whose module caches compiled code beside its own file (numba)
needs a real file: `load` writes such a module once, to a file named by a
digest of its text under the cache directory, so the next process that
loads the same formula finds both the file and the compiled code again.
"""

from __future__ import annotations

import hashlib
import linecache
import os
import sys
import types
from pathlib import Path

from compiler.build import module_name, passes_of, read, without_cyclic_gc
from compiler.gates.targets import TARGETS
from compiler.files import write_atomically


def load(path: str | os.PathLike, target: str | None = None, style: str = "lecture",
         second_order: tuple[str, ...] = (), **passes):
    """Compile the formula file at `path` and return the module it makes
    (`target` None: numpy for a file that declares shapes, else math).
    `passes` are `gradc compile`'s: `wrt=("W", "b")` makes backward return
    only those gradients and compute only what they need.  `second_order`
    ("jvp", "hvp") adds LANGUAGE.md §10's functions, as --hvp does."""
    # The Build is let go inside the block: the cyclic GC, back on, would
    # walk every node of its IRs (see build.without_cyclic_gc).
    with without_cyclic_gc():
        source = read(path, passes_of(**passes), second_order, target).module(
            target, style)
    return imported(source, target, module_name(path), Path(path).name)


def imported(source: str, target: str | None, name: str, label: str) -> types.ModuleType:
    """`source` as a module: from a cached file for a target whose compiled
    code is cached beside it (numba), else from memory."""
    if target is not None and TARGETS[target].disk_cache:
        return module_from_file(source, name)
    return module_from_source(source, name, f"<gradc {label}>")


def module_from_source(source: str, name: str, filename: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = filename
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def module_from_file(source: str, name: str,
                     directory: str | os.PathLike | None = None) -> types.ModuleType:
    """Import `source` as the module `<name>_<digest>`, from a file of that
    name under `directory` (default: `cache_directory()`), written once."""
    folder = Path(directory) if directory is not None else cache_directory()
    unique = f"{name}_{hashlib.sha256(source.encode('utf-8')).hexdigest()[:16]}"
    path = folder / f"{unique}.py"
    # Rewriting an existing file would change its time stamp, and numba
    # would compile again: the file's time is part of its cache key.
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, source)
    # numba finds the module of cached code again by its name, in sys.modules.
    if unique not in sys.modules:
        sys.modules[unique] = module_from_source(source, unique, str(path))
    return sys.modules[unique]


def cache_directory() -> Path:
    """$GRADC_CACHE_DIR, else $XDG_CACHE_HOME/gradc, else ~/.cache/gradc."""
    if os.environ.get("GRADC_CACHE_DIR"):
        return Path(os.environ["GRADC_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gradc"
