"""StagedIR -> AdjointIR: the reverse-mode pass.

Walks the stages backwards from the output.  For each stage that received a
gradient, each operand that is a value (not a constant) receives one
contribution: the row's local-gradient snippet times the stage's adjoint.
The first contribution to a value assigns (`=`), later ones accumulate
(`+=`), because gradients add where a value fans out to several gates.
Stages the output does not depend on get no adjoint, and inputs that
receive nothing get an explicit zero.  Only values that depend on an input
get an adjoint (with `StagedIR.wrt`, on one of those inputs): the rest,
constants and dimension sizes, cannot pass a gradient on.

The pass never looks at a gate's name, and writes no code: a contribution
names the row and operand whose rule applies, the same for every target
and style.  The printers (emit/stages.py and emit/terms.py) print each rule once,
for their target, whatever the operands' ranks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from compiler.gates.expr import fields
from compiler.passes.shapes import reduced_axes
from compiler.passes.stage import Ref, Stage, StagedIR


class Contribution(NamedTuple):
    """One operand's share of a stage's adjoint, as data: which row and
    operand, what it multiplies, and `=` or `+=`.  The printers
    (emit/terms.py) turn it into code for a target and style."""

    target: str
    """The value whose gradient grows: `x` in `dx += ...`."""
    first: bool
    """True for the value's first contribution, written with `=`."""
    stage: Stage
    """The stage whose row gives the rule."""
    index: int
    """Which of the stage's operands `target` is."""
    spread_to: str | None
    """The adjoint it multiplies where that is not its stage's own, which
    is spread (`_spread`); None for the stage's own, which `upstream`
    spells when asked, so that a file of 10^6 stages holds no second name
    per stage."""
    ranks: tuple[int, ...] = ()
    """For an array program, the operands' ranks, which choose the row's
    vector-Jacobian product (empty: a number's program)."""
    summed: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    """The axes that broadcasting stretched the operand along, which its
    gradient sums away: (leading axes gained, axes of 1 kept)."""

    @property
    def upstream(self) -> str:
        """The adjoint it multiplies: `dsigx`."""
        return self.spread_to or adjoint_name(self.stage.name)


class Block(NamedTuple):
    stage: Stage
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class AdjointIR:
    """The same for every target and style: what forward caches follows
    from the printed local gradients, so the printers work it out."""

    staged: StagedIR
    blocks: tuple[Block, ...]
    """In backward order: the output's stage first."""
    zero: tuple[str, ...]
    """Inputs that receive no gradient."""


def adjoint_name(name: str) -> str:
    return "d" + name


def adjoint(staged: StagedIR) -> AdjointIR:
    reached: set[str] = {staged.output}
    shapes = staged.shapes() if staged.shaped else None
    relevant = _relevant(staged)
    spread = _spread(staged, shapes) if shapes is not None else {}
    blocks = []
    for stage in reversed(staged.stages):
        if stage.name not in reached or stage.name not in relevant:
            continue
        blocks.append(Block(stage, _contributions(stage, reached, relevant, shapes, spread)))
    return AdjointIR(
        staged=staged,
        blocks=tuple(blocks),
        zero=tuple(name for name in staged.gradient_inputs if name not in reached),
    )


def _relevant(staged: StagedIR) -> set[str]:
    """The values that depend on an input whose gradient is asked for (all
    of them, or `wrt`'s): no other value's adjoint can reach one, so the
    sizes of dimensions and the stages made of them get none."""
    relevant = set(staged.gradient_inputs)
    for stage in staged.stages:
        if any(isinstance(op, Ref) and op.name in relevant for op in stage.operands):
            relevant.add(stage.name)
    return relevant


def _spread(staged: StagedIR, shapes: dict[str, tuple]) -> dict[str, str]:
    """The stages whose adjoint would be a number spread over their shape
    (`np.full`) only to multiply local factors of that very shape
    (`sum(W1 * W1)`): each, with the adjoint its terms multiply instead,
    the reduction's (`W1 * dsumW1W1`), which broadcasts.  Only a stage that
    the reduction alone reads and that the file does not name, whose
    adjoint the file would look for."""
    readers = Counter(op.name for stage in staged.stages for op in stage.operands
                      if isinstance(op, Ref))
    by_name = {stage.name: stage for stage in staged.stages}
    named = {*staged.user_names.values(), staged.output}
    spread = {}
    for stage in staged.stages:
        inner = by_name.get(stage.operands[0].name) if stage.gate.spreads \
            and isinstance(stage.operands[0], Ref) else None
        if inner is not None and readers[inner.name] == 1 and inner.name not in named \
                and _fills_its_shape(inner, shapes):
            spread[inner.name] = adjoint_name(stage.name)
    return spread


def _fills_its_shape(stage: Stage, shapes: dict[str, tuple]) -> bool:
    """Whether every local factor of an elementwise stage reads a value of
    the stage's own shape, so that it times a number has that shape.  An
    array program's code is numpy's, or the standard's spelling of it."""
    gate = stage.gate
    if gate.vjp is not None or gate.shape_rule != "elementwise":
        return False
    count = gate.operand_count(len(stage.operands))
    values = {"out": stage.shape}
    values.update(zip(_LETTERS, (_shape_of(op, shapes) for op in stage.operands[:count])))
    values.update((field, _shape_of(op, shapes)) for (field, _), op
                  in zip(gate.helpers, stage.operands[count:]))
    trees = gate.local_trees(len(stage.operands), "numpy")
    return all(any(values.get(field) == stage.shape for field in fields(trees[index]))
               for index in range(count))


def _shape_of(operand, shapes: dict[str, tuple]) -> tuple:
    return shapes.get(operand.name, ()) if isinstance(operand, Ref) else ()


_LETTERS = "ab"


def _contributions(stage: Stage, reached: set[str], relevant: set[str],
                   shapes: dict[str, tuple] | None,
                   spread: dict[str, str]) -> tuple[Contribution, ...]:
    """One contribution per operand that is a value the gradient reaches
    (in an array program, not a dimension's size); none to a stage whose
    terms multiply this stage's adjoint themselves (`_spread`)."""
    spread_to = spread.get(stage.name)
    upstream = spread_to or adjoint_name(stage.name)
    operand_shapes, ranks = None, ()
    if shapes is not None:
        operand_shapes = [shapes.get(op.name, ()) if isinstance(op, Ref) else ()
                          for op in stage.operands]
        ranks = tuple(map(len, operand_shapes))
    contributions = []
    # A row's helpers (its last operands) get no gradient: its rules for
    # the other operands account for them.
    own = stage.operands[:stage.gate.operand_count(len(stage.operands))]
    for index, operand in enumerate(own):
        if not isinstance(operand, Ref) or operand.name not in relevant:
            continue
        if spread.get(operand.name) == upstream and operand.name not in reached:
            reached.add(operand.name)
            continue
        summed = _summed(stage, operand_shapes, index) if shapes is not None else _NOTHING
        contributions.append(Contribution(operand.name, operand.name not in reached, stage,
                                          index, spread_to, ranks, summed))
        reached.add(operand.name)
    return tuple(contributions)


_NOTHING = ((), ())


def _summed(stage: Stage, operand_shapes: list[tuple], index: int) -> tuple:
    """Where broadcasting stretched an operand, its gradient is summed back
    to the operand's shape here, at the stage that spread it, so that no
    row's rule has to."""
    if stage.gate.shape_rule != "elementwise" or operand_shapes[index] == stage.shape:
        return _NOTHING
    return reduced_axes(operand_shapes[index], stage.shape)


