"""Formula files with their expectations written in their own comments.

Each file in tests/cases/ covers one rule of the language.  Directives are
comment lines of the form `# key: value`:

    # rule: <the rule, with its section number in docs/language.md>
    # error: LINE:COL: exact message      (a bad file; exit status 2)
    # at: x=3 y=-4                         (a good file: the point...)
    # inputs: x y                          (...INPUTS as generated...)
    # output: f                            (...the output function's name...)
    # value: 1.5456448841066441            (...the value there...)
    # grad: 2.0595697955721652 1.5922...   (...and the gradient, in INPUTS order)
    # emits: <a line that must appear in the generated module>

Values were computed with SymPy from expressions written apart from gradc.
Every good file is also checked against central differences, and no comment
text may appear in the generated module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from compiler import GradcError, compile_source
from compiler.cli import main
from compiler.files import read_source
from helpers import central_difference
from conftest import build

CASES = sorted((Path(__file__).parent / "cases").glob("*.txt"))


def directives(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    text = path.read_bytes().decode("utf-8", errors="replace")
    for match in re.finditer(r"^# (\w+): (.*?)\r?$", text, flags=re.M):
        found.setdefault(match.group(1), []).append(match.group(2))
    return found


def _point(spec: str) -> dict[str, float]:
    return {name: float(value) for name, value in (w.split("=") for w in spec.split())}


def _comments(text: str) -> list[str]:
    return [c.strip() for c in re.findall(r"#([^\r\n]*)", text) if len(c.strip()) > 3]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(path):
    expect = directives(path)
    assert "rule" in expect, "every case names the rule it covers"
    if "error" in expect:
        _check_error(path, expect["error"][0])
    else:
        _check_good(path, expect)


def _check_error(path: Path, expected: str):
    with pytest.raises(GradcError) as caught:
        compile_source(read_source(path))
    assert f"{caught.value.span}: {caught.value.message}" == expected


def _check_good(path: Path, expect):
    text = read_source(path)
    source = compile_source(text)
    module = build(text)
    point = _point(expect["at"][0])
    inputs = tuple(expect["inputs"][0].split())
    assert module.INPUTS == inputs
    assert hasattr(module, expect.get("output", ["f"])[0])
    value, gradient = module.grad(*point.values())
    assert value == pytest.approx(float(expect["value"][0]), rel=1e-12, abs=1e-12)
    wanted = [float(g) for g in expect["grad"][0].split()]
    assert list(gradient) == pytest.approx(wanted, rel=1e-10, abs=1e-12)
    assert list(gradient) == pytest.approx(_central_differences(module, point), rel=1e-5, abs=1e-6)
    for line in expect.get("emits", []):
        assert line + "\n" in source
    for comment in _comments(text):
        assert comment not in source
    ast.parse(source)


def _central_differences(module, point: dict[str, float]) -> list[float]:
    values = list(point.values())
    return [central_difference(lambda *args: module.forward(*args)[0], values, index)
            for index in range(len(values))]


@pytest.mark.parametrize("path", [p for p in CASES if "error" in directives(p)],
                         ids=lambda p: p.stem)
def test_cli_reports_error_cases_with_exit_2_and_no_output(path, tmp_path, capsys,
                                                         monkeypatch):
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["compile", copy.name]) == 2
    expected = directives(path)["error"][0]
    where, message = expected.split(": ", 1)
    assert capsys.readouterr().err.startswith(f"{copy.name}:{where}: error: {message}\n")
    assert [p.name for p in tmp_path.iterdir()] == [copy.name]
