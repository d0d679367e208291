"""Finds the grammar and the templates, in a checkout and in a wheel.

The design keeps `grammar/` and `templates/` beside the package; the wheel
ships them inside it as `compiler/grammar` and `compiler/templates`
(see pyproject.toml).  This is the one place that knows both layouts.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def directory(kind: str) -> Path:
    """`kind` is "grammar" or "templates"."""
    for candidate in (_PACKAGE / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"gradc is installed without its {kind}/ directory")


def read_text(kind: str, name: str) -> str:
    return (directory(kind) / name).read_text(encoding="utf-8")
