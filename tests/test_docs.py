"""The docs show real behaviour: every error table row in docs/language.md
is compiled and must give exactly the message the row shows."""

from __future__ import annotations

import re

import pytest

from compiler import GradcError, compile_source
from conftest import ROOT

_ROW = re.compile(r"^\| `([^`]+)`(?: then `([^`]+)`)? \| `([^`]+)` \|$", re.M)


def _error_rows():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    return [m.groups() for m in _ROW.finditer(text) if "…" not in m.group(3)]


def test_the_tables_are_found():
    assert len(_error_rows()) >= 30


@pytest.mark.parametrize("first, second, message", _error_rows())
def test_documented_error_message_is_real(first, second, message):
    text = first if second is None else f"{first}\n{second}"
    with pytest.raises(GradcError) as caught:
        compile_source(text)
    assert caught.value.message == message
