"""Fills a gate row's snippets with operand names and printed constants.

This is the only place where gate snippets become code, and numbers are
printed here from their parsed values, never copied from the input text.
"""

from __future__ import annotations

from .gates import Gate


def format_number(value: float, integral: bool) -> str:
    """`2`, `0.5`, `1e-08`; negative numbers in parentheses, so that a
    snippet such as `{c}**{a}` can never read as `-(2**x)`."""
    text = str(int(value)) if integral else repr(float(value))
    return f"({text})" if text.startswith("-") else text


def spell(operand) -> str:
    """An operand as code: a `Ref`'s name or a `Const`'s printed value."""
    name = getattr(operand, "name", None)
    return name if name is not None else format_number(operand.value, operand.integral)


def fill(snippet: str, gate: Gate, operands, constant=None, out: str | None = None) -> str:
    spelled = [spell(op) for op in operands]
    fields: dict[str, str] = {"out": out or ""}
    if gate.variadic:
        fields["args"] = ", ".join(spelled)
        fields.update((f"a{i}", text) for i, text in enumerate(spelled))
    else:
        fields.update(zip("ab", spelled))
    if constant is not None:
        fields["c"] = spell(constant)
    return snippet.format(**fields)
