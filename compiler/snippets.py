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


def printed_value(code: str) -> float | None:
    """The value of code that is a printed constant such as `2.5` or
    `(-3e+16)`, else None (`inf` and `nan` are names here, though float()
    would read them as numbers)."""
    if code.isidentifier():
        return None
    try:
        return float(code.removeprefix("(").removesuffix(")"))
    except ValueError:
        return None


def spell(operand, floats: bool = False) -> str:
    """An operand as code: a `Ref`'s name or a `Const`'s printed value
    (`2.0` rather than `2` when `floats`: the compact style's arithmetic
    never mixes a float with an int, which CPython runs more slowly)."""
    name = getattr(operand, "name", None)
    if name is not None:
        return name
    return format_number(operand.value, operand.integral and not floats)


def fields(gate: Gate, operands, constant=None, out: str | None = None,
           floats: bool = False) -> dict[str, str]:
    """What each placeholder of the gate's snippets stands for, worked out
    once for all the snippets of one stage."""
    spelled = [spell(op, floats) for op in operands]
    values: dict[str, str] = {"out": out or ""}
    if gate.variadic:
        values["args"] = ", ".join(spelled)
        values.update((f"a{i}", text) for i, text in enumerate(spelled))
    else:
        values.update(zip("ab", spelled))
    if constant is not None:
        values["c"] = spell(constant, floats)
    return values


def fill(snippet: str, gate: Gate, operands, constant=None, out: str | None = None,
         floats: bool = False) -> str:
    return snippet.format_map(fields(gate, operands, constant, out, floats))
