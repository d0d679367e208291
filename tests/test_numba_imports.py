"""A numba module works however, and however often, it is imported.

numba caches compiled code beside the module's file and, in the next
process, finds the module that code belongs to again by name.  pytest,
notebooks and `compiler.load` import a module under names of their own, so
each process here imports the same file under another name (or as itself),
after the first has filled the cache.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from compiler import compile_source
from conftest import build

pytest.importorskip("numba")

STAGED = "f(x, y) = (x + σ(y)) / (σ(x) + (x + y)^2)\n"

_BY_NAME = """\
import importlib.util, sys
spec = importlib.util.spec_from_file_location(sys.argv[1], sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
for _ in range(2):
    value, (dx, dy) = module.grad(3.0, -4.0)
    print(repr(float(value)), repr(float(dx)), repr(float(dy)), repr(float(module.f(3.0, -4.0))))
"""

_AS_ITSELF = """\
import sys
sys.path.insert(0, sys.argv[1])
import e4_numba as module
value, (dx, dy) = module.grad(3.0, -4.0)
print(repr(float(value)), repr(float(dx)), repr(float(dy)), repr(float(module.f(3.0, -4.0))))
"""


def _run(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", *args], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_numba_module_imported_under_other_names_in_new_processes(tmp_path):
    path = tmp_path / "e4_numba.py"
    path.write_text(compile_source(STAGED, target="numba"), encoding="utf-8")
    value, (dx, dy) = build(STAGED).grad(3.0, -4.0)
    expected = [float(text) for text in (value, dx, dy, value)]
    lines = [*_run(_BY_NAME, "first", str(path)), *_run(_BY_NAME, "second", str(path)),
             *_run(_AS_ITSELF, str(tmp_path)), *_run(_BY_NAME, "first", str(path))]
    assert len(lines) == 7
    for line in lines:
        assert [float(text) for text in line.split()] == pytest.approx(expected, rel=1e-12)
