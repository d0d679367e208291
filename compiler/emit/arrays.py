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

from typing import NamedTuple

from compiler.passes.adjoint import AdjointIR, Contribution, adjoint_name
from compiler.passes.naming import ARRAY_INTERNAL, INTERNAL, internal_names
from compiler.emit.context import tuple_code, unpacking
from compiler.emit.stages import StagePrinter, cached
from compiler.gates import expr
from compiler.gates.targets import TARGETS
from compiler.passes.shapes import Shape, shown
from compiler.gates.snippets import placeholders, value_placeholders
from compiler.passes.stage import Ref
from compiler.emit.fields import BackwardBlock


class Term(NamedTuple):
    """A contribution's vector-Jacobian product, printed."""

    code: str
    """Over the upstream, before any broadcasting sum: `dS @ W.T`."""
    reads: tuple[str, ...]
    """The forward values the code reads."""
    note: str
    """For a product's rule, the term with shapes for names, as the
    lecture's dimension analysis writes it: `[H, N] @ [N, D]`."""


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
    terms: tuple[tuple[tuple[str, str], ...], ...]
    """Each backward line's term, summed where broadcasting spread it, and
    its note of shapes, block by block (for gradc explain and draw)."""
    zero_lines: tuple[str, ...]
    gradients: str
    gradient_inputs: str
    names: dict[str, str]
    """The module's own names (numpy, the input check, forward's sizes),
    spelled so that no name of the file takes them (naming.internal_names)."""
    second_order: object = None
    """jvp, hvp and hessian (second_order.SecondOrder), or None (§10)."""


def context(adjoint_ir: AdjointIR, target: str = "numpy") -> ArrayContext:
    """`target`: numpy, or array-api, whose code is numpy's translated."""
    staged = adjoint_ir.staged
    spec = TARGETS[target]
    shapes = staged.shapes()
    values = {*staged.user_names.values(), *shapes, *staged.dims}
    names = internal_names(values | {adjoint_name(name) for name in values},
                           INTERNAL + ARRAY_INTERNAL + spec.own_names)
    # Gate code calls numpy `np.` (array-api `xp.`); a file with a value of
    # that name moves it, and the table's snippets are spelled with the
    # module's name before they are filled.
    module = names[spec.alias]
    printer = StagePrinter(target, module=module, names=names)
    line_of = {stage.name: f"{stage.name} = {printer.forward(stage)}" for stage in staged.stages}
    blocks, terms, cached_names = _backward(adjoint_ir, shapes, line_of, printer, module)
    gradient_names = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    output_shape = shapes[staged.output]
    return ArrayContext(
        title=f"{staged.output}({', '.join(staged.inputs)}) and its gradient, "
              "staged one gate per line.",
        inputs=staged.inputs,
        inputs_literal=tuple_code(map(repr, staged.inputs)),
        shapes_literal="{" + ", ".join(f"{name!r}: {tuple_code(map(repr, shape))}"
                                       for name, shape in staged.declared.items()) + "}",
        params=", ".join(staged.inputs),
        output=staged.output,
        output_shape=shown(output_shape),
        seed=adjoint_name(staged.output),
        layer=bool(output_shape),
        bind_lines=_bind_lines(staged, names["_bind"], names["sizes"], cached_names),
        forward_lines=tuple(f"{line_of[s.name]}  # {shown(s.shape)}" for s in staged.stages),
        cache_tuple=tuple_code(cached_names),
        unpack_line=f"{unpacking(cached_names)} = {names['cache']}" if cached_names else "",
        blocks=blocks,
        terms=terms,
        zero_lines=tuple(f"{adjoint_name(name)} = "
                         + (f"{module}.zeros_like({name})" if shapes[name] else "0.0")
                         for name in adjoint_ir.zero),
        gradients=tuple_code(gradient_names),
        gradient_inputs="INPUTS" if staged.wrt is None else tuple_code(map(repr, staged.wrt)),
        names=names,
    )


def _backward(adjoint_ir: AdjointIR, shapes: dict[str, Shape], line_of: dict[str, str],
              printer: StagePrinter, module: str
              ) -> tuple[tuple[BackwardBlock, ...], tuple, tuple[str, ...]]:
    """backward's blocks, each line's term and note, and what forward
    caches for them."""
    dims = adjoint_ir.staged.dimension_names()
    terms = tuple(tuple(_term(c, shapes, printer, dims) for c in block.contributions)
                  for block in adjoint_ir.blocks)
    read = cached(adjoint_ir.staged, (name for block in terms for term in block
                                      for name in term.reads))
    # An input with no gradient gets zeros of its shape, so its value is kept.
    cached_names = read + tuple(name for name in adjoint_ir.zero
                                if shapes[name] and name not in read)
    summed = tuple(tuple(_summed(c, term, shapes, module)
                         for c, term in zip(block.contributions, block_terms))
        for block, block_terms in zip(adjoint_ir.blocks, terms) if block.contributions)
    blocks = tuple(BackwardBlock(line_of[block.stage.name],
                                 tuple(_backward_line(c, term, note)
                                       for c, (term, note) in zip(block.contributions, lines)))
                   for block, lines in zip((b for b in adjoint_ir.blocks if b.contributions),
                                           summed))
    return blocks, summed, cached_names


