"""Stages and contributions -> code, for one target and style.

The AdjointIR says which row's rule applies to which operand; a
`StagePrinter` has the target's printer (printers.py) print each of the
row's trees once, then fills it for each stage with the stage's names and
printed constants.  Each printed local gradient says which forward values
it reads, so that the cache follows from what was printed, as the imports
do from what the printer printed.
"""

from __future__ import annotations

import math
from itertools import chain
from operator import attrgetter
from typing import NamedTuple

from compiler.emit.printers import UfuncCall, printer
from compiler.gates.expr import Expr, Field, Number, fields
from compiler.gates.snippets import placeholders, value_placeholders
from compiler.gates.targets import TARGETS
from compiler.passes.adjoint import Contribution, adjoint_name
from compiler.passes.stage import Const, Ref, Stage, StagedIR


class Local(NamedTuple):
    """A contribution's local gradient, printed."""

    code: str
    """`(1 - sigx) * sigx`."""
    reads: tuple[str, ...]
    """The forward values the code reads."""
    number: float | None
    """The value, when the code is a number (`1`, `-1`, a constant `{c}`):
    a unit factor is dropped and a number folds into its readers, decided
    from the row's tree and the stage's constants, not from the code."""
    call: UfuncCall | None = None
    """For a blocked target, the ufunc the code computes last, so that a
    block of points can compute it into its result (blocks.py)."""
    tree: Expr | None = None
    """The row's tree the code prints, as the target computes it, with its
    placeholders; `values` fills them (terms.filled)."""
    values: dict[str, str] | None = None
    """What each placeholder of `tree` stands for: the stage's values."""

    @property
    def inner(self) -> str:
        return unparenthesized(self.code, self.number)


