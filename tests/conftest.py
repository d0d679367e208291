"""Shared helpers: compile formula text and import the result."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from compiler import compile_source
from compiler.loader import module_from_file, module_from_source
from compiler.gates.targets import TARGETS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GENERATED = ROOT / "generated"

_counter = itertools.count()


def build(text: str, **options):
    """Compile formula text and import the module it makes."""
    source = compile_source(text, **options)
    if options.get("target") == "array-api":
        pytest.importorskip("array_api_compat", reason="the array-api target's modules "
                            "import array_api_compat: pip install \".[array]\"")
    if TARGETS[options.get("target", "math")].disk_cache:
        # numba's loops are cached beside a file; the same text shares one
        # module, so each loop is compiled once per session.
        pytest.importorskip("numba")
        return module_from_file(source, "formula")
    return module_from_source(source, f"formula{next(_counter)}", "<test formula>")


@pytest.fixture(scope="session", autouse=True)
def _cache_directory(tmp_path_factory):
    """Modules that need a file get one in a temporary directory, not ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADC_CACHE_DIR", str(tmp_path_factory.mktemp("gradc-cache")))
        yield


@pytest.fixture
def compile_text():
    return build
