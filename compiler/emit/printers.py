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

import ast
import functools
import math
import re
import string
from typing import NamedTuple

from compiler.passes.adjoint import Contribution
from compiler.gates.snippets import fields, value_placeholders
from compiler.passes.stage import Const, Ref, Stage, StagedIR
from compiler.emit.respell import respeller
from compiler.gates.targets import TARGETS


Call = tuple[str, tuple[str, ...]]
"""A NumPy ufunc's name and the code of its operands: `("multiply", ("x", "y"))`."""


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
    call: Call | None = None
    """For a blocked target, the ufunc the code computes last, so that a
    block of points can compute it into its result (blocks.py)."""

    @property
    def inner(self) -> str:
        return unparenthesized(self.code, self.number)


class Printer:
    def __init__(self, target: str = "math", compact: bool = False,
                 taken: frozenset[str] | None = None, module: str | None = None,
                 names: dict[str, str] | None = None):
        """`taken`: the names the module gives to values; when set, and the
        target prints bare calls, a call to a function of the target's
        module whose name is not taken is printed bare.  `module`: the name
        the generated module gives the target's module (`np_` where a value
        of the file is called `np`); the table's snippets are spelled with
        it before they are filled, and with `names`' spelling of the target's
        own names that gate code reads (`dtype`)."""
        self.spec = TARGETS[target]
        own = {name: (names or {}).get(name, name) for name in self.spec.own_values}
        renamed = module is not None and module + "." != self.spec.prefix \
            or any(name != spelled for name, spelled in own.items())
        self._module = respeller(self.spec.prefix, (module or self.spec.alias) + ".", own) \
            if renamed else None
        self._prefix = module + "." if module is not None else self.spec.prefix
        """How printed code calls the target's module."""
        self.target, self.compact = target, compact
        self.bare = taken is not None and self.spec.bare_calls
        self._taken = taken or frozenset()
        self.calls = self.spec.blocked
        self._printed: dict[str, str] = {}
        """Each row snippet printed, as this printer spells it."""
        self._plans: dict[str, tuple] = {}
        self.reads: set[str] = set()
        """The forward values the local gradients printed so far read."""

    def values(self, stage: Stage) -> dict[str, str]:
        """What each placeholder of the stage's snippets stands for: worked
        out once per stage, for its forward code and its local gradients."""
        return fields(stage.gate, stage.operands, stage.constant, out=stage.name,
                      floats=self.compact)

    def forward(self, stage: Stage, values: dict[str, str] | None = None) -> str:
        snippet = stage.gate.forward_snippet(len(stage.operands), self.target, self.compact)
        return self._spelled(snippet).format_map(values or self.values(stage))

    def locals(self, stage: Stage, contributions: tuple[Contribution, ...],
               values: dict[str, str] | None = None) -> tuple[Local, ...]:
        """The local gradient of each contribution of one stage."""
        snippets = stage.gate.local_snippets(len(stage.operands), self.target, self.compact)
        values = values or self.values(stage)
        # Run once per contribution of a formula of 10^5 gates: the names
        # this loop reads are bound here, once per stage.
        plans, operands, calls, read = self._plans, stage.operands, self.calls, self.reads.update
        printed = []
        for contribution in contributions:
            snippet = snippets[contribution.index]
            spelled, placeholders, number = plans.get(snippet) or self._plan(snippet)
            reads = tuple([values[field] for field, index in placeholders
                           if index < 0 or isinstance(operands[index], Ref)])
            read(reads)
            printed.append(Local(spelled.format_map(values), reads,
                                 number and _number(number, stage),
                                 self._call(snippet, values) if calls else None))
        return tuple(printed)

    def _plan(self, snippet: str) -> tuple:
        """What printing a local-gradient snippet needs, worked out once per
        snippet: its spelling, the placeholders of forward values, and
        where its value comes from when it is a number."""
        plan = self._plans.get(snippet)
        if plan is None:
            plan = self._plans[snippet] = (self._spelled(snippet),
                                           value_placeholders(snippet), _number_source(snippet))
        return plan

    def call(self, stage: Stage) -> Call | None:
        """The ufunc a stage's forward code computes last, if there is one."""
        snippet = stage.gate.forward_snippet(len(stage.operands), self.target, self.compact)
        values = fields(stage.gate, stage.operands, stage.constant, floats=self.compact)
        source = _number_source(snippet)
        number = None if source is None else _number(source, stage)
        if number is not None:
            return number_call(self._spelled(snippet).format_map(values), number)
        return self._call(snippet, values)

    def _spelled(self, snippet: str) -> str:
        spelled = self._printed.get(snippet)
        if spelled is None:
            spelled = self._bare(snippet) if self.bare else snippet
            if self._module is not None:
                spelled = self._module(spelled)
            self._printed[snippet] = spelled
        return spelled

    def _call(self, snippet: str, values: dict[str, str]) -> Call | None:
        """The ufunc call, read from the table's own spelling, with its
        operands in the module's."""
        call = _call(snippet, values)
        if call is None or self._module is None:
            return call
        return call[0], tuple(map(self._module, call[1]))

    def _bare(self, snippet: str) -> str:
        return _calls(self.spec.prefix).sub(
            lambda call: call[0] if call[1] in self._taken else call[1] + "(", snippet)

    def modules(self) -> tuple[str, ...]:
        """The module the code printed so far calls into, if it does."""
        used = self.spec.always_imports or any(
            self._prefix in spelled for spelled in self._printed.values())
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
    order = list(staged.inputs) + list(staged.dims) + [stage.name for stage in staged.stages]
    return tuple(name for name in order if name in read)


