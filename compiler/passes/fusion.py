"""Fused rows: a formula a row stands for as a whole, read as one stage.

A row's `fuses` spell, over its operands' letters `a` and `b`, formulas the
lowering reads as one stage of that row: the binary cross-entropy of a
logit, `-b*log(σ(a)) - (1 - b)*log(1 - σ(a))`, is one `bce` stage of `a`
and `b`, whose backward line is the lecture's.  A spelling matches a
subtree of the file's formula gate by gate: a letter stands for any
subtree, the same one wherever it recurs; numbers match by value (`1.0 - y`
is `1 - y`); a commutative row's operands match in either order; and a
call such as `σ(a)` also matches a stage the file named for it (`ŷ = σ(z)`,
then `log(ŷ)`), whose operand the letter then stands for.

Only the table's spellings match, and the largest subtree first, so a
fused formula inside a larger one is read as the larger one's.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

from compiler import gates
from compiler.front.syntax import Apply, Expr, Name, Number, fold
from compiler.passes.values import Ref


class StageValue(Name):
    """A value the lowering already holds (a named stage's operand), as a
    leaf of a formula: its `id` is the value's Python name."""


class Fused(NamedTuple):
    """A spelling of a fused row, parsed."""

    gate: str
    formula: Expr


@lru_cache(maxsize=None)
def fused_spellings() -> tuple[Fused, ...]:
    """Every row's spellings, the longest first, so that a larger formula
    is tried before one that may lie inside it."""
    from compiler.front.parse import parse  # the parser needs the table loaded
    found = [Fused(row.name, parse(f"f = {text}")[-1].value)
             for row in gates.GATES.values() for text in row.fuses]
    return tuple(sorted(found, key=lambda fused: -_size(fused.formula)))


def may_fuse(called) -> bool:
    """Whether a file that calls these rows (by name) can spell a fused
    row at all: every spelling calls functions, which it then calls too."""
    return any(_calls(fused.formula) <= set(called) for fused in fused_spellings())


def _calls(node: Expr) -> set[str]:
    if not isinstance(node, Apply):
        return set()
    own = {_pattern_gate(node)} if node.is_call else set()
    return own.union(*map(_calls, node.args))


def _size(node: Expr) -> int:
    return 1 + sum(map(_size, node.args)) if isinstance(node, Apply) else 1


class Matcher:
    """Matches the spellings against a file's formula.

    `gate_of(node)`: the row a node of the file means.  `stage_of(name)`:
    for a name of the file, the named stage it is (stage.Stage), or None.
    `value_of(leaf)`: what a name or number of the file stands for."""

    def __init__(self, gate_of: Callable[[Apply], str], stage_of: Callable[[str], object],
                 value_of: Callable[[Name], object]):
        self.gate_of, self.stage_of, self.value_of = gate_of, stage_of, value_of
        self.read_through: set[str] = set()

    def rewrite(self, root: Expr) -> Expr:
        """The formula with each subtree that spells a fused row replaced
        by one call of that row (an operator node of its name), its
        operands the letters' subtrees."""
        def apply(node: Apply, args: list) -> Expr:
            fused = self.fused(node)
            if fused is not None:
                return fused
            if all(new is old for new, old in zip(args, node.args)):
                return node
            return node._replace(args=tuple(args))
        return fold(root, lambda leaf: leaf, apply)

    def fused(self, node: Apply) -> Apply | None:
        for spelling in fused_spellings():
            letters: dict[str, Expr] = {}
            through: set[str] = set()
            if self._match(spelling.formula, node, letters, through):
                self.read_through |= through
                operands = tuple(letters[letter] for letter in "ab" if letter in letters)
                return Apply(spelling.gate, operands, node.span, node.func_span)
        return None

    def _match(self, pattern: Expr, node: Expr, letters: dict, through: set) -> bool:
        if isinstance(pattern, Name):
            if pattern.id not in letters:
                letters[pattern.id] = node
                return True
            return self._same(letters[pattern.id], node)
        if isinstance(pattern, Number):
            return isinstance(node, Number) and node.value == pattern.value
        gate = _pattern_gate(pattern)
        if isinstance(node, Name) and not isinstance(node, StageValue):
            return self._match_stage(pattern, gate, node, letters, through)
        if not isinstance(node, Apply) or self.gate_of(node) != gate \
                or len(node.args) != len(pattern.args):
            return False
        orders = [node.args]
        if gates.GATES[gate].commutative:
            orders.append(node.args[::-1])
        for args in orders:
            tried, seen = dict(letters), set(through)
            if all(self._match(p, arg, tried, seen) for p, arg in zip(pattern.args, args)):
                letters.update(tried)
                through.update(seen)
                return True
        return False

    def _match_stage(self, pattern: Apply, gate: str, node: Name, letters, through) -> bool:
        """`σ(a)` against a name the file gave a stage of σ: its operands."""
        stage = self.stage_of(node.id)
        if stage is None or stage.gate.name != gate or len(stage.operands) != len(pattern.args) \
                or not all(isinstance(op, Ref) for op in stage.operands):
            return False
        operands = [StageValue(op.name, node.span) for op in stage.operands]
        if all(self._match(p, arg, letters, through) for p, arg in zip(pattern.args, operands)):
            through.add(stage.name)
            return True
        return False

    def _same(self, one: Expr, other: Expr) -> bool:
        """Whether two subtrees compute the same value: the same names'
        values, the same numbers, the same rows of the same operands."""
        if isinstance(one, Apply) or isinstance(other, Apply):
            return isinstance(one, Apply) and isinstance(other, Apply) \
                and self.gate_of(one) == self.gate_of(other) \
                and len(one.args) == len(other.args) \
                and all(map(self._same, one.args, other.args))
        if isinstance(one, Number) or isinstance(other, Number):
            return isinstance(one, Number) and isinstance(other, Number) \
                and one.value == other.value
        return self._value(one) == self._value(other)

    def _value(self, leaf: Name):
        return Ref(leaf.id) if isinstance(leaf, StageValue) else self.value_of(leaf)


def _pattern_gate(node: Apply) -> str:
    return gates.lookup(node.func).name if node.is_call else node.func
