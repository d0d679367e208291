"""Shared helpers: compile formula text and import the result."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from compiler import compile_source
from compiler.loader import module_from_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GENERATED = ROOT / "generated"

_counter = itertools.count()


def build(text: str, **options):
    """Compile formula text and import the module it makes."""
    source = compile_source(text, **options)
    return module_from_source(source, f"formula{next(_counter)}", "<test formula>")


@pytest.fixture
def compile_text():
    return build
