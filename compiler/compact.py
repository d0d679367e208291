"""AdjointIR blocks -> the compact style's backward lines, one tuple per block,
and the code of each input's gradient.

The lecture writes one line per contribution (`dx = (1) * dxpy`, later
`dx += ((1 - sigx) * sigx) * dsigx`).  The compact style is written for
speed instead:

* Each adjoint is assigned once, as the sum of its contributions in the
  lecture's order, at the place of its last contribution.  Every term can
  wait until then: the adjoint a term reads is final once its own stage's
  block has run, and nothing is assigned twice.  `a + b + c` is
  `(a + b) + c`, the lecture's order of `=` then `+=`, and `a - b` rounds
  as `a + (-b)`, so the sum is the lecture's to the last bit.
* A unit factor is dropped, and so is the seed: the lines compute the
  gradient of the output itself, and `backward` scales what it returns
  (`scaled`), so `grad`, which runs the same lines, multiplies by nothing.
* An adjoint that is only another name (`dsigx = dden`) is not assigned:
  the terms that would read it read that name; one that is 1 is a unit too.
* For a template that returns the gradients as code (`as_code`: scalar
  code, where every store and load shows), an input's gradient is not
  assigned either: it is only code, which the template writes into the
  return (`return f, (z, z, q)`), so its block may have no line.  And an
  adjoint that is a number (`dlogh2 = -1.0`) is written into its readers,
  a factor of -1 as a negation (`-(1.0 / h2)`), which is exact, as
  multiplying by -1.0 is.  Array code keeps those names: each reader
  costs one array operation either way, and the template reads `dx`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adjoint import Block, adjoint_name
from .snippets import factor, format_number, printed_value


@dataclass(frozen=True)
class Compact:
    lines: tuple[tuple[str, ...], ...]
    """The lines of each block, in the blocks' (backward) order."""
    gradients: tuple[tuple[str, str], ...]
    """(input, code) for each input that takes a gradient: its adjoint's
    name when assigned, else the gradient's code."""

    def gradient(self, name: str) -> str:
        return dict(self.gradients)[name]


def compact_lines(blocks: tuple[Block, ...], seed: str, inputs: tuple[str, ...],
                  as_code: bool = False) -> Compact:
    last = {c.target: (i, j) for i, block in enumerate(blocks)
            for j, c in enumerate(block.contributions)}
    alias: dict[str, str | None] = {seed: None}
    terms: dict[str, list[tuple[str, bool]]] = {}
    lines, gradients = [], []
    for i, block in enumerate(blocks):
        here = []
        for j, c in enumerate(block.contributions):
            terms.setdefault(c.target, []).append(_term(c.local, alias.get(c.upstream, c.upstream)))
            if last[c.target] != (i, j):
                continue
            name, value = adjoint_name(c.target), _sum(terms.pop(c.target))
            if c.target in inputs and as_code:
                gradients.append((c.target, value))
            elif c.target in inputs or not (value.isidentifier() or value == "1.0"
                                            or as_code and printed_value(value) is not None):
                here.append(f"{name} = {value}")
                gradients.extend([(c.target, name)] * (c.target in inputs))
            else:
                alias[name] = None if printed_value(value) == 1.0 else value
        lines.append(tuple(here))
    return Compact(tuple(lines), tuple(gradients))


def _term(local: str, upstream: str | None) -> tuple[str, bool]:
    """The code of local * upstream (None: the seed, a unit), and whether
    it can stand in a sum without parentheses."""
    if upstream is None:
        if printed_value(local) in (1.0, -1.0):
            return format_number(printed_value(local), False).strip("()"), True
        return local, local.isidentifier() or printed_value(local) is not None
    if printed_value(local) == 1.0:
        return upstream, True
    if printed_value(local) == -1.0:
        return _negated(upstream), True
    if printed_value(upstream) == -1.0:
        return f"-{factor(local)}", True
    return f"{factor(local)} * {upstream}", True


def _negated(code: str) -> str:
    """-code for a name or a number; negating a number is exact."""
    value = printed_value(code)
    return f"-{code}" if value is None else format_number(-value, False)


def _sum(terms: list[tuple[str, bool]]) -> str:
    if len(terms) == 1:
        return terms[0][0]
    parts = []
    for text, bare in terms:
        text = text if bare else f"({text})"
        if parts and text.startswith("-"):
            parts.append(f"- {text[1:]}")
        else:
            parts.append(f"+ {text}" if parts else text)
    return " ".join(parts)
