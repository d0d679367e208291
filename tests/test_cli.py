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


def test_an_empty_file_shows_its_empty_first_line_and_a_caret(tmp_path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    run = gradc("compile", "empty.txt", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr == ("empty.txt:1:1: error: expected a formula, such as f(x, y) = x * y\n"
                          "\n"
                          "^\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt"]


def test_bad_input_leaves_an_existing_output_untouched(tmp_path):
    source = tmp_path / "expr.txt"
    source.write_text("f = x +\n", encoding="utf-8")
    existing = tmp_path / "expr.py"
    existing.write_text("# an older module\n", encoding="utf-8")
    assert gradc("compile", str(source)).returncode == 2
    assert existing.read_text(encoding="utf-8") == "# an older module\n"


def test_a_module_is_written_whole_or_not_at_all_as_it_is_rendered(tmp_path, monkeypatch):
    # The module goes to its file piece by piece as it is rendered: a
    # failure after the first piece leaves the older module and no
    # temporary file beside it.
    from compiler import cli

    existing = tmp_path / "staged.py"
    existing.write_text("# an older module\n", encoding="utf-8")

    def failing(*args, **kwargs):
        yield "# a new module's first line\n"
        raise MemoryError

    monkeypatch.setattr(cli, "compiled_given", failing)
    with pytest.raises(MemoryError):
        main(["compile", str(EXAMPLES / "staged.txt"), "-o", str(existing)])
    assert existing.read_text(encoding="utf-8") == "# an older module\n"
    assert [p.name for p in tmp_path.iterdir()] == ["staged.py"]


def test_bad_input_fails_before_the_first_piece_of_a_module():
    from compiler import GradcError
    from compiler.driver import compiled

    with pytest.raises(GradcError, match=r"expected '\)' to close"):
        compiled("f = (x + y * 2\n")
    with pytest.raises(GradcError, match="^unknown style"):
        compiled("f = x\n", style="terse")


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
    from compiler.inputs import parse_point

    assert parse_point(["y=-4", "x=3"], ("x", "y")) == (3.0, -4.0)
    with pytest.raises(GradcError, match="^'z' is not an input: the inputs are x, y$"):
        parse_point(["z=1"], ("x", "y"))
    with pytest.raises(GradcError, match="^'x' is not an input: the formula has none$"):
        parse_point(["x=1"], ())
    with pytest.raises(GradcError, match="^--at gives no value for y$"):
        parse_point(["x=1"], ("x", "y"))


@pytest.mark.parametrize("argv", [
    ["compile", "-o", "-"], ["check", "--at", "x=3", "y=-4"], ["explain", "--at", "x=3", "y=-4"],
    ["draw", "--at", "x=3", "y=-4", "-o", "OUT.dot"]])
def test_every_command_parses_its_file_once(argv, tmp_path, monkeypatch, capsys):
    from compiler import build

    parses = []
    real = build.parse
    monkeypatch.setattr(build, "parse", lambda text: parses.append(text) or real(text))
    argv = [str(tmp_path / "f.dot") if word == "OUT.dot" else word for word in argv]
    assert main([argv[0], str(EXAMPLES / "staged.txt"), *argv[1:]]) == 0
    assert len(parses) == 1


def test_check_takes_the_compile_commands_pass_options(tmp_path):
    source = tmp_path / "f.txt"
    source.write_text("f(x, y, z) = x * y + 2 * (3 * z)\n", encoding="utf-8")
    run = gradc("check", str(source), "--wrt", "z,x", "-O0", "--at", "x=1", "y=2", "z=3")
    assert run.returncode == 0, run.stderr
    quantities = [line.split()[0] for line in run.stdout.splitlines()
                  if line.startswith("  d")]
    assert quantities == ["df/dz", "df/dx"]


def test_check_of_an_array_file_takes_wrt(tmp_path):
    source = tmp_path / "f.txt"
    source.write_text("f(x: [D], W: [H, D]) = sum(W @ x)\n", encoding="utf-8")
    run = gradc("check", str(source), "--wrt", "W", "--points", "1")
    assert run.returncode == 0, run.stderr
    assert [line.split()[0] for line in run.stdout.splitlines()
            if line.startswith("  d")] == ["df/dW"]


@pytest.mark.parametrize("command, output, message", [
    (["compile"], "missing/out.py",
     "cannot write 'missing/out.py': the folder 'missing' does not exist"),
    (["compile"], "folder", "cannot write 'folder': it is a folder; name a file in it with -o"),
    (["draw"], "missing/x.svg",
     "cannot write 'missing/x.svg': the folder 'missing' does not exist"),
    (["draw"], "folder", "expected the output to end in .svg, .png or .dot, got 'folder'"),
    (["draw"], "folder.dot",
     "cannot write 'folder.dot': it is a folder; name a file in it with -o")])
def test_an_output_that_cannot_be_written_is_bad_input(command, output, message, tmp_path):
    (tmp_path / "f.txt").write_text("f = x * y\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.dot").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    run = gradc(*command, "f.txt", "-o", output, cwd=tmp_path)
    assert (run.returncode, run.stderr) == (2, f"f.txt: error: {message}\n")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_compile_of_numbers_imports_neither_numpy_nor_sympy_nor_lark_nor_the_tools(
        tmp_path):
    """The fast parser reads a valid file; Lark is for the files it gives up on.
    The gate table's checks run in the test suite and `gradc --self-check`."""
    probe = ("import sys, compiler.cli; "
             f"compiler.cli.main(['compile', {str(EXAMPLES / 'staged.txt')!r}, '-o', "
             f"{str(tmp_path / 'staged.py')!r}]); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'sympy', 'lark') "
             "or m.startswith(('compiler.tools', 'compiler.checker.', 'compiler.emit.second_order', "
             "'compiler.passes.tangent', 'compiler.gates.checks'))))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (run.returncode, run.stdout, run.stderr) == (0, "[]\n", "")
    assert (tmp_path / "staged.py").read_text(encoding="utf-8") == \
        (GENERATED / "staged.py").read_text(encoding="utf-8")


def test_self_check_checks_every_row_of_the_gate_table():
    from compiler.gates.table import GATES

    run = gradc("--self-check")
    assert (run.returncode, run.stdout, run.stderr) == \
        (0, f"gradc {__version__}: the gate table's {len(GATES)} rows check out\n", "")


def test_self_check_names_a_malformed_row(monkeypatch, capsys):
    from dataclasses import replace

    from compiler.gates import Form, table

    broken = replace(table.GATES["square"], compact=Form("{a} * {b}", ("2.0 * {a}",)))
    monkeypatch.setattr(table, "_ROWS", (*table._ROWS, broken))
    with pytest.raises(SystemExit) as exit_:
        main(["--self-check"])
    assert exit_.value.code == 1
    assert capsys.readouterr() == ("", "gradc: the gate table is malformed: "
                                       "gate square: bad math form ['b']\n")
