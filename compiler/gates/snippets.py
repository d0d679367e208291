"""Fills a gate row's snippets with operand names and printed constants.

This is the only place where gate snippets become code, and numbers are
printed here from their parsed values, never copied from the input text.
"""

from __future__ import annotations

from compiler.gates import Gate
from compiler.gates.row import HELPER_FIELDS
from compiler.gates.expr import Expr, fields

# A fixed-arity row names its operands {a} and {b}; a variadic row {a0},
# {a1}, ...; {out} is the gate's own output and {c} its constant.
_LETTERS = "ab"


def format_number(value: float, integral: bool) -> str:
    """`2`, `0.5`, `1e-08`; negative numbers in parentheses, so that a
    snippet such as `{c}**{a}` can never read as `-(2**x)`."""
    text = str(int(value)) if integral else repr(float(value))
    return f"({text})" if text.startswith("-") else text


def spell(operand, floats: bool = False) -> str:
    """An operand as code: a `Ref`'s name or a `Const`'s printed value
    (`2.0` rather than `2` when `floats`: the compact style's arithmetic
    never mixes a float with an int, which CPython runs more slowly)."""
    name = getattr(operand, "name", None)
    if name is not None:
        return name
    return format_number(operand.value, operand.integral and not floats)


def placeholders(gate: Gate, operands, constant=None, out: str | None = None,
                 floats: bool = False) -> dict[str, str]:
    """What each placeholder of the gate's snippets stands for, worked out
    once for all the snippets of one stage."""
    # Once per stage of a formula of 10^5 gates: a name without a call.
    spelled = [name if (name := getattr(op, "name", None)) is not None else spell(op, floats)
               for op in operands]
    values: dict[str, str] = {"out": out or ""}
    if gate.variadic:
        values["args"] = ", ".join(spelled)
        values.update((f"a{i}", text) for i, text in enumerate(spelled))
    else:
        values.update(zip(_LETTERS, spelled))
    if gate.helpers:
        values.update(zip((field for field, _ in gate.helpers), spelled[-len(gate.helpers):]))
    if constant is not None:
        values["c"] = spell(constant, floats)
    return values


def fill(snippet: str, gate: Gate, operands, constant=None, out: str | None = None,
         floats: bool = False) -> str:
    return snippet.format_map(placeholders(gate, operands, constant, out, floats))


def value_placeholders(tree: Expr) -> tuple[tuple[str, int], ...]:
    """The placeholders of a tree that stand for a forward value, each
    with its operand's index (-1: the gate's own output, or a value it
    reads beside its operands, Gate.helpers), in the order the
    code reads them."""
    found = []
    for field in fields(tree):
        if field == "out" or field in HELPER_FIELDS:
            found.append((field, -1))
        elif field in _LETTERS:
            found.append((field, _LETTERS.index(field)))
        elif field[0] == "a" and field[1:].isdigit():
            found.append((field, int(field[1:])))
    return tuple(found)


def factor(code: str) -> str:
    """Code as a factor of `*`: a name bare, anything else in parentheses,
    as the lecture writes a local gradient (`(1) * dden`, `invden * df`)."""
    return code if code.isidentifier() else f"({code})"
