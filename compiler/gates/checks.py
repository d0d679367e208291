"""Load-time checks of the gate table: gate rows -> nothing, or AssertionError.

Each row's snippets may use only the placeholders its arity and constant
give it, every kink has its condition, every constant form and rewrite names
a real row, and every target can carry the row's code.  `gates.py` runs
these when it is imported, so a malformed row never reaches a pass.
"""

from __future__ import annotations

import string

from typing import TYPE_CHECKING

from compiler.gates.targets import TARGETS

if TYPE_CHECKING:
    from compiler.gates import Gate

# What a backward rule may read besides its row's operands: the upstream
# gradient and the first operand's shape in the file's dimension names.
_VJP_FIELDS = {"g", "shape_a", "size_a", "axis_a"}
_RANKS = ((1, 1), (1, 2), (2, 1), (2, 2))


def _placeholders(snippet: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(snippet) if name is not None}


def _allowed(row: Gate, count: int, in_forward: bool) -> set[str]:
    if row.variadic:
        # A forward code made for the count may name each operand (`Form`).
        allowed = {f"a{i}" for i in range(count)} | ({"args"} if in_forward else set())
    else:
        allowed = set("ab"[:row.arity])
    if row.takes_constant:
        allowed.add("c")
    return allowed if in_forward else allowed | {"out"}


def _validate(row: Gate, table, chains) -> None:
    count = max(row.arity, 3) if row.variadic else row.arity
    problems = _placeholders(row.forward) - _allowed(row, count, True)
    problems |= _placeholders(row.notation) - _allowed(row, count, True)
    problems |= _placeholders(row.symbol) - ({"c"} if row.takes_constant else set())
    if (row.kink is None) != (row.kink_at is None):
        raise AssertionError(f"gate {row.name}: a kink needs both its convention and kink_at")
    problems |= _placeholders(row.kink_at or "") - _allowed(row, count, True) - {"out"}
    snippets = row.local_snippets(count)
    if len(snippets) != count:
        raise AssertionError(f"gate {row.name}: {len(snippets)} local gradients for {count} operands")
    for snippet in snippets:
        problems |= _placeholders(snippet) - _allowed(row, count, False)
    if row.chain is not None and (row.chain not in chains or not row.takes_constant):
        raise AssertionError(f"gate {row.name}: chain {row.chain} needs a constant and a rule")
    for form in row.const_forms:
        if form.gate not in table:
            raise AssertionError(f"gate {row.name}: unknown constant form {form.gate}")
    if problems:
        raise AssertionError(f"gate {row.name}: unknown placeholders {sorted(problems)}")


def _validate_forms(row: Gate, table) -> None:
    count = max(row.arity, 3) if row.variadic else row.arity
    # The compact style's code must fit the same placeholders as the lecture's.
    for target, compact in ((t, c) for t in TARGETS for c in (False, True)):
        forward = row.forward_snippet(count, target, compact)
        snippets = row.local_snippets(count, target, compact)
        problems = _placeholders(forward) - _allowed(row, count, True)
        for snippet in snippets:
            problems |= _placeholders(snippet) - _allowed(row, count, False)
        if len(snippets) != count or problems:
            raise AssertionError(f"gate {row.name}: bad {target} form {sorted(problems)}")
        cannot_run = TARGETS[target].cannot_run
        if cannot_run is not None and any(map(cannot_run.search, (forward,) + snippets)):
            raise AssertionError(f"gate {row.name}: its {target} code needs its own form")
    for rewrite in row.rewrites:
        if rewrite.operand not in table or row.arity != 1 \
                or (rewrite.constant is not None and not row.takes_constant):
            raise AssertionError(f"gate {row.name}: bad rewrite of {rewrite.operand}")


def _validate_vjp(row: Gate) -> None:
    """Each backward rule, for every rank its operands may have."""
    if row.vjp is None:
        return
    allowed = _allowed(row, row.arity, False) | _VJP_FIELDS
    for ranks in {pair[:row.arity] for pair in _RANKS}:
        for index in range(row.arity):
            problems = _placeholders(row.vjp(index, ranks)) - allowed
            if problems:
                raise AssertionError(f"gate {row.name}: unknown placeholders {sorted(problems)} "
                                     f"in its backward rule for ranks {ranks}")
            # A target that translates numpy's code must be able to run the
            # translated rule (array-api: no NumPy left over).
            for target, spec in TARGETS.items():
                if spec.base == "numpy" and spec.cannot_run is not None and \
                        spec.cannot_run.search(row.vjp_snippet(index, ranks, target)):
                    raise AssertionError(f"gate {row.name}: its backward rule for ranks "
                                         f"{ranks} cannot run in the {target} target")


def check_table(rows, table, chains) -> None:
    for row in rows:
        _validate(row, table, chains)
        _validate_forms(row, table)
        _validate_vjp(row)