class StagePrinter:
    def __init__(self, target: str = "math", compact: bool = False,
                 taken: frozenset[str] | None = None, module: str | None = None,
                 names: dict[str, str] | None = None):
        """`taken`: the names the module gives to values; when set, and the
        target prints bare calls, a call to a function of the target's
        module whose name is not taken is printed bare.  `module`: the name
        the generated module gives the target's module (`np_` where a value
        of the file is called `np`); `names`: the module's own names, of
        which the code reads the target's `own_values` (`dtype`)."""
        self.spec = TARGETS[target]
        own = {name: (names or {}).get(name, name) for name in self.spec.own_values}
        self.own = own
        self.code = printer(target, module or self.spec.alias,
                            taken if taken is not None and self.spec.bare_calls else None, own)
        self.target, self.compact = target, compact
        self.calls = self.spec.blocked
        self._plans: dict[int, tuple] = {}
        self._line_plans: dict[tuple, tuple] = {}
        self._rows: dict[tuple, tuple] = {}
        self._calls: dict[int, tuple] = {}
        self.reads: set[str] = set()
        """The forward values the local gradients printed so far read."""
        self.keep_trees = False
        """Whether each Local keeps its tree and values, which a file of
        10^5 gates would otherwise hold all at once: for jvp and hvp."""

    def values(self, stage: Stage) -> dict[str, str]:
        """What each placeholder of the stage's code stands for: worked out
        once per stage, for its forward code and its local gradients."""
        return placeholders(stage.gate, stage.operands, stage.constant, out=stage.name,
                            floats=self.compact)

    def over_numbers(self, stage: Stage, code: str) -> str:
        """The forward code of a stage that depends on no input (a size, a
        named constant), where the target's functions take arrays only:
        the array API's `xp.sqrt(D)` refuses the int D, so a stage that
        calls one reads its operands as arrays of the inputs' type."""
        module = self.code.module + "."
        if module not in code:
            return code
        dtype, device = self.own["dtype"], self.own["device"]
        arrays = [Ref(f"{module}asarray({op.name}, dtype={dtype}, device={device})")
                  if isinstance(op, Ref) else op for op in stage.operands]
        return self.forward(stage, placeholders(stage.gate, arrays, stage.constant,
                                                out=stage.name, floats=self.compact))

    def forward(self, stage: Stage, values: dict[str, str] | None = None) -> str:
        tree = stage.gate.forward_tree(len(stage.operands), self.target, self.compact)
        return self.code(tree).format_map(values or self.values(stage))

    def stage(self, stage: Stage, contributions: tuple[Contribution, ...]
              ) -> tuple[str, tuple[Local, ...]]:
        """A stage's forward code and the local gradient of each of its
        contributions, its row's trees asked once."""
        forward, trees = stage.gate.trees(len(stage.operands), self.target, self.compact)
        values = self.values(stage)
        code = self.code(forward).format_map(values)
        return code, self._locals(stage, contributions, values, trees) if contributions else ()

    def lecture_stage(self, stage: Stage, shares: tuple[tuple[int, bool], ...],
                      accumulate: str) -> tuple[str, tuple[str, ...]]:
        """A stage's forward code, and the backward line of each of its
        contributions (`Block.shares`) as the lecture writes it, `dx +=
        ((1 - sigx) * sigx) * dsigx`: each line filled at once from the
        stage's values, with no `Local` made on the way.  For a file of
        numbers, whose every contribution carries its stage's own adjoint."""
        operands = stage.operands
        _, template, trees = self._rows.get((id(stage.gate), len(operands))) \
            or self._row(stage.gate, len(operands))
        values = self.values(stage)
        code = template.format_map(values)
        if not shares:
            return code, ()
        plans, read = self._line_plans, self.reads.update
        lines = []
        for index, first in shares:
            tree = trees[index]
            name_line, other_line, lone, fields = plans.get((id(tree), index, first)) \
                or self._line_plan(stage.gate, tree, index, first, accumulate)
            read([values[field] for field, at in fields
                  if at < 0 or isinstance(operands[at], Ref)])
            line = name_line if lone is not None and values[lone].isidentifier() \
                else other_line
            lines.append(line.format_map(values) if line is not None else lecture_text(
                adjoint_name(operands[index].name), self.code(tree).format_map(values),
                adjoint_name(stage.name), first, accumulate))
        return code, tuple(lines)

    def _row(self, gate, count: int) -> tuple:
        """A row's forward code and local trees for a stage of `count`
        operands, asked of the row once (the row kept, so that its `id`
        names no other)."""
        forward, trees = gate.trees(count, self.target, self.compact)
        known = self._rows[id(gate), count] = (gate, self.code(forward), trees)
        return known

    def _line_plan(self, gate, tree: Expr, index: int, first: bool, accumulate: str) -> tuple:
        """`lecture_stage`'s plan of one contribution's line, worked out once
        per row, operand and `=` or `+=`: the line as a template with its
        factor bare, as one in parentheses, the placeholder whose value is
        the factor where it is one placeholder (a name, or a number, put in
        parentheses), and the placeholders of the forward values it reads.
        Where the factor's text cannot tell, the lines are None, and each
        line is made from its printed factor (`lecture_text`)."""
        template = self.code(tree)
        target = f"a{index}" if gate.variadic else _LETTERS[index:index + 1]
        upstream = adjoint_name("{out}")

        def line(term: str) -> str:
            return assigned(adjoint_name("{%s}" % target), term, first, accumulate)

        bare, parenthesized = line(f"{template} * {upstream}"), line(f"({template}) * {upstream}")
        filled = set(fields(tree))
        around = template
        for field in filled:
            around = around.replace("{%s}" % field, "")
        if not target:  # no placeholder of its own: made from the printed factor
            lines = None, None, None
        elif len(filled) == 1 and not around:
            lines = bare, parenthesized, filled.pop()
        elif not filled:  # a number, or a name
            lines = (bare if template.isidentifier() else parenthesized,) * 2 + (None,)
        elif not ("x" + around).isidentifier():  # text beside them that no name has
            lines = parenthesized, parenthesized, None
        else:
            lines = None, None, None
        plan = self._line_plans[id(tree), index, first] = \
            (*lines, value_placeholders(self.code.lower(tree)))
        return plan

    def locals(self, stage: Stage, contributions: tuple[Contribution, ...],
               values: dict[str, str] | None = None) -> tuple[Local, ...]:
        """The local gradient of each contribution of one stage."""
        trees = stage.gate.local_trees(len(stage.operands), self.target, self.compact)
        return self._locals(stage, contributions, values or self.values(stage), trees)

    def _locals(self, stage: Stage, contributions, values: dict[str, str], trees
                ) -> tuple[Local, ...]:
        # Run once per contribution of a formula of 10^5 gates: the names
        # this loop reads are bound here, once per stage.
        plans, operands, calls, read = self._plans, stage.operands, self.calls, self.reads.update
        kept = values if self.keep_trees else None
        printed = []
        for contribution in contributions:
            tree = trees[contribution.index]
            template, fields, number, lowered = plans.get(id(tree)) or self._plan(tree)
            reads = tuple([values[field] for field, index in fields
                           if index < 0 or isinstance(operands[index], Ref)])
            read(reads)
            printed.append(Local(template.format_map(values), reads,
                                 number and _number(number, stage),
                                 self._call(tree, values) if calls else None, lowered, kept))
        return tuple(printed)

    def number_locals(self, stage: Stage, contributions: tuple[Contribution, ...],
                      values: dict[str, str] | None = None) -> tuple[Local | None, ...]:
        """The local gradient of each contribution whose operands are
        numbers; None for one over arrays, or of a row with a rule of its
        own for arrays (`Gate.vjp`), whose term is that rule."""
        return tuple(None if any(c.ranks) or stage.gate.vjp is not None
                     else self.locals(stage, (c,), values)[0] for c in contributions)

    def _plan(self, tree: Expr) -> tuple:
        """What printing a local gradient needs, worked out once per tree:
        its template, the placeholders of forward values, and where its
        value comes from when it is a number."""
        lowered = self.code.lower(tree)
        plan = self._plans[id(tree)] = (self.code(tree), value_placeholders(lowered),
                                        _number_source(tree), lowered)
        return plan

    def call(self, stage: Stage) -> UfuncCall | None:
        """The ufunc a stage's forward code computes last, if there is one."""
        tree = stage.gate.forward_tree(len(stage.operands), self.target, self.compact)
        values = placeholders(stage.gate, stage.operands, stage.constant, floats=self.compact)
        source = _number_source(tree)
        number = None if source is None else _number(source, stage)
        if number is not None:
            return number_call(self.code(tree).format_map(values), number)
        return self._call(tree, values)

    def _call(self, tree: Expr, values: dict[str, str]) -> UfuncCall | None:
        known = self._calls.get(id(tree))
        if known is None:
            known = self._calls[id(tree)] = (tree, self._call_plan(tree))
        if known[1] is None:
            return None
        ufunc, operands = known[1]
        # An operand that is one placeholder may be a negative number, whose
        # parentheses an argument does not need.
        return ufunc, tuple(values[text].strip("()") if lone else text.format_map(values)
                            for lone, text in operands)

    def _call_plan(self, tree: Expr) -> tuple | None:
        """The ufunc a tree computes last, and each operand as (whether it
        is one placeholder, its name or its template), worked out once."""
        call = self.code.ufunc_call(tree)
        if call is None:
            return None
        ufunc, operands = call
        return ufunc, tuple((True, op.name) if isinstance(op, Field)
                            else (False, self.code.print(op)) for op in operands)

    def modules(self) -> tuple[str, ...]:
        """The module the code printed so far calls into, if it does."""
        used = self.spec.always_imports or self.code.calls_module
        return (self.spec.module,) if used else ()

    def own_functions(self) -> tuple[str, ...]:
        """The functions of the module's own that the code printed so far
        calls (NumbaPrinter), in order."""
        return tuple(sorted(getattr(self.code, "own_calls", ())))

    def bare_import(self) -> str:
        """`from math import exp, log` for the calls printed bare, or nothing."""
        names = sorted(self.code.bare_names)
        return f"from {self.spec.module} import {', '.join(names)}" if names else ""


