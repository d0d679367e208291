"""Checks of the gate table: gate rows -> nothing, or AssertionError.

Each row's snippets may use only the placeholders its arity and constant
give it, every kink has its condition, every constant form and rewrite names
a real row, and every target can run the row's code.  `table.check()`
runs them over the whole table, from the test suite and `gradc
--self-check`; they parse every snippet of every target into its tree
(expr.py), which a compile does only for the rows and targets it uses.
"""

from __future__ import annotations

import string

from typing import TYPE_CHECKING

from compiler.gates import expr
from compiler.gates.expr import Attr, Call, Expr, Field, Function, IfExp, Name, Number
from compiler.gates.row import HELPER_FIELDS
from compiler.gates.targets import TARGETS, Target

if TYPE_CHECKING:
    from compiler.gates import Gate

# What a backward rule may read besides its row's operands: the upstream
# gradient and the first operand's shape in the file's dimension names.
_VJP_FIELDS = {"g", "shape_a", "size_a", "axis_a"}
_RANKS = ((1, 1), (1, 2), (2, 1), (2, 2))


def _placeholders(snippet: str) -> set[str]:
    """The placeholders of a text that is no code (a notation, a symbol)."""
    return {name for _, name, _, _ in string.Formatter().parse(snippet) if name is not None}


def _fields(tree: Expr | None) -> set[str]:
    return set(expr.fields(tree)) if tree is not None else set()


def _cannot_run(tree: Expr | None, spec: Target) -> bool:
    """Whether the tree holds code the target cannot run."""
    for node in expr.walk(tree) if tree is not None else ():
        scalar = isinstance(node, IfExp) or isinstance(node, Call) and isinstance(node.func, Name)
        if scalar and not spec.scalar_code:
            return True
        if spec.functions is not None and isinstance(node, Call) \
                and not _in_standard(node, spec.functions):
            return True
    return False


def _in_standard(node: Call, functions: frozenset[str]) -> bool:
    """A call the array API standard has: one of its functions, with an
    array among the arguments it computes on (`where`'s last two), or
    NumPy's cast to floats, which it spells `astype(x, dtype)`."""
    if isinstance(node.func, Attr):
        return node.func.name == "astype" and node.args == (Name("float"),)
    if not isinstance(node.func, Function):
        return True
    values = node.args[1:] if node.func.name == "where" else node.args
    return node.func.name in functions and not all(
        isinstance(value, Number) or value == Field("c") for value in values)


def _allowed(row: Gate, count: int, in_forward: bool) -> set[str]:
    if row.variadic:
        # A forward code made for the count may name each operand (`Form`).
        allowed = {f"a{i}" for i in range(count)} | ({"args"} if in_forward else set())
    else:
        allowed = set("ab"[:row.arity])
    if row.takes_constant:
        allowed.add("c")
    allowed |= {field for field, _ in row.helpers}
    return allowed if in_forward else allowed | {"out"}


def _validate(row: Gate, table, chains) -> None:
    count = max(row.arity, 3) if row.variadic else row.arity
    problems = _fields(row.forward_tree(count)) - _allowed(row, count, True)
    problems |= _placeholders(row.notation) - _allowed(row, count, True)
    problems |= _placeholders(row.symbol) - ({"c"} if row.takes_constant else set())
    if (row.kink is None) != (row.kink_at is None):
        raise AssertionError(f"gate {row.name}: a kink needs both its convention and kink_at")
    problems |= _placeholders(row.kink_at or "") - _allowed(row, count, True) - {"out"}
    trees = row.local_trees(count)
    if len(trees) != count:
        raise AssertionError(f"gate {row.name}: {len(trees)} local gradients for {count} operands")
    for tree in trees:
        problems |= _fields(tree) - _allowed(row, count, False)
    if row.chain is not None and (row.chain not in chains or not row.takes_constant):
        raise AssertionError(f"gate {row.name}: chain {row.chain} needs a constant and a rule")
    for form in row.const_forms:
        if form.gate not in table:
            raise AssertionError(f"gate {row.name}: unknown constant form {form.gate}")
    for field, plan in row.helpers:
        if field not in HELPER_FIELDS or not _plan_rows(plan) <= table.keys():
            raise AssertionError(f"gate {row.name}: bad helper {field}")
    for derivation in row.derivations:
        problems |= _placeholders(derivation) - _allowed(row, count, False) - {"loss"}
    if row.derivations and len(row.derivations) != row.arity:
        raise AssertionError(f"gate {row.name}: one derivation per operand")
    if problems:
        raise AssertionError(f"gate {row.name}: unknown placeholders {sorted(problems)}")


