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


def test_readme_excerpt_is_the_generated_backward_pass():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    excerpt = readme.split("```python\n", 1)[1].split("```", 1)[0]
    module = (ROOT / "generated" / "staged.py").read_text(encoding="utf-8")
    lines = [line for line in excerpt.splitlines() if line.strip() not in ("", "...")]
    assert len(lines) >= 10
    assert all(line + "\n" in module for line in lines)


def test_readme_numbers_are_the_staged_examples():
    from compiler import check

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    report = check(ROOT / "examples" / "staged.txt", at={"x": 3, "y": -4})
    assert report.ok
    for row in report.points[0].rows:
        assert repr(row.generated) in readme


_SECTION = re.compile(r"^## (\d+)\. ", re.M)
_REFERENCE = re.compile(r"(\S*)\s?§(\d+)")


def _section_references():
    """(file, what precedes the §, the number) for every § in the docs."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [(page.name, m.group(1), int(m.group(2))) for page in pages
            for m in _REFERENCE.finditer(page.read_text(encoding="utf-8"))]


def test_every_section_reference_is_a_section_of_the_users_language_page():
    # The language page is the user's copy: a § elsewhere names it, and a
    # bare § in it is its own.
    language = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    sections = {int(number) for number in _SECTION.findall(language)}
    references = _section_references()
    assert len(references) >= 15
    for page, before, number in references:
        if page != "language.md":
            assert before.endswith("language.md"), (page, before, number)
        assert number in sections, (page, before, number)
