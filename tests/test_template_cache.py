"""The templates' compiled code kept between runs: used when sound, and
otherwise ignored, never trusted (compiler/template_cache.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import jinja2
import pytest

from compiler import resources
from compiler.template_cache import TemplateCache, folder
from conftest import EXAMPLES, GENERATED

TEMPLATE = "math.py.jinja"


def environment(where, compiles: list, **settings) -> jinja2.Environment:
    """The templates' environment with a cache at `where`, recording in
    `compiles` each template it compiles rather than loads."""
    made = jinja2.Environment(loader=jinja2.FileSystemLoader(str(resources.directory("templates"))),
                              bytecode_cache=TemplateCache(where), **settings)
    compile_source = made.compile

    def counted(source, name=None, filename=None, raw=False, defer_init=False):
        compiles.append(name)
        return compile_source(source, name, filename, raw, defer_init)

    made.compile = counted
    return made


def test_a_second_run_loads_the_compiled_template(tmp_path):
    first, second = [], []
    environment(tmp_path, first).get_template(TEMPLATE)
    environment(tmp_path, second).get_template(TEMPLATE)
    assert (first, second) == ([TEMPLATE], [])
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("damage", ["cut short", "one byte changed", "empty", "not a file"])
def test_a_damaged_cache_file_is_ignored_and_replaced(tmp_path, damage):
    environment(tmp_path, []).get_template(TEMPLATE)
    (entry,) = tmp_path.iterdir()
    sound = entry.read_bytes()
    if damage == "cut short":
        entry.write_bytes(sound[:len(sound) // 2])
    elif damage == "one byte changed":
        entry.write_bytes(sound[:-10] + bytes([sound[-10] ^ 1]) + sound[-9:])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        entry.unlink()
        entry.mkdir()
    compiles: list = []
    template = environment(tmp_path, compiles).get_template(TEMPLATE)
    assert compiles == [TEMPLATE]
    assert template.root_render_func.__code__.co_code == \
        environment(tmp_path / "fresh", []).get_template(TEMPLATE).root_render_func.__code__.co_code
    if damage != "not a file":
        assert entry.read_bytes() == sound


def test_code_of_another_template_text_is_not_used(tmp_path):
    """A sound file whose code was compiled from other text (an edited
    template, another version) is stale: Jinja compares the text's hash."""
    environment(tmp_path, []).get_template("base.py.jinja")
    (base,) = tmp_path.iterdir()
    environment(tmp_path / "other", []).get_template(TEMPLATE)
    (entry,) = (tmp_path / "other").iterdir()
    os.replace(base, tmp_path / "other" / entry.name)
    compiles: list = []
    environment(tmp_path / "other", compiles).get_template(TEMPLATE)
    assert compiles == [TEMPLATE]


def test_code_compiled_under_other_settings_is_not_used(tmp_path):
    environment(tmp_path, [], trim_blocks=True).get_template(TEMPLATE)
    compiles: list = []
    environment(tmp_path, compiles, trim_blocks=False).get_template(TEMPLATE)
    environment(tmp_path, compiles, trim_blocks=False).get_template(TEMPLATE)
    assert compiles == [TEMPLATE]


def test_a_folder_that_cannot_be_written_leaves_the_cache_unused(tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("", encoding="utf-8")
    compiles: list = []
    environment(blocked / "cache", compiles).get_template(TEMPLATE)
    environment(blocked / "cache", compiles).get_template(TEMPLATE)
    assert compiles == [TEMPLATE, TEMPLATE]


def test_the_cache_folder_is_per_gradc_and_jinja_version(monkeypatch, tmp_path):
    from compiler import __version__

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert folder() == tmp_path / "gradc" / f"{__version__}-jinja{jinja2.__version__}"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert folder() == tmp_path / "home" / ".cache" / "gradc" / \
        f"{__version__}-jinja{jinja2.__version__}"


@pytest.mark.parametrize("cache", ["cold", "warm", "corrupt", "read-only"])
def test_gradc_writes_the_same_module_whatever_the_cache(tmp_path, cache):
    home = tmp_path / "cache"
    run = [sys.executable, "-m", "compiler", "compile", str(EXAMPLES / "staged.txt"), "-o", "-"]
    environment_variables = {**os.environ, "XDG_CACHE_HOME": str(home)}
    if cache != "cold":
        subprocess.run(run, env=environment_variables, capture_output=True, check=True)
    if cache == "corrupt":
        for entry in home.rglob("*"):
            if entry.is_file():
                entry.write_bytes(entry.read_bytes()[:100])
    if cache == "read-only":
        environment_variables["XDG_CACHE_HOME"] = str(tmp_path / "a file" / "cache")
        (tmp_path / "a file").write_text("", encoding="utf-8")
    compiled = subprocess.run(run, env=environment_variables, capture_output=True, text=True)
    assert (compiled.returncode, compiled.stderr) == (0, "")
    assert compiled.stdout == (GENERATED / "staged.py").read_text(encoding="utf-8")