def unparenthesized(code: str, number: float | None) -> str:
    """Code as a function's argument: a negative number without the
    parentheses it is printed in (snippets.format_number)."""
    return code.strip("()") if number is not None else code


def number_call(code: str, number: float) -> Call | None:
    """A negative number is NumPy's negation of its magnitude."""
    if math.copysign(1.0, number) > 0:  # -0.0 prints with its sign too
        return None
    return "negative", (unparenthesized(code, number).removeprefix("-"),)


def _call(snippet: str, values: dict[str, str]) -> Call | None:
    form = _ufunc_form(snippet)
    if form is None:
        return None
    ufunc, operands = form
    # An operand that is one placeholder may be a negative number, whose
    # parentheses an argument does not need.
    return ufunc, tuple(values[field].strip("()") if (field := _lone_field(operand))
                        else operand.format_map(values) for operand in operands)


# The ufunc NumPy runs for each operator that gate code writes.
_OPERATORS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply",
              ast.Div: "divide", ast.USub: "negative"}


@functools.cache
def _ufunc_form(snippet: str) -> tuple[str, tuple[str, ...]] | None:
    """The ufunc a row's NumPy snippet computes last and its operands'
    snippets, or None.  Read from the table's snippet, once: a placeholder
    such as `{a}` parses as an atom, as the name or number it stands for
    does, so the filled code has the same outermost operation."""
    node = ast.parse(snippet, mode="eval").body
    if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in _OPERATORS:
        operands = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.operand]
        ufunc = _OPERATORS[type(node.op)]
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
          and isinstance(node.func.value, ast.Name) and node.func.value.id == "np"
          and not node.keywords and _is_ufunc(node.func.attr)):
        ufunc, operands = node.func.attr, node.args
    else:
        return None
    return ufunc, tuple(ast.get_source_segment(snippet, op) for op in operands)


def _is_ufunc(name: str) -> bool:
    # Imported here: only numpy snippets come this far, and a compile for
    # another target should not pay for importing NumPy.
    import numpy
    return isinstance(getattr(numpy, name, None), numpy.ufunc)


@functools.cache
def _calls(prefix: str) -> re.Pattern:
    """A call into the target's module in a row's snippet: `math.exp(`."""
    return re.compile(rf"(?<![\w.]){re.escape(prefix)}(\w+)\(")


@functools.cache
def _number_source(snippet: str) -> tuple[str, float | int] | None:
    """Where the value of a snippet that may be a number comes from: the
    snippet itself (`1`, `-1`: ("literal", 1.0)), or its one placeholder,
    a constant (`{c}`: ("constant", 0)) or an operand (`{b}`: ("operand", 1))."""
    field = _lone_field(snippet)
    if field == "c":
        return "constant", 0
    if field is not None:
        found = value_placeholders(snippet)
        return ("operand", found[0][1]) if found and found[0][1] >= 0 else None
    try:
        return "literal", float(snippet)
    except ValueError:
        return None


def _number(source: tuple[str, float | int], stage: Stage) -> float | None:
    """The value of a snippet whose `_number_source` is `source`, if a number."""
    kind, value = source
    if kind == "literal":
        return value
    operand = stage.constant if kind == "constant" else stage.operands[value]
    if not isinstance(operand, Const):
        return None
    # inf and nan print as names, and a name is no number to fold.
    return operand.value if math.isfinite(operand.value) or operand.value < 0 else None


@functools.cache
def _lone_field(snippet: str) -> str | None:
    """The placeholder a snippet is made of alone, as `{c}` or `{b}`."""
    parts = list(string.Formatter().parse(snippet))
    if len(parts) == 1 and not parts[0][0] and parts[0][1] and not parts[0][2]:
        return parts[0][1]
    return None
