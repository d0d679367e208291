"""Every module gradc writes for the examples and case files is byte-identical
to its golden file in tests/golden/modules/ (see tests/golden_modules.py)."""

from __future__ import annotations

import pytest

from golden_modules import GOLDEN, modules

COMPILED = dict(modules())


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_module_matches_its_golden_file(name):
    assert COMPILED[name].encode("utf-8") == (GOLDEN / name).read_bytes()


def test_every_golden_file_is_still_written():
    assert sorted(p.name for p in GOLDEN.glob("*.py")) == sorted(COMPILED)