def _bind_lines(staged, helper: str, sizes: str, cached_names) -> tuple[str, ...]:
    """The checks of the inputs, then the sizes a stage or backward reads."""
    lines = [f"{sizes} = {{}}"] if staged.declared else []
    lines += [f"{name} = {helper}({name!r}, {name}, {sizes})" for name in staged.declared]
    read = {*cached_names, *(op.name for stage in staged.stages for op in stage.operands
                             if isinstance(op, Ref))}
    lines += [f"{dim} = {sizes}[{written!r}][0]"
              for written, dim in staged.dimension_names().items() if dim in read]
    return tuple(lines)


def _term(contribution: Contribution, shapes: dict[str, Shape], printer: StagePrinter,
          dims: dict[str, str]) -> Term:
    """The row's rule for the operands' ranks, filled with the stage's names
    and the upstream `{g}`."""
    stage = contribution.stage
    tree = printer.code.lower(
        stage.gate.vjp_tree(contribution.index, contribution.ranks, printer.target))
    values = placeholders(stage.gate, stage.operands, stage.constant, out=stage.name)
    values["g"] = contribution.upstream
    first_shape = _shape(stage.operands[0], shapes) if stage.operands else ()
    sizes = tuple(dims.get(dim, dim) if isinstance(dim, str) else str(dim) for dim in first_shape)
    values.update(_shape_fields(sizes, stage.gate.axis))
    reads = tuple([values[field] for field, i in value_placeholders(tree)
                   if i < 0 or isinstance(stage.operands[i], Ref)])
    if _SIZES.intersection(expr.fields(tree)):  # the rule reads the operand's sizes
        reads += tuple(size for size, dim in zip(sizes, first_shape) if isinstance(dim, str))
    note = _note(tree, stage, shapes, printer) if stage.gate.vjp_note else ""
    return Term(printer.code.print(tree).format_map(values), reads, note)


_SIZES = {"shape_a", "size_a", "axis_a"}


def _shape(operand, shapes: dict[str, Shape]) -> Shape:
    return shapes.get(operand.name, ()) if isinstance(operand, Ref) else ()


def _shape_fields(shape: tuple[str, ...], axis: int | None) -> dict[str, str]:
    """The first operand's sizes as the module names them, for rules
    that make an array of it (`np.full({shape_a}, {g})`): the backward pass
    then reads the sizes, not the array."""
    if not shape:
        return {}
    text = list(shape)
    return {"shape_a": f"({text[0]},)" if len(text) == 1 else f"({', '.join(text)})",
            "size_a": " * ".join(text),
            "axis_a": text[axis] if axis is not None and axis >= 0 else ""}


def _note(tree: expr.Expr, stage, shapes: dict[str, Shape], printer: StagePrinter) -> str:
    """The rule with each value's shape for its name, and a transposed
    operand's transposed shape for its `.T`."""
    shown_shapes = {"g": shown(stage.shape), "out": shown(stage.shape)}
    for letter, operand in zip("ab", stage.operands):
        shape = _shape(operand, shapes)
        shown_shapes[letter] = shown(shape)
        shown_shapes[letter + "T"] = shown(shape[::-1])
    return printer.code.print(_transposed_fields(tree)).format_map(shown_shapes)


def _transposed_fields(tree: expr.Expr) -> expr.Expr:
    """`{a}.T` as the one placeholder `{aT}`."""
    if isinstance(tree, expr.Attr) and tree.name == "T" and isinstance(tree.value, expr.Field):
        return expr.Field(tree.value.name + "T")
    return expr.map_children(tree, _transposed_fields)


def _backward_line(contribution: Contribution, term: str, note: str) -> str:
    name = adjoint_name(contribution.target)
    code = f"{name} = {term}" if contribution.first else f"{name} = {name} + {term}"
    return f"{code}  # {note}"


def _summed(contribution: Contribution, printed: Term, shapes, module: str) -> tuple[str, str]:
    """The term summed over the axes broadcasting stretched, and its note."""
    target_shape = shapes[contribution.target]
    upstream_shape = shapes[contribution.stage.name]
    term = printed.code
    gained, kept = contribution.summed
    if kept:
        term = f"{module}.sum({term}, axis={_axes(kept)}, keepdims=True)"
    if gained and not target_shape:
        term = f"{module}.sum({term})"
    elif gained:
        term = f"{module}.sum({term}, axis={_axes(gained)})"
    if printed.note:
        return term, f"{printed.note} -> {shown(target_shape)}"
    if upstream_shape == target_shape:
        return term, shown(target_shape)
    return term, f"{shown(upstream_shape)} -> {shown(target_shape)}"


def _axes(axes: tuple[int, ...]) -> str:
    return str(axes[0]) if len(axes) == 1 else str(axes)

