"""StagedIR -> TangentIR: the forward-mode pass.

Each stage that depends on an input with a direction gets a tangent, the
sum of its operands' shares: each operand that moves contributes the
row's forward rule for it (`Gate.jvp_snippet`: the local gradient times
the operand's tangent, or an array row's own rule such as `{t} @ {b}`).
A stage none of whose operands moves has no tangent, and no line is
written for it.  Like the adjoint pass, this one never looks at a gate's
name and writes no code: the printers print each share for their target.

Names follow one rule: the direction of an input `x` is `v_x` (LANGUAGE.md
§10), and the tangent of any other value `num`, stage or adjoint, is
`t_num`, so the tangent of the adjoint `dnum` is `t_dnum`.  A name the
module already gives a value gets `_` appended (`t_num_`); a direction's
name is the contract's, so a file whose own value already has it is
refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from compiler.errors import GradcError, Span
from compiler.passes.adjoint import adjoint_name
from compiler.passes.stage import Ref, Stage, StagedIR


class Share(NamedTuple):
    """One operand's share of a stage's tangent."""

    index: int
    """Which of the stage's operands moves."""
    tangent: str
    """Its tangent's name: `v_x`, `t_sigy`."""


class StageTangent(NamedTuple):
    stage: Stage
    name: str
    """`t_num`."""
    shares: tuple[Share, ...]
    ranks: tuple[int, ...]
    """The operands' ranks in an array program (empty for numbers)."""


@dataclass(frozen=True)
class TangentIR:
    staged: StagedIR
    directions: dict[str, str]
    """Each input that takes a direction -> the direction's name (`v_x`)."""
    tangents: tuple[StageTangent | None, ...]
    """One per stage, in forward order: None where the stage does not move."""
    names: dict[str, str]
    """Every value of the module -> its tangent's name, adjoints included."""


def direction_name(name: str) -> str:
    return "v_" + name


def tangent(staged: StagedIR) -> TangentIR:
    names = _names(staged)
    moving = {name: names[name] for name in staged.gradient_inputs}
    shapes = staged.shapes() if staged.shaped else None
    tangents = []
    for stage in staged.stages:
        # A row's helpers move with its operands, whose shares count them.
        own = stage.operands[:stage.gate.operand_count(len(stage.operands))]
        shares = tuple(Share(index, moving[op.name]) for index, op in enumerate(own)
                       if isinstance(op, Ref) and op.name in moving)
        if not shares:
            tangents.append(None)
            continue
        ranks = tuple(len(shapes.get(op.name, ())) if isinstance(op, Ref) else 0
                      for op in stage.operands) if shapes is not None else ()
        tangents.append(StageTangent(stage, names[stage.name], shares, ranks))
        moving[stage.name] = names[stage.name]
    return TangentIR(staged, {name: names[name] for name in staged.gradient_inputs},
                     tuple(tangents), names)


def _names(staged: StagedIR) -> dict[str, str]:
    """Tangent names for every value and adjoint, by the module's rule."""
    values = [*staged.inputs, *(stage.name for stage in staged.stages), *staged.dims]
    adjoints = [adjoint_name(name) for name in values]
    taken = set(values) | set(adjoints) | set(staged.user_names.values())
    names: dict[str, str] = {}
    for name in staged.gradient_inputs:
        direction = direction_name(name)
        if direction in taken:
            raise GradcError(f"the direction of '{name}' is named '{direction}' (§10), "
                             f"but the file already has a value of that name: rename it",
                             _named_at(staged, direction))
        names[name] = direction
        taken.add(direction)
    for name in (*(stage.name for stage in staged.stages), *adjoints):
        candidate = "t_" + name
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        names[name] = candidate
    return names


def _named_at(staged: StagedIR, name: str) -> Span | None:
    """Where the file names the value `name`: an input where it first
    appears, a stage at its line."""
    spans = {stage.name: stage.span for stage in staged.stages} | staged.input_at
    return spans.get(name)
