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

import functools
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


class _Arrays(NamedTuple):
    """An array program's stage: the adjoint its contributions multiply
    (`Contribution.spread_to`), its operands' ranks, and where each
    operand's gradient is summed back (`Contribution.summed`)."""

    spread_to: str | None
    ranks: tuple[int, ...]
    summed: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    """By operand index."""


class Block(NamedTuple):
    """A stage the gradient reaches, and the contributions its adjoint makes
    to its operands.  They are made when asked: a file of 10^6 stages would
    otherwise hold a record for each of its 1.5 million contributions."""

    stage: Stage
    reaches: int
    """Two bits per operand, from the first: 1 where the operand receives a
    contribution, 2 where that is its first (`shares` reads them)."""
    arrays: _Arrays | None = None
    """In an array program, what its contributions add (`_Arrays`); None
    in a number's program."""

    @property
    def shares(self) -> tuple[tuple[int, bool], ...]:
        """(operand index, first) of each contribution, in operand order."""
        return _shares(self.reaches)

    @property
    def contributions(self) -> tuple[Contribution, ...]:
        stage, operands = self.stage, self.stage.operands
        spread_to, ranks, summed = self.arrays or (None, (), None)
        return tuple([Contribution(operands[index].name, first, stage, index, spread_to, ranks,
                                   summed[index] if summed else _NOTHING)
                      for index, first in _shares(self.reaches)])


@functools.cache
def _shares(reaches: int) -> tuple[tuple[int, bool], ...]:
    shares, index = [], 0
    while reaches:
        if reaches & 1:
            shares.append((index, bool(reaches & 2)))
        reaches >>= 2
        index += 1
    return tuple(shares)


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
        if stage.name in reached and stage.name in relevant:
            reaches = _reaches(stage, reached, relevant, spread)
            blocks.append(_block(stage, reaches) if shapes is None
                          else Block(stage, reaches, _arrays(stage, shapes, spread)))
    return AdjointIR(
        staged=staged,
        blocks=tuple(blocks),
        zero=tuple(name for name in staged.gradient_inputs if name not in reached),
    )


def _block(stage: Stage, reaches: int) -> Block:
    # Once per stage of a formula of 10^6 gates: the tuple made without
    # Block's own __new__.
    return _new_block(Block, (stage, reaches, None))


_new_block = tuple.__new__


def _relevant(staged: StagedIR) -> set[str]:
    """The values that depend on an input whose gradient is asked for (all
    of them, or `wrt`'s): no other value's adjoint can reach one, so the
    sizes of dimensions and the stages made of them get none."""
    relevant = set(staged.gradient_inputs)
    for stage in staged.stages:
        for operand in stage.operands:
            if isinstance(operand, Ref) and operand.name in relevant:
                relevant.add(stage.name)
                break
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


def _reaches(stage: Stage, reached: set[str], relevant: set[str],
             spread: dict[str, str]) -> int:
    """`Block.reaches`: a contribution to each operand that is a value the
    gradient reaches (in an array program, not a dimension's size); none to
    a stage whose terms multiply this stage's adjoint themselves
    (`_spread`)."""
    upstream = spread and (spread.get(stage.name) or adjoint_name(stage.name))
    reaches = 0
    # A row's helpers (its last operands) get no gradient: its rules for
    # the other operands account for them.
    operands = stage.operands
    for index in range(stage.gate.operand_count(len(operands))):
        operand = operands[index]
        if not isinstance(operand, Ref) or operand.name not in relevant:
            continue
        name = operand.name
        if name in reached:
            reaches |= 1 << 2 * index
        elif spread and spread.get(name) == upstream:
            reached.add(name)
        else:
            reaches |= 3 << 2 * index
            reached.add(name)
    return reaches


def _arrays(stage: Stage, shapes: dict[str, tuple], spread: dict[str, str]) -> _Arrays:
    operand_shapes = [shapes.get(op.name, ()) if isinstance(op, Ref) else ()
                      for op in stage.operands]
    return _Arrays(spread.get(stage.name), tuple(map(len, operand_shapes)),
                   tuple(_summed(stage, operand_shapes, index) if isinstance(op, Ref)
                         else _NOTHING for index, op in enumerate(stage.operands)))


_NOTHING = ((), ())


def _summed(stage: Stage, operand_shapes: list[tuple], index: int) -> tuple:
    """Where broadcasting stretched an operand, its gradient is summed back
    to the operand's shape here, at the stage that spread it, so that no
    row's rule has to."""
    if stage.gate.shape_rule != "elementwise" or operand_shapes[index] == stage.shape:
        return _NOTHING
    return reduced_axes(operand_shapes[index], stage.shape)


