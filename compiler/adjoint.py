"""StagedIR -> AdjointIR: the reverse-mode pass.

Walks the stages backwards from the output.  For each stage that received a
gradient, each operand that is a value (not a constant) receives one
contribution: the row's local-gradient snippet times the stage's adjoint.
The first contribution to a value assigns (`=`), later ones accumulate
(`+=`), because gradients add where a value fans out to several gates.
Stages the output does not depend on get no adjoint, and inputs that
receive nothing get an explicit zero.  With `StagedIR.wrt`, only values that
depend on one of those inputs get an adjoint: the rest cannot reach them.

The pass never looks at a gate's name; all it needs is in the row.  The
local gradients are code in one target (math by default), and in the
compact style's forms when asked, since what they read from the forward
pass, and so the cache, can differ between targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .shapes import reduced_axes, shown
from .snippets import fields, value_placeholders
from .stage import Ref, Stage, StagedIR


class Contribution(NamedTuple):
    target: str
    """The value whose gradient grows: `x` in `dx += ...`."""
    first: bool
    """True for the value's first contribution, written with `=`."""
    local: str
    """The local gradient as code, e.g. `(1 - sigx) * sigx`."""
    upstream: str
    """The adjoint it multiplies: `dsigx`."""
    reads: tuple[str, ...]
    """Values the local gradient reads from the forward pass."""
    term: str = ""
    """For an array program, the whole vector-Jacobian product as code,
    over the upstream (`dS @ W.T`), before any broadcasting sum."""
    summed: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    """The axes that broadcasting stretched the operand along, which its
    gradient sums away: (leading axes gained, axes of 1 kept)."""
    note: str = ""
    """For a product's rule, the term with shapes for names, as the lecture's
    dimension analysis writes it: `[H, N] @ [N, D]`."""


class Block(NamedTuple):
    stage: Stage
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class AdjointIR:
    staged: StagedIR
    blocks: tuple[Block, ...]
    """In backward order: the output's stage first."""
    zero: tuple[str, ...]
    """Inputs that receive no gradient."""
    cached: tuple[str, ...]
    """The forward values the backward pass reads, in forward order."""


def adjoint_name(name: str) -> str:
    return "d" + name


def adjoint(staged: StagedIR, target: str = "math", compact: bool = False) -> AdjointIR:
    reached: set[str] = {staged.output}
    read: set[str] = set()
    shapes = _shapes(staged) if staged.shaped else None
    relevant = _relevant(staged)
    blocks = []
    for stage in reversed(staged.stages):
        if stage.name not in reached or (relevant is not None and stage.name not in relevant):
            continue
        contributions = _contributions(stage, reached, relevant, target, compact,
                                       shapes)
        for contribution in contributions:
            read.update(contribution.reads)
        blocks.append(Block(stage, contributions))
    order = list(staged.inputs) + list(staged.dims) + [stage.name for stage in staged.stages]
    return AdjointIR(
        staged=staged,
        blocks=tuple(blocks),
        zero=tuple(name for name in staged.gradient_inputs if name not in reached),
        cached=tuple(name for name in order if name in read),
    )


def _relevant(staged: StagedIR) -> set[str] | None:
    """The values that depend on a `wrt` input (None: every value counts)."""
    if staged.wrt is None:
        return None
    relevant = set(staged.wrt)
    for stage in staged.stages:
        if any(isinstance(op, Ref) and op.name in relevant for op in stage.operands):
            relevant.add(stage.name)
    return relevant


def _contributions(stage: Stage, reached: set[str], relevant: set[str] | None,
                   target: str, compact: bool, shapes=None) -> tuple[Contribution, ...]:
    if shapes is not None:
        return _array_contributions(stage, reached, relevant, shapes, target)
    snippets = stage.gate.local_snippets(len(stage.operands), target, compact)
    values = fields(stage.gate, stage.operands, stage.constant, out=stage.name,
                    floats=compact)
    upstream = adjoint_name(stage.name)
    contributions = []
    for operand, snippet in zip(stage.operands, snippets):
        if not isinstance(operand, Ref) or (relevant is not None
                                            and operand.name not in relevant):
            continue
        contributions.append(Contribution(
            target=operand.name,
            first=operand.name not in reached,
            local=snippet.format_map(values),
            upstream=upstream,
            reads=tuple([values[field] for field, index in value_placeholders(snippet)
                         if index < 0 or isinstance(stage.operands[index], Ref)]),
        ))
        reached.add(operand.name)
    return tuple(contributions)


def _shapes(staged: StagedIR) -> dict[str, tuple]:
    shapes = dict.fromkeys(staged.inputs, ())
    shapes.update(staged.declared)
    shapes.update((stage.name, stage.shape) for stage in staged.stages)
    return shapes


def _array_contributions(stage: Stage, reached: set[str], relevant: set[str] | None,
                         shapes: dict[str, tuple], target: str = "numpy"
                         ) -> tuple[Contribution, ...]:
    """Each operand's vector-Jacobian product, from the row's rule for the
    operands' ranks; where broadcasting stretched an operand, its gradient
    is summed back to the operand's shape here, at the stage that spread it."""
    operand_shapes = [shapes.get(op.name, ()) if isinstance(op, Ref) else ()
                      for op in stage.operands]
    ranks = tuple(map(len, operand_shapes))
    values = fields(stage.gate, stage.operands, stage.constant, out=stage.name)
    values["g"] = upstream = adjoint_name(stage.name)
    values.update(_shape_fields(operand_shapes[0] if operand_shapes else (), stage.gate.axis))
    contributions = []
    for index, operand in enumerate(stage.operands):
        if not isinstance(operand, Ref) or operand.name not in shapes or (
                relevant is not None and operand.name not in relevant):
            continue
        snippet = stage.gate.vjp_snippet(index, ranks, target)
        sizes = tuple(dim for dim in operand_shapes[0] if isinstance(dim, str)) \
            if "_a}" in snippet else ()
        summed = ((), ())
        if stage.gate.shape_rule == "elementwise" and operand_shapes[index] != stage.shape:
            summed = reduced_axes(operand_shapes[index], stage.shape)
        contributions.append(Contribution(
            target=operand.name, first=operand.name not in reached, local="",
            upstream=upstream,
            reads=tuple([values[field] for field, i in value_placeholders(snippet)
                         if i < 0 or isinstance(stage.operands[i], Ref)]) + sizes,
            term=snippet.format_map(values), summed=summed,
            note=_note(snippet, operand_shapes, stage) if stage.gate.vjp_note else ""))
        reached.add(operand.name)
    return tuple(contributions)


def _shape_fields(shape: tuple, axis: int | None) -> dict[str, str]:
    """The first operand's shape in the file's dimension names, for rules
    that make an array of it (`np.full({shape_a}, {g})`): the backward pass
    then reads the sizes, not the array."""
    if not shape:
        return {}
    text = [str(dim) for dim in shape]
    return {"shape_a": f"({', '.join(text)},)" if len(text) == 1 else f"({', '.join(text)})",
            "size_a": " * ".join(text),
            "axis_a": text[axis] if axis is not None and axis >= 0 else ""}


def _note(snippet: str, operand_shapes, stage: Stage) -> str:
    shown_shapes = {"g": shown(stage.shape), "out": shown(stage.shape)}
    for letter, shape in zip("ab", operand_shapes):
        shown_shapes[letter] = shown(shape)
        shown_shapes[letter + "T"] = shown(shape[::-1])
    # The row's own rule, read with a transposed operand as one factor.
    return snippet.replace("{a}.T", "{aT}").replace("{b}.T", "{bT}").format_map(shown_shapes)
