"""`--at x=3 y=-4` -> a point: one float per input, in INPUTS order."""

from __future__ import annotations

import math

from compiler.errors import GradcError


def parse_point(texts: list[str], inputs: tuple[str, ...]) -> tuple[float, ...]:
    """Values for every input from `name=value` words; GradcError otherwise."""
    values: dict[str, float] = {}
    for text in texts:
        name, equals, number = text.partition("=")
        if not equals:
            raise GradcError(f"expected name=value in --at, got '{text}'")
        if name not in inputs:
            known = f"the inputs are {', '.join(inputs)}" if inputs else "the formula has none"
            raise GradcError(f"'{name}' is not an input: {known}")
        try:
            values[name] = float(number)
        except ValueError:
            raise GradcError(f"expected a number for '{name}' in --at, got '{number}'") \
                from None
        if not math.isfinite(values[name]):
            raise GradcError(f"expected a finite number for '{name}' in --at")
    missing = [name for name in inputs if name not in values]
    if missing:
        raise GradcError(f"--at gives no value for {', '.join(missing)}")
    return tuple(values[name] for name in inputs)
