"""The pipeline, one step per line: formula text -> module text.

    text -parse-> statements -resolve-> Program -stage-> StagedIR
         -adjoint-> AdjointIR -emit-> TemplateContext -render-> module text

Each step raises `GradcError` for bad input; nothing here writes files.
"""

from __future__ import annotations

from .adjoint import AdjointIR, adjoint
from .emit import STYLES, context
from .errors import GradcError
from .parse import parse
from .render import TARGETS, render
from .resolve import resolve
from .stage import StagedIR, stage


def staged_ir(text: str) -> StagedIR:
    return stage(resolve(parse(text)))


def adjoint_ir(text: str) -> AdjointIR:
    return adjoint(staged_ir(text))


def compile_source(text: str, target: str = "math", style: str = "lecture") -> str:
    """Compile formula text to the source of a standalone Python module."""
    if target not in TARGETS:
        raise GradcError(f"unknown target '{target}': expected one of {', '.join(TARGETS)}")
    if style not in STYLES:
        raise GradcError(f"unknown style '{style}': expected one of {', '.join(STYLES)}")
    return render(context(adjoint_ir(text), style), target)
