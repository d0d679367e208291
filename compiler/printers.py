"""Stages and contributions -> code, for one scalar target and style.

The AdjointIR says which row's rule applies to which operand; a `Printer`
fills the row's snippets for its target (math, numpy, numba) and style
(the compact style's forms and float constants), once per stage.  Every
snippet it prints is recorded, so that the module's imports follow from
what was printed, and each printed local gradient says which forward values
it reads, so that the cache does too.  With `bare` (the compact style of
a target that asks for it) calls into the target's module are printed by
their bare names (`exp(x)`, after `from math import exp`): one lookup
fewer per call.
"""

from __future__ import annotations

import functools
import math
import re
import string
from typing import NamedTuple

from .adjoint import Contribution
from .snippets import fields, value_placeholders
from .stage import Const, Ref, Stage, StagedIR
from .targets import TARGETS


class Local(NamedTuple):
    """A contribution's local gradient, printed."""

    code: str
    """`(1 - sigx) * sigx`."""
    reads: tuple[str, ...]
    """The forward values the code reads."""
    number: float | None
    """The value, when the code is a number (`1`, `-1`, a constant `{c}`):
    a unit factor is dropped and a number folds into its readers, decided
    from the row's snippet and the stage's constants, not from the code."""


class Printer:
    def __init__(self, target: str = "math", compact: bool = False,
                 taken: frozenset[str] | None = None):
        """`taken`: the names the module gives to values; when set, and the
        target prints bare calls, a call to a function of the target's
        module whose name is not taken is printed bare."""
        self.spec = TARGETS[target]
        self.target, self.compact = target, compact
        self.bare = taken is not None and self.spec.bare_calls
        self._taken = taken or frozenset()
        self._printed: dict[str, str] = {}
        """Each row snippet printed, as this printer spells it."""

    def forward(self, stage: Stage) -> str:
        snippet = stage.gate.forward_snippet(len(stage.operands), self.target, self.compact)
        return self._spelled(snippet).format_map(
            fields(stage.gate, stage.operands, stage.constant, floats=self.compact))

    def locals(self, stage: Stage, contributions: tuple[Contribution, ...]) -> tuple[Local, ...]:
        """The local gradient of each contribution of one stage."""
        snippets = stage.gate.local_snippets(len(stage.operands), self.target, self.compact)
        values = fields(stage.gate, stage.operands, stage.constant, out=stage.name,
                        floats=self.compact)
        printed = []
        for contribution in contributions:
            snippet = snippets[contribution.index]
            printed.append(Local(
                self._spelled(snippet).format_map(values),
                tuple([values[field] for field, index in value_placeholders(snippet)
                       if index < 0 or isinstance(stage.operands[index], Ref)]),
                _number(snippet, stage)))
        return tuple(printed)

    def _spelled(self, snippet: str) -> str:
        spelled = self._printed.get(snippet)
        if spelled is None:
            spelled = self._printed[snippet] = self._bare(snippet) if self.bare else snippet
        return spelled

    def _bare(self, snippet: str) -> str:
        return _calls(self.spec.prefix).sub(
            lambda call: call[0] if call[1] in self._taken else call[1] + "(", snippet)

    def imports(self) -> tuple[str, ...]:
        """What the module imports for the code printed so far."""
        used = self.spec.always_imports or any(
            self.spec.prefix in spelled for spelled in self._printed.values())
        return (self.spec.module,) if used else ()

    def bare_import(self) -> str:
        """`from math import exp, log` for the calls printed bare, or nothing."""
        if not self.bare:
            return ""
        names = sorted({name for snippet in self._printed
                        for name in _calls(self.spec.prefix).findall(snippet)} - self._taken)
        return f"from {self.spec.module} import {', '.join(names)}" if names else ""


def local_gradient(contribution: Contribution, target: str = "math") -> Local:
    """One contribution's local gradient, for the tools that show or run
    the lecture's code (trace, explain)."""
    return Printer(target).locals(contribution.stage, (contribution,))[0]


def cached(staged: StagedIR, reads) -> tuple[str, ...]:
    """The values the printed backward code reads, in forward order:
    what forward must cache."""
    read = set(reads)
    order = list(staged.inputs) + [stage.name for stage in staged.stages]
    return tuple(name for name in order if name in read)


@functools.cache
def _calls(prefix: str) -> re.Pattern:
    """A call into the target's module in a row's snippet: `math.exp(`."""
    return re.compile(rf"(?<![\w.]){re.escape(prefix)}(\w+)\(")


def _number(snippet: str, stage: Stage) -> float | None:
    literal = _literal(snippet)
    if literal is not None:
        return literal
    field = _lone_field(snippet)
    if field is None:
        return None
    if field == "c":
        operand = stage.constant
    else:
        index = value_placeholders(snippet)[0][1]
        operand = stage.operands[index] if index >= 0 else None
    if not isinstance(operand, Const):
        return None
    # inf and nan print as names, and a name is no number to fold.
    return operand.value if math.isfinite(operand.value) or operand.value < 0 else None


@functools.cache
def _literal(snippet: str) -> float | None:
    """The value of a snippet that is a number, such as `1` or `-1`."""
    try:
        return float(snippet) if snippet[-1:].isdigit() else None
    except ValueError:
        return None


@functools.cache
def _lone_field(snippet: str) -> str | None:
    """The placeholder a snippet is made of alone, as `{c}` or `{b}`."""
    parts = list(string.Formatter().parse(snippet))
    if len(parts) == 1 and not parts[0][0] and parts[0][1] and not parts[0][2]:
        return parts[0][1]
    return None