def lecture_text(target: str, factor: str, upstream: str, first: bool,
                 accumulate: str) -> str:
    """A lecture's backward line: the local factor times the upstream, the
    factor bare where it is a name and in parentheses otherwise (`(1) *
    dden`, `invden * df`)."""
    term = f"{factor} * {upstream}" if factor.isidentifier() else f"({factor}) * {upstream}"
    return assigned(target, term, first, accumulate)


def assigned(target: str, term: str, first: bool, accumulate: str) -> str:
    """`dx = term` for the target's first contribution, the target's
    accumulation (`dx += term`) for the others."""
    return f"{target} = {term}" if first else accumulate.format(target, term)


_LETTERS = "ab"


def cached(staged: StagedIR, reads) -> tuple[str, ...]:
    """The values the printed backward code reads, in forward order:
    what forward must cache."""
    read = reads if isinstance(reads, (set, frozenset)) else set(reads)
    order = chain(staged.inputs, staged.dims, map(attrgetter("name"), staged.stages))
    return tuple(filter(read.__contains__, order))


def unparenthesized(code: str, number: float | None) -> str:
    """Code as a function's argument: a negative number without the
    parentheses it is printed in (snippets.format_number)."""
    return code.strip("()") if number is not None else code


def number_call(code: str, number: float) -> UfuncCall | None:
    """A negative number is NumPy's negation of its magnitude."""
    if math.copysign(1.0, number) > 0:  # -0.0 prints with its sign too
        return None
    return "negative", (unparenthesized(code, number).removeprefix("-"),)


def _number_source(tree: Expr) -> tuple[str, float | int] | None:
    """Where the value of code that may be a number comes from: the code
    itself (`1`, `-1`: ("literal", 1.0)), or its one placeholder, the
    constant (`{c}`: ("constant", 0)) or an operand (`{b}`: ("operand", 1))."""
    if isinstance(tree, Number):
        return "literal", tree.value
    if tree == Field("c"):
        return "constant", 0
    found = value_placeholders(tree) if isinstance(tree, Field) else ()
    return ("operand", found[0][1]) if found and found[0][1] >= 0 else None


def _number(source: tuple[str, float | int], stage: Stage) -> float | None:
    """The value of code whose `_number_source` is `source`, if a number."""
    kind, value = source
    if kind == "literal":
        return value
    operand = stage.constant if kind == "constant" else stage.operands[value]
    if not isinstance(operand, Const):
        return None
    # inf and nan print as names, and a name is no number to fold.
    return operand.value if math.isfinite(operand.value) or operand.value < 0 else None
