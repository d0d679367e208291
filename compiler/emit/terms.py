"""Contributions -> `Term`s: one record for a backward term, whatever the
ranks, and the lecture's line for each.

A contribution whose operands are numbers is the lecture's local factor
times the upstream (`((1 - sigx) * sigx) * dsigx`, `(1) * dxpy`); one over
arrays is its row's vector-Jacobian product (`dD @ X.T`), which for an
elementwise row is that same factor times the upstream, a unit factor
dropped (`dxpy`).  A gradient that broadcasting spread is summed back where
it was spread (`np.sum(dS, axis=0)`).  In a file that declares shapes each
line's comment gives the shapes that meet in it, the lecture's dimension
analysis (`[H, N] @ [N, D] -> [H, D]`).
"""

from __future__ import annotations

from typing import NamedTuple

from compiler.emit.stages import Local, StagePrinter, assigned
from compiler.gates import expr
from compiler.gates.snippets import factor, placeholders, value_placeholders
from compiler.passes.adjoint import Contribution, adjoint_name
from compiler.passes.shapes import Shape, shown
from compiler.passes.stage import Ref


class Term(NamedTuple):
    """One contribution to an adjoint, printed (code and note first: what
    the tools read of a term)."""

    code: str
    """The term: `((1 - sigx) * sigx) * dsigx`, `np.sum(dS, axis=0)`."""
    note: str
    """The shapes that meet in the term, in a file that declares shapes."""
    target: str
    """The value whose gradient grows: `x` in `dx = dx + ...`."""
    first: bool
    """The value's first contribution, written with `=`."""
    upstream: str
    """The adjoint the term carries back: `dsigx`."""
    reads: tuple[str, ...]
    """The forward values the code reads."""
    line: str
    """backward's line: `dx = term`, or the target's accumulation, and
    the note."""
    local: Local | None = None
    """The lecture's local factor, when the operands are numbers."""
    tree: expr.Expr | None = None
    """The code as a tree, its fields filled, where the term is more than
    the local factor times the upstream (a file that declares shapes)."""


def lecture_term(contribution: Contribution, local: Local, accumulate: str) -> Term:
    """The local factor times the upstream: a name bare, anything else in
    parentheses, as the lecture writes it (`(1) * dden`, `invden * df`)."""
    term, text = _lecture(contribution, local.code, accumulate)
    # Once per contribution of a formula of 10^5 gates: the tuple made
    # without Term's own __new__.
    return _new_term(Term, (term, "", contribution.target, contribution.first,
                            contribution.upstream, local.reads, text, local, None))


def lecture_line(contribution: Contribution, local: Local, accumulate: str) -> str:
    """backward's line of `lecture_term`, without the term."""
    return _lecture(contribution, local.code, accumulate)[1]


def _lecture(contribution: Contribution, code: str, accumulate: str) -> tuple[str, str]:
    # snippets.factor and `line`, inline.
    upstream = contribution.upstream
    term = f"{code} * {upstream}" if code.isidentifier() else f"({code}) * {upstream}"
    return term, assigned(adjoint_name(contribution.target), term, contribution.first,
                          accumulate)


_new_term = tuple.__new__


def line(term: Term, accumulate: str, negated: str | None = None) -> str:
    """`dx = term`, or the target's accumulation, and the term's note.  A
    term that is an adjoint negated (`negated`: that adjoint) is subtracted
    where gradients add, as a person writes it: `dz = dz - dnegz`, not
    `dz = dz + -dnegz`."""
    name = adjoint_name(term.target)
    if negated is not None and not term.first and accumulate.endswith(" + {1}"):
        accumulate, term = accumulate[:-len(" + {1}")] + " - {1}", term._replace(code=negated)
    code = f"{name} = {term.code}" if term.first else accumulate.format(name, term.code)
    return f"{code}  # {term.note}" if term.note else code


def seeded_line(term: Term, seed: str, accumulate: str) -> str:
    """The line in grad, whose seed is 1: a factor times the seed is
    written alone, as the lecture writes it (`dnum = invden`); a number
    keeps the seed, so that the gradient is a float (`dx = (2) * df`)."""
    local = term.local
    if local is None or local.number is not None or term.upstream != seed:
        return line(term, accumulate)
    name = adjoint_name(term.target)
    if term.first:
        return f"{name} = {local.code}"
    return accumulate.format(name, factor(local.code))


