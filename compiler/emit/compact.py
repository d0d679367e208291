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
from typing import NamedTuple

from compiler.passes.adjoint import Block, adjoint_name
from compiler.emit.stages import Local, number_call, unparenthesized
from compiler.emit.printers import UfuncCall
from compiler.emit.terms import filled
from compiler.gates.expr import BinOp, Expr, Name, Number, UnaryOp
from compiler.gates.snippets import factor, format_number


class Code(NamedTuple):
    """A piece of the compact lines, and its value when it is a number,
    kept beside it so that nothing reads a printed number back."""

    text: str
    number: float | None = None
    call: UfuncCall | None = None
    """The ufunc the code computes last, for a block of points (blocks.py)."""
    minus: str | None = None
    """For a negation whose operand the text wraps in parentheses
    (`-(2 * x)`), that operand as an argument: `2 * x`."""
    tree: Expr | None = None
    """The code as a tree, where the local gradients kept theirs (a block
    of points, blocks.py); a name or a number needs none (`tree_of`)."""

    @property
    def inner(self) -> str:
        return unparenthesized(self.text, self.number)

    @property
    def operand(self) -> str:
        """The code as the left operand of `*`: a name or a number as it
        is, any other expression in parentheses (a sum, a conditional)."""
        bare = self.text.isidentifier() or self.number is not None
        return self.text if bare else f"({self.text})"


@dataclass(frozen=True)
class Compact:
    lines: tuple[tuple[tuple[str, Code], ...], ...]
    """The lines of each block, in the blocks' (backward) order, as
    (adjoint name, code) pairs."""
    gradients: tuple[tuple[str, Code], ...]
    """(input, code) for each input that takes a gradient: its adjoint's
    name when assigned, else the gradient's code."""


def compact_lines(blocks: tuple[Block, ...], printed: tuple[tuple[Local, ...], ...],
                  seed: str, inputs: tuple[str, ...], as_code: bool = False,
                  trees: bool = False) -> Compact:
    """`printed`: each block's local gradients, one per contribution;
    `trees`: whether they kept their trees, and each sum is to keep its."""
    last = {c.target: (i, j) for i, block in enumerate(blocks)
            for j, c in enumerate(block.contributions)}
    alias: dict[str, Code | None] = {seed: None}
    terms: dict[str, list[tuple[Code, bool]]] = {}
    lines, gradients = [], []
    for i, (block, locals_) in enumerate(zip(blocks, printed)):
        here = []
        for j, (c, local) in enumerate(zip(block.contributions, locals_)):
            upstream = alias.get(c.upstream, Code(c.upstream))
            terms.setdefault(c.target, []).append(_term(local, upstream))
            if last[c.target] != (i, j):
                continue
            name, value = adjoint_name(c.target), _sum(terms.pop(c.target), trees)
            if c.target in inputs and as_code:
                gradients.append((c.target, value))
            elif c.target in inputs or not (value.text.isidentifier() or value.number == 1.0
                                            or as_code and value.number is not None):
                here.append((name, value))
                gradients.extend([(c.target, Code(name))] * (c.target in inputs))
            else:
                alias[name] = None if value.number == 1.0 else value
        lines.append(tuple(here))
    return Compact(tuple(lines), tuple(gradients))


def tree_of(code: Code) -> Expr | None:
    """The code's tree: its own, or the name or number it is; None where
    the local gradients kept no tree."""
    if code.tree is not None or code.text.isidentifier():
        return code.tree or Name(code.text)
    return Number(code.inner) if code.number is not None else None


def _local_tree(local: Local) -> Expr | None:
    """None where the printer kept no trees (StagePrinter.keep_trees)."""
    if local.values is None:
        return None
    if local.number is not None:
        return Number(local.inner)
    return filled(local.tree, local.values, {})


def _with(operator: str, *operands: Expr | None) -> Expr | None:
    """A node over operands that all have a tree, else None."""
    if any(operand is None for operand in operands):
        return None
    return UnaryOp(operator, *operands) if len(operands) == 1 else BinOp(operator, *operands)


def _term(local: Local, upstream: Code | None) -> tuple[Code, bool]:
    """The code of local * upstream (None: the seed, a unit), and whether
    it can stand in a sum without parentheses."""
    if upstream is None:
        if local.number in (1.0, -1.0):
            return _number(format_number(local.number, False).strip("()"), local.number), True
        if local.number is not None:
            return _number(local.code, local.number), True
        return Code(local.code, None, local.call, tree=_local_tree(local)), \
            local.code.isidentifier()
    if local.number == 1.0:
        return upstream, True
    if local.number == -1.0:
        return _negated(upstream), True
    if upstream.number == -1.0:
        return Code(f"-{factor(local.code)}", None, ("negative", (local.inner,)),
                    local.inner, _with("-", _local_tree(local))), True
    tree = _local_tree(local)
    return Code(f"{factor(local.code)} * {upstream.text}", None,
                ("multiply", (local.inner, upstream.inner)),
                tree=tree and BinOp("*", tree, tree_of(upstream))), True


def _number(text: str, number: float) -> Code:
    return Code(text, number, number_call(text, number))


def _negated(code: Code) -> Code:
    """-code for a name or a number; negating a number is exact."""
    if code.number is None:
        return Code(f"-{code.text}", None, ("negative", (code.text,)),
                    tree=_with("-", tree_of(code)))
    return _number(format_number(-code.number, False), -code.number)


def _sum_tree(terms: list[tuple[Code, bool]]) -> Expr | None:
    """The sum's tree as its text reads: a term written with a leading
    minus (a negation, a negative number) is subtracted."""
    total = tree_of(terms[0][0])
    for code, _ in terms[1:]:
        tree = tree_of(code)
        if code.text.startswith("-"):
            tree = _magnitude(tree)
        total = _with("-" if code.text.startswith("-") else "+", total, tree)
    return total


def _magnitude(tree: Expr | None) -> Expr | None:
    """The tree of a term written with a leading minus, without it."""
    if isinstance(tree, UnaryOp) and tree.op == "-":
        return tree.operand
    if isinstance(tree, Number) and tree.text.startswith("-"):
        return Number(tree.text[1:])
    return None


def _sum(terms: list[tuple[Code, bool]], trees: bool) -> Code:
    if len(terms) == 1:
        return terms[0][0]
    parts = []
    for code, bare in terms:
        text = code.text if bare else f"({code.text})"
        if parts and text.startswith("-"):
            parts.append(f"- {text[1:]}")
        else:
            parts.append(f"+ {text}" if parts else text)
    *earlier, (last, bare) = terms
    # The last term's operation comes last: (a + b) + c, a - b.
    left = " ".join(parts[:-1]) if len(earlier) > 1 else earlier[0][0].inner
    tree = _sum_tree(terms) if trees else None
    if parts[-1].startswith("- "):
        right = last.minus if last.minus is not None else parts[-1][2:]
        return Code(" ".join(parts), None, ("subtract", (left, right)), tree=tree)
    return Code(" ".join(parts), None, ("add", (left, last.inner)), tree=tree)
