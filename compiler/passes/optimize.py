"""StagedIR -> StagedIR: optional passes that make the staged code smaller.

Each pass is a separate function that takes and returns a StagedIR, keeps
every name the user wrote and the module's interface (inputs, output,
`INPUTS`), and asks the gate rows for every fact it needs:

* `fold_constants`: two stages of one `chain` in a row become one
  (`2 * (3 * x)` is `6 * x`).  The combined constant is rounded once, so a
  folded result may differ from the unfolded one in the last bit.  Folding
  never reaches through a stage the user named (`q = 3 * x; f = 2 * q`
  keeps `q`): named stages are the lecture's stages.
* `eliminate_common`: a stage that repeats an earlier one (same gate, same
  operands, in either order when the row is `commutative`) is dropped and
  its readers read the earlier one; a repeat the user named, or the
  output, is kept as a copy (`q = xpy`), so that every name stays.
* `eliminate_dead`: stages the output does not depend on are dropped,
  user-named ones too: their values are neither returned nor cached, so
  nothing in the module's interface can see them.  An input that only a
  dead stage read stays an input and gets a zero gradient.
* `restrict_gradients` (`--wrt`): `backward` returns only the gradients of
  the named inputs, in that order, and computes only what they need.

`optimize` runs the switched-on passes in that order (folding first, as it
makes repeats visible; dead code last, as the others leave some behind),
and then gives the names gradc made up again (`stage.renamed`), so that a
merged stage leaves no counter behind: `xpysqr`, not `xpy2sqr`.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass, replace

from compiler import gates
from compiler.errors import GradcError
from compiler.gates.snippets import spell
from compiler.passes.stage import Const, Ref, Stage, StagedIR, renamed


@dataclass(frozen=True)
class Passes:
    """Which passes run; the defaults keep the lecture's text unchanged."""

    fold: bool = True
    cse: bool = True
    dce: bool = True
    wrt: tuple[str, ...] | None = None

    @staticmethod
    def none() -> "Passes":
        return Passes(fold=False, cse=False, dce=False)


def optimize(staged: StagedIR, passes: Passes = Passes()) -> StagedIR:
    if passes.fold:
        staged = fold_constants(staged)
    if passes.cse:
        staged = eliminate_common(staged)
    if passes.dce:
        staged = eliminate_dead(staged)
    # A merged or dropped stage can leave a counter in a name (`xpy2sqr`
    # once `xpy2` is `xpy`): the names gradc made up are given again.
    staged = renamed(staged)
    if passes.wrt is not None:
        staged = restrict_gradients(staged, passes.wrt)
    return staged


# -- constant folding --------------------------------------------------------

def fold_constants(staged: StagedIR) -> StagedIR:
    named = _named(staged)
    # Only a stage of a chain can fold into its reader, itself of that chain.
    unnamed: dict[str, Stage] = {}
    stages = []
    for stage in staged.stages:
        if stage.gate.chain is not None:
            stage = _chained(stage, unnamed)
            if stage.name not in named:
                unnamed[stage.name] = stage
        stages.append(stage)
    return replace(staged, stages=tuple(stages))


def _named(staged: StagedIR) -> set[str]:
    """The stages the user wrote a name for, and the output."""
    return set(staged.user_names.values()) | {staged.output}


def _chained(stage: Stage, by_name: dict[str, Stage]) -> Stage:
    if not isinstance(stage.operands[0], Ref):
        return stage
    inner = by_name.get(stage.operands[0].name)
    if inner is None or inner.gate.chain != stage.gate.chain:
        return stage
    combined = gates.CHAINS[stage.gate.chain](inner.constant.value, stage.constant.value)
    integral = inner.constant.integral and stage.constant.integral \
        and float(combined).is_integer() and abs(combined) < 2**53
    return stage._replace(operands=inner.operands, constant=Const(combined, integral))


# -- common subexpressions ---------------------------------------------------

def eliminate_common(staged: StagedIR) -> StagedIR:
    kept_names = _named(staged)
    seen: dict[tuple, str] = {}
    alias: dict[Ref, Ref] = {}  # a dropped repeat -> the stage it repeats
    stages = []
    for stage in staged.stages:
        if alias and not alias.keys().isdisjoint(stage.operands):
            stage = stage._replace(operands=tuple([alias.get(op, op) for op in stage.operands]))
        key = _key(stage)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = stage.name
            stages.append(stage)
        elif stage.name in kept_names:
            stages.append(Stage(stage.name, gates.GATES[gates.COPY], (Ref(earlier),), None,
                                stage.at, stage.shape))
        else:
            alias[Ref(stage.name)] = Ref(earlier)
    return replace(staged, stages=tuple(stages))


def _key(stage: Stage) -> tuple:
    # Operands are keyed by their spelling in the code, so `2` and `2.0`,
    # which print differently, stay apart, as do 0.0 and -0.0.  A name
    # never spells like a number, so the two kinds cannot meet.
    operands = [op.name if isinstance(op, Ref) else spell(op) for op in stage.operands]
    if stage.gate.commutative:
        operands.sort()
    constant = spell(stage.constant) if stage.constant is not None else ""
    return (stage.gate.name, constant, *operands)


# -- dead code ---------------------------------------------------------------

def eliminate_dead(staged: StagedIR) -> StagedIR:
    """Drops the stages the output does not read, but for the named stages a
    rewrite read through: the file wrote them as steps of its own."""
    live = {staged.output, *staged.read_through}
    kept = []
    for stage in reversed(staged.stages):
        if stage.name in live:
            kept.append(stage)
            for operand in stage.operands:
                if isinstance(operand, Ref):
                    live.add(operand.name)
    if len(kept) == len(staged.stages):
        return staged
    return replace(staged, stages=tuple(reversed(kept)))


# -- --wrt -------------------------------------------------------------------

def restrict_gradients(staged: StagedIR, wrt) -> StagedIR:
    """`wrt` names inputs as the formula file writes them, folded as the
    file's names are (`W₁` is `W1`, front/syntax.fold_text)."""
    chosen: list[str] = []
    for name in wrt:
        python = staged.user_names.get(unicodedata.normalize("NFKC", name))
        if python is None or python not in staged.inputs:
            shown = ", ".join(_written(staged, n) for n in staged.inputs)
            raise GradcError(f"--wrt names '{name}', which is not an input: "
                             f"expected one of {shown}")
        if python in staged.labels:
            raise GradcError(f"--wrt names '{name}', which holds class labels: labels are "
                             "data and have no gradient")
        if python in chosen:
            raise GradcError(f"--wrt names '{name}' twice: name each input once")
        chosen.append(python)
    if not chosen:
        raise GradcError("--wrt names no input: expected a list such as --wrt x,y")
    return dataclasses.replace(staged, wrt=tuple(chosen))


def _written(staged: StagedIR, python: str) -> str:
    return next((user for user, name in staged.user_names.items() if name == python), python)