def term_tree(term: Term, own: dict[str, str], seed: str | None = None) -> expr.Expr:
    """The term's code as a tree; `seed`: the upstream grad sets to 1,
    which a factor times it leaves out (seeded_line)."""
    if term.tree is not None:
        return term.tree
    local = term.local
    factor_tree = filled(local.tree, local.values, own)
    if seed is not None and local.number is None and term.upstream == seed:
        return factor_tree
    return expr.BinOp("*", factor_tree, expr.Name(term.upstream))


def filled(tree: expr.Expr, values: dict[str, str], own: dict[str, str]) -> expr.Expr:
    """A row's tree with each placeholder the value it stands for, and
    each of the module's own names (`dtype`) as the module spells it."""
    def name(node):
        if isinstance(node, expr.Name):
            return expr.Name(own.get(node.id, node.id))
        return expr.map_children(node, name)
    return expr.map_fields(name(tree), lambda field: _value(values[field.name]))


def _value(text: str) -> expr.Expr:
    """A placeholder's value as a tree: a name, a number (a negative one
    written in parentheses), a product of sizes (`N * D`); anything else (a
    tuple of sizes) is one name, which the printer writes as it is."""
    if " * " in text:
        factors = [_value(part) for part in text.split(" * ")]
        tree = factors[0]
        for factor_ in factors[1:]:
            tree = expr.BinOp("*", tree, factor_)
        return tree
    bare = text[1:-1] if text.startswith("(") and text.endswith(")") else text
    try:
        float(bare)
    except ValueError:
        return expr.Name(text)
    return expr.Number(bare)


