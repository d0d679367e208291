"""The `gradc` command: where it writes, what it prints, how it fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compiler import __version__
from compiler.cli import main
from conftest import EXAMPLES, GENERATED


def gradc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "compiler", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_compile_writes_next_to_the_input(tmp_path):
    source = tmp_path / "staged.txt"
    source.write_text((EXAMPLES / "staged.txt").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["compile", str(source)]) == 0
    assert (tmp_path / "staged.py").read_text(encoding="utf-8") == \
        (GENERATED / "staged.py").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_compile_to_stdout():
    run = gradc("compile", str(EXAMPLES / "staged.txt"), "-o", "-")
    assert run.returncode == 0
    assert run.stdout == (GENERATED / "staged.py").read_text(encoding="utf-8")


def test_compile_to_named_output(tmp_path):
    out = tmp_path / "custom.py"
    assert main(["compile", str(EXAMPLES / "multiply.txt"), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (GENERATED / "multiply.py").read_text(encoding="utf-8")


def test_version_and_help():
    assert gradc("--version").stdout.strip() == f"gradc {__version__}"
    help_text = gradc("--help").stdout
    assert "compile" in help_text and help_text.startswith("usage: gradc")
    assert "-o OUT" in gradc("compile", "--help").stdout


def test_bad_input_exits_2_with_a_located_message_and_writes_nothing(tmp_path):
    source = tmp_path / "expr.txt"
    source.write_text("f = (x + y * 2\n", encoding="utf-8")
    run = gradc("compile", "expr.txt", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr == ("expr.txt:1:15: error: expected ')' to close the '(' at 1:5\n"
                          "f = (x + y * 2\n"
                          "              ^\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expr.txt"]


def test_bad_input_leaves_an_existing_output_untouched(tmp_path):
    source = tmp_path / "expr.txt"
    source.write_text("f = x +\n", encoding="utf-8")
    existing = tmp_path / "expr.py"
    existing.write_text("# an older module\n", encoding="utf-8")
    assert gradc("compile", str(source)).returncode == 2
    assert existing.read_text(encoding="utf-8") == "# an older module\n"


def test_missing_file_gets_one_line(tmp_path):
    run = gradc("compile", "nowhere.txt", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr == "nowhere.txt: error: cannot read the formula file: " \
                         "No such file or directory\n"


def test_output_may_not_overwrite_the_formula(tmp_path):
    source = tmp_path / "f.py"
    source.write_text("f = x\n", encoding="utf-8")
    run = gradc("compile", str(source))
    assert run.returncode == 2
    assert source.read_text(encoding="utf-8") == "f = x\n"


@pytest.mark.parametrize("argv", [["compile"], ["bogus"], []])
def test_usage_errors_exit_2(argv):
    assert gradc(*argv).returncode == 2


def test_at_names_the_inputs_or_says_there_are_none():
    from compiler.errors import GradcError
    from compiler.tools.points import parse_point

    assert parse_point(["y=-4", "x=3"], ("x", "y")) == (3.0, -4.0)
    with pytest.raises(GradcError, match="^'z' is not an input: the inputs are x, y$"):
        parse_point(["z=1"], ("x", "y"))
    with pytest.raises(GradcError, match="^'x' is not an input: the formula has none$"):
        parse_point(["x=1"], ())
    with pytest.raises(GradcError, match="^--at gives no value for y$"):
        parse_point(["x=1"], ("x", "y"))
