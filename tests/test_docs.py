"""The docs show real behaviour: every error table row in docs/language.md
is compiled and must give exactly the message the row shows."""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys

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


_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_MODULE = re.compile(r"`(generated/[\w/]+\.py)`")


def _generated_listings():
    """(page, module, lines) for every ```python listing in the README and
    docs/: a `python` fence shows generated code, and the module it shows
    is the last `generated/....py` path the page names before it.  Other
    fences (a formula, an error, JSON, a session) and indented blocks
    (commands) show no generated code."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    listings = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for fence in _FENCE.finditer(text):
            if fence.group(1) != "python":
                continue
            named = _MODULE.findall(text, 0, fence.start())
            lines = [line for line in fence.group(2).splitlines()
                     if line.strip() not in ("", "...")]
            listings.append((page.name, named[-1] if named else None, lines))
    return listings


def test_the_generated_listings_are_found():
    assert len(_generated_listings()) >= 5


@pytest.mark.parametrize("page, module, lines", _generated_listings(),
                         ids=lambda value: value if isinstance(value, str) else "")
def test_a_listing_shows_its_modules_lines_in_order(page, module, lines):
    assert module is not None, f"a listing in {page} names no generated/ module before it"
    written = (ROOT / module).read_text(encoding="utf-8").splitlines()
    position = 0
    for line in lines:
        assert line in written[position:], f"{page}: not in {module} after line {position}: {line}"
        position = written.index(line, position) + 1


def test_the_readmes_python_session_prints_what_it_shows(monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sessions = [fence.group(2) for fence in _FENCE.finditer(readme) if fence.group(1) == "pycon"]
    assert sessions
    runner = doctest.DocTestRunner()
    for index, session in enumerate(sessions):
        runner.run(doctest.DocTestParser().get_doctest(session, {}, f"README{index}", "README.md", 0))
    assert runner.summarize(verbose=False) == (0, 4 * len(sessions))


def test_the_readmes_check_table_is_what_gradc_check_prints():
    from compiler import check
    from compiler.checker.report import to_text

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    report = check(ROOT / "examples" / "staged.txt", at={"x": 3, "y": -4})
    assert report.ok
    printed = [line.strip() for line in to_text(report).splitlines()]
    table = printed[printed.index(next(line for line in printed if line.startswith("quantity"))):]
    table = table[:1 + len(report.points[0].rows)]
    shown = [line.strip() for line in readme.splitlines()]
    start = shown.index(table[0])
    assert shown[start:start + len(table)] == table


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


def _first_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return next(line.strip() for line in readme.splitlines() if " && gradc compile " in line)


def test_the_readmes_first_command_prints_the_numbers_and_leaves_the_clone_clean(tmp_path):
    steps = _first_command().split(" && ")
    compile_step = next(step for step in steps if step.startswith("gradc compile "))
    run_step = steps[steps.index(compile_step) + 1]
    out = compile_step.split(" -o ")[1]
    assert run_step == f"python {out} x=3 y=-4"
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "staged.txt", tmp_path / "examples")
    for step in (compile_step.replace("gradc", "-m compiler", 1), run_step[len("python "):]):
        run = subprocess.run([sys.executable, *step.split()], cwd=tmp_path, capture_output=True,
                             text=True, check=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.stdout == ("f = 1.5456448841066441\ndf/dx = 2.0595697955721652\n"
                          "df/dy = 1.5922327514838093\n")
    if not (ROOT / ".git").exists():
        pytest.skip("not a clone: nothing to leave untracked")
    ignored = subprocess.run(["git", "check-ignore", "-q", out], cwd=ROOT)
    assert ignored.returncode == 0, f"{out} would be left untracked in the clone"