class ShapedTerms:
    """The terms of a file that declares shapes, from its rows' rules."""

    def __init__(self, printer: StagePrinter, shapes: dict[str, Shape], dims: dict[str, str],
                 module: str):
        self.printer, self.shapes, self.dims, self.module = printer, shapes, dims, module
        self.accumulate = printer.spec.accumulate

    def term(self, contribution: Contribution, local: Local | None) -> Term:
        """`local`: the printed local factor when the operands are numbers."""
        own = self.printer.own
        if local is not None:
            term = lecture_term(contribution, local, self.accumulate)
            term = term._replace(tree=term_tree(term, own))
        else:
            term = self._product(contribution)
        code, note = self._summed(contribution, term)
        term = term._replace(code=code, note=note, tree=self._summed_tree(contribution, term.tree))
        return term._replace(line=line(term, self.accumulate, self._negated(contribution, local)))

    def _negated(self, contribution: Contribution, local: Local | None) -> str | None:
        """The upstream, when the term is the upstream negated, read from
        the row's rule (`-{g}`) and no broadcasting sum around it."""
        if local is not None or contribution.summed != ((), ()):
            return None
        stage = contribution.stage
        rule = stage.gate.vjp_tree(contribution.index, contribution.ranks, self.printer.target)
        return contribution.upstream if rule == _NEGATED_UPSTREAM else None

    def _product(self, contribution: Contribution) -> Term:
        """The row's rule for the operands' ranks, filled with the stage's
        names and the upstream `{g}`."""
        stage, printer = contribution.stage, self.printer
        tree = printer.code.lower(
            stage.gate.vjp_tree(contribution.index, contribution.ranks, printer.target))
        values = placeholders(stage.gate, stage.operands, stage.constant, out=stage.name)
        values["g"] = contribution.upstream
        first_shape = self._shape(stage.operands[0]) if stage.operands else ()
        sizes = tuple(self.dims.get(dim, dim) if isinstance(dim, str) else str(dim)
                      for dim in first_shape)
        values.update(_shape_fields(sizes, stage.gate.axis))
        reads = tuple([values[field] for field, i in value_placeholders(tree)
                       if i < 0 or isinstance(stage.operands[i], Ref)])
        if _SIZES.intersection(expr.fields(tree)):  # the rule reads the operand's sizes
            reads += tuple(size for size, dim in zip(sizes, first_shape) if isinstance(dim, str))
        note = self._note(tree, stage) if stage.gate.vjp_note else ""
        return Term(printer.code.print(tree).format_map(values), note, contribution.target,
                    contribution.first, contribution.upstream, reads, "",
                    tree=filled(tree, values, printer.own))

    def _summed_tree(self, contribution: Contribution, tree: expr.Expr) -> expr.Expr:
        """The tree of the code `_summed` writes."""
        target_shape = self.shapes[contribution.target]
        gained, kept = contribution.summed
        if kept:
            tree = _sum_of(_SUM_KEEPING_AXES, tree, kept)
        if gained and not target_shape:
            tree = _sum_of(_SUM, tree)
        elif gained:
            tree = _sum_of(_SUM_OVER_AXES, tree, gained)
        return tree

    def _shape(self, operand) -> Shape:
        return self.shapes.get(operand.name, ()) if isinstance(operand, Ref) else ()

    def _note(self, tree: expr.Expr, stage) -> str:
        """The rule with each value's shape for its name, and a transposed
        operand's transposed shape for its `.T`."""
        shown_shapes = {"g": shown(stage.shape), "out": shown(stage.shape)}
        for letter, operand in zip("ab", stage.operands):
            shape = self._shape(operand)
            shown_shapes[letter] = shown(shape)
            shown_shapes[letter + "T"] = shown(shape[::-1])
        return self.printer.code.print(_transposed_fields(tree)).format_map(shown_shapes)

    def _summed(self, contribution: Contribution, term: Term) -> tuple[str, str]:
        """The term summed over the axes broadcasting stretched, and its note."""
        target_shape = self.shapes[contribution.target]
        upstream_shape = self.shapes[contribution.stage.name]
        code, module = term.code, self.module
        gained, kept = contribution.summed
        if kept:
            code = f"{module}.sum({code}, axis={_axes(kept)}, keepdims=True)"
        if gained and not target_shape:
            code = f"{module}.sum({code})"
        elif gained:
            code = f"{module}.sum({code}, axis={_axes(gained)})"
        if term.note:
            return code, f"{term.note} -> {shown(target_shape)}"
        if upstream_shape == target_shape:
            return code, shown(target_shape)
        return code, f"{shown(upstream_shape)} -> {shown(target_shape)}"


_SIZES = {"shape_a", "size_a", "axis_a"}
_NEGATED_UPSTREAM = expr.UnaryOp("-", expr.Field("g"))


_SUM = expr.parse("np.sum({term})")
_SUM_OVER_AXES = expr.parse("np.sum({term}, axis={axes})")
_SUM_KEEPING_AXES = expr.parse("np.sum({term}, axis={axes}, keepdims=True)")
"""The sums `_summed` writes, as trees."""


def _sum_of(sum_tree: expr.Expr, tree: expr.Expr, axes: tuple[int, ...] = ()) -> expr.Expr:
    filling = {"term": tree, "axes": _value(_axes(axes)) if axes else None}
    return expr.map_fields(sum_tree, lambda field: filling[field.name])


def _shape_fields(shape: tuple[str, ...], axis: int | None) -> dict[str, str]:
    """The first operand's sizes as the module names them, for rules
    that make an array of it (`np.full({shape_a}, {g})`): the backward pass
    then reads the sizes, not the array."""
    if not shape:
        return {}
    text = list(shape)
    return {"shape_a": f"({text[0]},)" if len(text) == 1 else f"({', '.join(text)})",
            "size_a": " * ".join(text),
            "axis_a": text[axis] if axis is not None and axis >= 0 else ""}


def _transposed_fields(tree: expr.Expr) -> expr.Expr:
    """`{a}.T` as the one placeholder `{aT}`."""
    if isinstance(tree, expr.Attr) and tree.name == "T" and isinstance(tree.value, expr.Field):
        return expr.Field(tree.value.name + "T")
    return expr.map_children(tree, _transposed_fields)


def _axes(axes: tuple[int, ...]) -> str:
    return str(axes[0]) if len(axes) == 1 else str(axes)
