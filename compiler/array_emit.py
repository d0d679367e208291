"""StagedIR + AdjointIR of an array program -> ArrayContext: the NumPy
module's lines (LANGUAGE.md §9), finished.

Forward lines carry the stage's shape as a comment in the file's own
dimension names (`# [N, C]`).  Backward lines are the rows' vector-Jacobian
products (`dW = dD @ X.T`), a gradient that broadcasting spread is summed
back where it was spread (`db = np.sum(dS, axis=0)`), forks accumulate with
`dX = dX + ...` (never in place: arrays may share memory), and each line's
comment gives the shapes that meet in it: the lecture's dimension analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adjoint import AdjointIR, Contribution, adjoint_name
from .emit import forward_line
from .naming import ARRAY_INTERNAL, INTERNAL, internal_names
from .respell import respeller
from .shapes import Shape, shown
from .targets import TARGETS
from .template_context import BackwardBlock


@dataclass(frozen=True)
class ArrayContext:
    title: str
    inputs: tuple[str, ...]
    inputs_literal: str
    shapes_literal: str
    """SHAPES: each array input's declared shape, dimensions as written."""
    params: str
    output: str
    output_shape: str
    seed: str
    layer: bool
    """The output is an array: backward takes its upstream gradient."""
    bind_lines: tuple[str, ...]
    """forward's run-time checks of the inputs, and the sizes it reads."""
    forward_lines: tuple[str, ...]
    cache_tuple: str
    unpack_line: str
    blocks: tuple[BackwardBlock, ...]
    zero_lines: tuple[str, ...]
    gradients: str
    gradient_inputs: str
    names: dict[str, str]
    """The module's own names (numpy, the input check, forward's sizes),
    spelled so that no name of the file takes them (naming.internal_names)."""


def context(adjoint_ir: AdjointIR, target: str = "numpy") -> ArrayContext:
    """`target`: numpy, or array-api, whose code is numpy's translated
    (`adjoint_ir` made for the same target)."""
    staged = adjoint_ir.staged
    spec = TARGETS[target]
    shapes = dict.fromkeys(staged.inputs, ())
    shapes.update(staged.declared)
    shapes.update((stage.name, stage.shape) for stage in staged.stages)
    values = {*staged.user_names.values(), *shapes, *staged.dims}
    names = internal_names(values | {adjoint_name(name) for name in values},
                           INTERNAL + ARRAY_INTERNAL + spec.own_names)
    helper, sizes = names["_bind"], names["sizes"]
    # Gate code calls numpy `np.` (array-api `xp.`); a file with a value of
    # that name moves it.  The lines this module writes in numpy are
    # translated like the gate table's code.
    respell = respeller(spec.prefix, names[spec.alias] + ".")
    translate = spec.translate if target != "numpy" else str

    def code(line: str) -> str:
        return respell(translate(line))

    line_of = {stage.name: code(forward_line(stage, target)) for stage in staged.stages}
    cached = tuple(adjoint_ir.cached) + tuple(
        name for name in adjoint_ir.zero if shapes[name] and name not in adjoint_ir.cached)
    gradient_names = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    output_shape = shapes[staged.output]
    return ArrayContext(
        title=f"{staged.output}({', '.join(staged.inputs)}) and its gradient, "
              "staged one gate per line.",
        inputs=staged.inputs,
        inputs_literal=_tuple(map(repr, staged.inputs)),
        shapes_literal="{" + ", ".join(f"{name!r}: {_tuple(map(repr, shape))}"
                                       for name, shape in staged.declared.items()) + "}",
        params=", ".join(staged.inputs),
        output=staged.output,
        output_shape=shown(output_shape),
        seed=adjoint_name(staged.output),
        layer=bool(output_shape),
        bind_lines=_bind_lines(staged, helper, sizes, {*cached, *(
            op.name for stage in staged.stages for op in stage.operands
            if hasattr(op, "name"))}),
        forward_lines=tuple(f"{line_of[s.name]}  # {shown(s.shape)}" for s in staged.stages),
        cache_tuple=_tuple(cached),
        unpack_line=f"{_targets(cached)} = {names['cache']}" if cached else "",
        blocks=tuple(BackwardBlock(line_of[block.stage.name],
                                   tuple(code(_backward_line(c, shapes))
                                         for c in block.contributions))
                     for block in adjoint_ir.blocks if block.contributions),
        zero_lines=tuple(f"{adjoint_name(name)} = "
                         + (code(f"np.zeros_like({name})") if shapes[name] else "0.0")
                         for name in adjoint_ir.zero),
        gradients=_tuple(gradient_names),
        gradient_inputs="INPUTS" if staged.wrt is None else _tuple(map(repr, staged.wrt)),
        names=names,
    )


def _bind_lines(staged, helper: str, sizes: str, read) -> tuple[str, ...]:
    """The checks of the inputs, then the sizes a stage or backward reads."""
    lines = [f"{sizes} = {{}}"] if staged.declared else []
    lines += [f"{name} = {helper}({name!r}, {name}, {sizes})" for name in staged.declared]
    lines += [f"{dim} = {sizes}[{dim!r}][0]" for dim in staged.dims if dim in read]
    return tuple(lines)


def _backward_line(contribution: Contribution, shapes: dict[str, Shape]) -> str:
    name = adjoint_name(contribution.target)
    term, note = _summed(contribution, shapes)
    code = f"{name} = {term}" if contribution.first else f"{name} = {name} + {term}"
    return f"{code}  # {note}"


def _summed(contribution: Contribution, shapes) -> tuple[str, str]:
    """The term summed over the axes broadcasting stretched, and its note."""
    target_shape = shapes[contribution.target]
    upstream_shape = shapes[contribution.upstream[1:]]
    term = contribution.term
    gained, kept = contribution.summed
    if kept:
        term = f"np.sum({term}, axis={_axes(kept)}, keepdims=True)"
    if gained and not target_shape:
        term = f"np.sum({term})"
    elif gained:
        term = f"np.sum({term}, axis={_axes(gained)})"
    if contribution.note:
        return term, f"{contribution.note} -> {shown(target_shape)}"
    if upstream_shape == target_shape:
        return term, shown(target_shape)
    return term, f"{shown(upstream_shape)} -> {shown(target_shape)}"


def _axes(axes: tuple[int, ...]) -> str:
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _tuple(names) -> str:
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _targets(names) -> str:
    names = list(names)
    return f"{names[0]}," if len(names) == 1 else ", ".join(names)
