"""AdjointIR blocks -> the compact style's backward lines, one tuple per block.

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
* An adjoint that is only another name (`dsigx = dden`) is not copied: the
  terms that would read it read that name; one that is 1 is a unit too.  An input's adjoint is always
  assigned, so that every template finds the gradients by their names.
"""

from __future__ import annotations

from .adjoint import Block, adjoint_name

_UNIT = ("1", "1.0")
_MINUS_UNIT = ("-1", "-1.0")


def compact_lines(blocks: tuple[Block, ...], seed: str,
                  inputs: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The lines of each block, in the blocks' (backward) order."""
    last = {c.target: (i, j) for i, block in enumerate(blocks)
            for j, c in enumerate(block.contributions)}
    alias = {seed: None}
    terms: dict[str, list[tuple[str, bool]]] = {}
    lines = []
    for i, block in enumerate(blocks):
        here = []
        for j, c in enumerate(block.contributions):
            terms.setdefault(c.target, []).append(_term(c.local, alias.get(c.upstream, c.upstream)))
            if last[c.target] != (i, j):
                continue
            name, value = adjoint_name(c.target), _sum(terms.pop(c.target))
            if c.target in inputs or not (value.isidentifier() or value == "1.0"):
                here.append(f"{name} = {value}")
            else:
                alias[name] = None if value == "1.0" else value
        lines.append(tuple(here))
    return tuple(lines)


def _term(local: str, upstream: str | None) -> tuple[str, bool]:
    """The code of local * upstream (None: the seed, a unit), and whether
    it can stand in a sum without parentheses."""
    if upstream is None:
        if local in _UNIT or local in _MINUS_UNIT:
            return local + ".0" * ("." not in local), True
        return local, local.isidentifier() or _is_number(local)
    if local in _UNIT:
        return upstream, True
    if local in _MINUS_UNIT:
        return f"-{upstream}", True
    factor = local if local.isidentifier() else f"({local})"
    return f"{factor} * {upstream}", True


def _is_number(code: str) -> bool:
    """A printed constant such as `2.5` or `(-3e+16)`."""
    try:
        float(code.removeprefix("(").removesuffix(")"))
    except ValueError:
        return False
    return True


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
