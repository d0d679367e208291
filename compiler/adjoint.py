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
    relevant = _relevant(staged)
    blocks = []
    for stage in reversed(staged.stages):
        if stage.name not in reached or (relevant is not None and stage.name not in relevant):
            continue
        contributions = _contributions(stage, reached, relevant, target, compact)
        for contribution in contributions:
            read.update(contribution.reads)
        blocks.append(Block(stage, contributions))
    order = list(staged.inputs) + [stage.name for stage in staged.stages]
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
                   target: str, compact: bool) -> tuple[Contribution, ...]:
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
