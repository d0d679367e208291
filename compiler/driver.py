"""The pipeline, one step per line: formula text -> module text.

    text -parse-> statements -resolve-> Program -stage-> StagedIR
         -optimize-> StagedIR -adjoint-> AdjointIR -emit-> TemplateContext
         -render-> module text

The optimization switches are keyword options of every step from
`staged_ir` on, with the same defaults, so that tools which show the
stages (trace, draw, explain) see the stages the module computes.

Each step raises `GradcError` for bad input; nothing here writes files.
"""

from __future__ import annotations

import contextlib
import gc

from .adjoint import AdjointIR, adjoint
from .emit import STYLES, context
from .errors import GradcError
from .optimize import Passes, optimize
from .parse import parse
from .render import TARGETS, render
from .resolve import resolve
from .stage import StagedIR, stage


def staged_ir(text: str, *, wrt=None, fold: bool = True, cse: bool = True,
              dce: bool = True) -> StagedIR:
    """`wrt`: input names as the file writes them (None: all inputs)."""
    passes = Passes(fold=fold, cse=cse, dce=dce, wrt=None if wrt is None else tuple(wrt))
    return optimize(stage(resolve(parse(text))), passes)


def adjoint_ir(text: str, target: str = "math", compact: bool = False,
               **passes) -> AdjointIR:
    return adjoint(staged_ir(text, **passes), target, compact)


def compile_source(text: str, target: str = "math", style: str = "lecture",
                   **passes) -> str:
    """Compile formula text to the source of a standalone Python module.

    `passes` are `staged_ir`'s keyword options: wrt, fold, cse, dce."""
    if target not in TARGETS:
        raise GradcError(f"unknown target '{target}': expected one of {', '.join(TARGETS)}")
    if style not in STYLES:
        raise GradcError(f"unknown style '{style}': expected one of {', '.join(STYLES)}")
    with _without_cyclic_gc():
        # No name holds an IR: each is freed as soon as the next step has
        # read it, before the cyclic GC is back on and would walk it.
        return render(context(adjoint_ir(text, target, compact=style == "compact", **passes),
                              style, target), target)


@contextlib.contextmanager
def _without_cyclic_gc():
    # Every step allocates a node per gate and frees nothing until the end;
    # the cyclic GC would walk that growing heap again and again (three
    # times the whole compile time at 10^5 gates).  Reference counting
    # still frees everything, and the IRs hold no cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