def _plan_rows(plan) -> set[str]:
    """The rows a `staged_as` plan names."""
    if isinstance(plan, int):
        return set()
    return {plan[0]}.union(*map(_plan_rows, plan[1:]))


def _validate_forms(row: Gate, table) -> None:
    count = max(row.arity, 3) if row.variadic else row.arity
    # The compact style's code must fit the same placeholders as the lecture's.
    for target, compact in ((t, c) for t in TARGETS for c in (False, True)):
        forward = row.forward_tree(count, target, compact)
        trees = row.local_trees(count, target, compact)
        problems = _fields(forward) - _allowed(row, count, True)
        for tree in trees:
            problems |= _fields(tree) - _allowed(row, count, False)
        if len(trees) != count or problems:
            raise AssertionError(f"gate {row.name}: bad {target} form {sorted(problems)}")
        if any(_cannot_run(tree, TARGETS[target]) for tree in (forward, *trees)):
            raise AssertionError(f"gate {row.name}: its {target} code needs its own form")
    for rewrite in row.rewrites:
        if rewrite.operand not in table or row.arity != 1 \
                or (rewrite.constant is not None and not row.takes_constant):
            raise AssertionError(f"gate {row.name}: bad rewrite of {rewrite.operand}")


def _validate_vjp(row: Gate) -> None:
    """Each backward rule and its forward rule, for every rank its operands
    may have.  A row with a backward rule of its own needs a forward rule of
    its own: the local gradients it has no use for cannot give one."""
    if row.vjp is None:
        if row.jvp is not None:
            raise AssertionError(f"gate {row.name}: a forward rule without a backward rule")
        return
    if row.jvp is None:
        raise AssertionError(f"gate {row.name}: a backward rule (vjp) without a forward "
                             "rule (jvp)")
    for ranks in {pair[:row.arity] for pair in _RANKS}:
        for index in range(row.arity):
            _validate_rule(row, "backward", lambda target: row.vjp_tree(index, ranks, target),
                           ranks, "g")
            _validate_rule(row, "forward",
                           lambda target: row.jvp_tree(index, row.arity, ranks, target),
                           ranks, "t")


def _validate_rule(row: Gate, kind: str, in_target, ranks, over: str) -> None:
    """One rule over `{over}` (the upstream gradient, or the tangent),
    `in_target(target)` its tree in a target."""
    allowed = _allowed(row, row.arity, False) | _VJP_FIELDS - {"g"} | {over}
    problems = _fields(in_target("numpy")) - allowed
    if problems:
        raise AssertionError(f"gate {row.name}: unknown placeholders {sorted(problems)} "
                             f"in its {kind} rule for ranks {ranks}")
    # A target that prints numpy's code must be able to run it.
    for target, spec in TARGETS.items():
        if spec.base == "numpy" and _cannot_run(in_target(target), spec):
            raise AssertionError(f"gate {row.name}: its {kind} rule for ranks "
                                 f"{ranks} cannot run in the {target} target")


def check_table(rows, table, chains) -> None:
    for row in rows:
        _validate(row, table, chains)
        _validate_forms(row, table)
        _validate_vjp(row)
