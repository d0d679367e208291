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

from compiler.emit import arrays as array_emit
from compiler.passes.adjoint import AdjointIR, adjoint
from compiler.emit.context import STYLES, context
from compiler.errors import GradcError
from compiler.passes.optimize import Passes, optimize
from compiler.front.parse import parse
from compiler.emit.render import TARGET_NAMES, render
from compiler.gates.targets import TARGETS
from compiler.front.resolve import resolve
from compiler.passes.shapes import shown
from compiler.passes.stage import StagedIR, stage


def staged_ir(text: str, *, wrt=None, fold: bool = True, cse: bool = True,
              dce: bool = True) -> StagedIR:
    """`wrt`: input names as the file writes them (None: all inputs)."""
    passes = Passes(fold=fold, cse=cse, dce=dce, wrt=None if wrt is None else tuple(wrt))
    return optimize(stage(resolve(parse(text))), passes)


def adjoint_ir(text: str, **passes) -> AdjointIR:
    return adjoint(staged_ir(text, **passes))


def compile_source(text: str, target: str | None = None, style: str = "lecture",
                   **passes) -> str:
    """Compile formula text to the source of a standalone Python module.

    `target` None is numpy for a file that declares shapes, else math.
    `passes` are `staged_ir`'s keyword options: wrt, fold, cse, dce."""
    if target is not None and target not in TARGET_NAMES:
        raise GradcError(f"unknown target '{target}': expected one of "
                         f"{', '.join(TARGET_NAMES)}")
    if style not in STYLES:
        raise GradcError(f"unknown style '{style}': expected one of {', '.join(STYLES)}")
    with _without_cyclic_gc():
        staged = staged_ir(text, **passes)
        if staged.shaped:
            target = target or "numpy"
            _check_array_options(staged, target, style)
            return render(array_emit.context(adjoint(staged), target),
                          TARGETS[target].array_template)
        target = target or "math"
        # Each IR is let go as soon as the next step has read it, so that
        # it is freed before the cyclic GC is back on and would walk it.
        reverse = adjoint(staged)
        del staged
        module = context(reverse, style, target)
        del reverse
        return render(module, target)


def _check_array_options(staged: StagedIR, target: str, style: str) -> None:
    """An array program compiles to the NumPy module of §9, or to the array
    API standard's.  The error names the first array input in INPUTS order,
    at its declaration."""
    first = next(name for name in staged.inputs if name in staged.declared)
    where = staged.declared_at.get(first)
    if TARGETS[target].array_template is None:
        raise GradcError(f"the {target} target computes with numbers, but '{first}' is "
                         f"declared {shown(staged.declared[first])}: compile it with "
                         "--target numpy", where)
    if style != "lecture":
        raise GradcError(f"the {style} style is for numbers, but '{first}' is declared "
                         f"{shown(staged.declared[first])}: array modules use the "
                         "lecture style", where)


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
