"""Formula text -> module text: the back half of the pipeline.

    text -build-> Build (build.py: Program, StagedIR, AdjointIR)
         -emit-> TemplateContext -render-> module text

`staged_ir` and `adjoint_ir` are the front half's results for text, with
the optimization switches as keyword options (wrt, fold, cse, dce).

Each step raises `GradcError` for bad input; nothing here writes files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from compiler.build import build, module_ir, module_ir_given, passes_of, without_cyclic_gc
from compiler.passes.adjoint import AdjointIR, adjoint_name
from compiler.emit.context import STYLES, context
from compiler.emit.fields import TemplateContext
from compiler.errors import GradcError
from compiler.emit.render import TARGET_NAMES, render, rendered
from compiler.gates.targets import TARGETS
from compiler.passes.shapes import shown
from compiler.passes.stage import StagedIR


def staged_ir(text: str, **passes) -> StagedIR:
    """`passes`: wrt (input names as the file writes them; None: all
    inputs), fold, cse, dce."""
    return build(text, passes_of(**passes)).staged


def adjoint_ir(text: str, **passes) -> AdjointIR:
    return module_ir(text, passes_of(**passes))


def compile_source(text: str, target: str | None = None, style: str = "lecture",
                   second_order: tuple[str, ...] = (), **passes) -> str:
    """Compile formula text to the source of a standalone Python module.

    `target` None is numpy for a file that declares shapes, else math.
    `second_order`: () or ("jvp",) or ("jvp", "hvp"), the functions of
    §10 the module adds.  `passes` are `staged_ir`'s keyword options:
    wrt, fold, cse, dce."""
    return "".join(compiled(text, target, style, second_order, **passes))


def compiled(text: str, target: str | None = None, style: str = "lecture",
             second_order: tuple[str, ...] = (), **passes) -> Iterator[str]:
    """`compile_source`'s module in pieces, to be written out as they are
    rendered.  Bad input raises here, before the first piece: the pieces
    themselves cannot fail on it."""
    return compiled_given([text], target, style, second_order, **passes)


def compiled_given(owned: list, target: str | None = None, style: str = "lecture",
                   second_order: tuple[str, ...] = (), **passes) -> Iterator[str]:
    """`compiled` of the text `owned` holds, given up to be freed once parsed."""
    _check_names(target, style)
    with without_cyclic_gc():
        # The list holds the only reference to the IR, so that it is freed
        # as soon as the next step has read it, before the cyclic GC is
        # back on and would walk it.
        module, target = _context_owned([module_ir_given(owned, passes_of(**passes),
                                                         second_order, target)],
                                        target, style, second_order)
    return _rendered_owned([module], target)


def emit(reverse: AdjointIR, target: str | None = None, style: str = "lecture",
         second_order: tuple[str, ...] = ()) -> str:
    """The module text of a compiled formula (see `compile_source`)."""
    _check_names(target, style)
    with without_cyclic_gc():
        module, target = _context_owned([reverse], target, style, second_order)
        return render(module, target)


def _rendered_owned(owned: list, target: str) -> Iterator[str]:
    """`owned` holds the one context, freed once its module is rendered.
    The context holds a tuple per line, which the cyclic GC would walk
    again and again as the pieces are made."""
    with without_cyclic_gc():
        yield from rendered(owned.pop(), target)


def _check_names(target: str | None, style: str) -> None:
    if target is not None and target not in TARGET_NAMES:
        raise GradcError(f"unknown target '{target}': expected one of "
                         f"{', '.join(TARGET_NAMES)}")
    if style not in STYLES:
        raise GradcError(f"unknown style '{style}': expected one of {', '.join(STYLES)}")


def _context_owned(owned: list, target: str | None, style: str,
                   second_order: tuple[str, ...] = ()) -> tuple[TemplateContext, str]:
    """The module's context and its target; `owned` holds the one IR,
    given up to be freed once read."""
    reverse = owned.pop()
    staged = reverse.staged
    target = target or ("numpy" if staged.shaped else "math")
    _check_array_options(staged, target, style)
    module = context(reverse, style, target, with_terms=bool(second_order))
    # jvp and hvp follow the lecture style's lines, whose every adjoint has
    # a line of its own to differentiate: a compact module takes them from
    # the lecture style's context.
    lecture = None if not second_order else module if style == "lecture" \
        else context(reverse, "lecture", target, with_terms=True)
    del reverse
    if second_order:
        # Imported here: a module without jvp and hvp, the common case,
        # does not pay for loading the tangent pass and its printers.
        from compiler.emit import second_order as second_order_emit

        lines = second_order_emit.array_lines(lecture, staged, target) if staged.shaped \
            else second_order_emit.array_api_lines(lecture) if target == "array-api" \
            else second_order_emit.numba_lines(lecture) if target == "numba" \
            else second_order_emit.scalar_lines(lecture, target)
        module = with_second_order(module, staged, lines, second_order, target)
        if lecture is not module:
            # The lecture's lines call the target's module by name (`math.exp`),
            # where the compact style may import bare names alone.
            module = dataclasses.replace(module, imports=module.imports + tuple(
                line for line in lecture.imports if line not in module.imports))
    return module, target


def with_second_order(module, staged: StagedIR, lines, kinds, target: str):
    """The module's context with jvp (and hvp, hessian) added (§10)."""
    from compiler.emit import second_order as second_order_emit
    from compiler.passes.tangent import tangent

    values = {*staged.inputs, *(stage.name for stage in staged.stages), *staged.dims}
    taken = values | {adjoint_name(name) for name in values} | set(module.names.values())
    return dataclasses.replace(module, second_order=second_order_emit.second_order(
        tangent(staged), lines, kinds, target, taken))


def _check_array_options(staged: StagedIR, target: str, style: str) -> None:
    """An array program compiles to the NumPy module of §9, or to the array
    API standard's.  The error names the first array input in INPUTS order,
    at its declaration."""
    if not staged.shaped:
        return
    first = next(name for name in staged.inputs if name in staged.declared)
    where = staged.declared_at.get(first)
    if not TARGETS[target].arrays:
        raise GradcError(f"the {target} target computes with numbers, but '{first}' is "
                         f"declared {shown(staged.declared[first])}: compile it with "
                         "--target numpy", where)
    if style != "lecture":
        raise GradcError(f"the {style} style is for numbers, but '{first}' is declared "
                         f"{shown(staged.declared[first])}: array modules use the "
                         "lecture style", where)
