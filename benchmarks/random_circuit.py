"""R(n): a seeded random formula file of n gates over 8 inputs.

Every statement is a named stage of one to three gates whose first operand
is the oldest value nothing reads yet, so every stage is live, and whose
other operands are drawn from all earlier values, so values fan out widely.
The gates are of many kinds: + - * /, constant scale and shift, ^2, σ, tanh,
sin, cos, exp, log1p, softplus, max, min, atan2.  The values stay finite for
inputs in [-1, 1] (exp and log1p only ever see bounded arguments).

    python benchmarks/random_circuit.py 100000 > r5.txt
"""

from __future__ import annotations

import random
import sys
from collections import deque

INPUTS = tuple(f"x{i}" for i in range(8))

# (gates it adds, text): {a} is the live operand, {b} and {c} any earlier.
_SHAPES = (
    (2, "σ({a}) * {b}"), (2, "tanh({a}) + {b}"), (2, "{a} * {b} - {c}"),
    (3, "sin({a}) * cos({b})"), (2, "({a} - {b})^2"), (4, "{a} / (1 + {b}^2)"),
    (1, "max({a}, {b})"), (1, "min({a}, {b}, {c})"), (1, "atan2({a}, {b})"),
    (2, "0.5*{a} + {b}"), (2, "log1p(σ({a}))"), (2, "softplus({a} - {b})"),
    (3, "exp(tanh({a})) * 0.25"), (1, "{a} + 1.5"), (4, "σ({a}) * tanh({b}) + {c}"),
)


def circuit(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    values = list(INPUTS)
    unread = deque(INPUTS)
    lines = [f"# R({n}), seed {seed}: {n} gates over {len(INPUTS)} inputs"]
    gates = 0
    while gates < n - len(unread):
        cost, shape = rng.choice(_SHAPES)
        first = unread.popleft() if unread else rng.choice(values)
        name = f"s{len(values) - len(INPUTS)}"
        lines.append(f"{name} = " + shape.format(
            a=first, b=rng.choice(values), c=rng.choice(values)))
        values.append(name)
        unread.append(name)
        gates += cost
    return "\n".join(lines + _join(list(unread), len(values) - len(INPUTS))) + "\n"


def _join(unread: list[str], counter: int) -> list[str]:
    """Sums the values nothing read, in a balanced tree of one-gate stages."""
    lines = []
    while len(unread) > 1:
        pairs, unread = unread, []
        for left, right in zip(pairs[::2], pairs[1::2]):
            name = f"s{counter}"
            counter += 1
            lines.append(f"{name} = {left} + {right}")
            unread.append(name)
        if len(pairs) % 2:
            unread.append(pairs[-1])
    if not lines:
        return [f"f = {unread[0]} + 0"]
    # The last sum is the output, so nothing is left unread.
    return lines[:-1] + ["f" + lines[-1][lines[-1].index(" = "):]]


if __name__ == "__main__":
    sys.stdout.write(circuit(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0))
