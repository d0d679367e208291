"""Array notation as the lectures write it, read while a program is staged
(LANGUAGE.md §8): an axis by keyword or by name (`sum(X, axis=D)`), `max`
of one array, the refusal of `max(A, 1)`, a vector's transpose as the left
factor of a product (`uᵀv`), implicit products after a transpose (`Wᵀx`),
and alignment by name (`X - mean(X, axis=1)`).

`ArrayNotation` is the part of the lowering (stage.py) that decides these;
it asks the lowering for operands' shapes (`_shape`), new stages (`_new`)
and the shape rules' verdict (`_check_shapes`).
"""

from __future__ import annotations

from typing import NamedTuple

from compiler import gates
from compiler.errors import GradcError, Span
from compiler.front.syntax import Apply, Keyword, follows_transpose, is_implicit, spelled
from compiler.gates import Gate
from compiler.passes import shapes
from compiler.passes.values import Const


class Axis(NamedTuple):
    """An axis given by keyword (`axis=1`, `axis=D`), until it chooses its
    function's row."""

    value: int | str
    node: Keyword


class RowVector(NamedTuple):
    """A vector's transpose (`uᵀ`): the left factor of a product may read it
    as the vector itself (`uᵀv` is `u @ v`); anything else refuses it."""

    vector: object
    node: Apply


class ArrayNotation:
    def _row_for_call(self, node: Apply, gate: Gate, args: list) -> tuple[Gate, list]:
        """The row an axis chooses (`sum(X, axis=D)`, `max(A)`), and the
        refusal of `max(A, 1)`, which reads as an axis and as a number."""
        def array() -> str:  # spelled only for a message, as in _check_shapes
            return spelled(node.args[0])
        if args and isinstance(args[-1], Axis):
            axis = args.pop()
            k = axis.value if isinstance(axis.value, int) else self._named_axis(node, axis, args)
            if k + 1 >= len(gate.axis_rows) or not self._shape(args[0]):
                missing = shapes.missing_axis(self._shape(args[0]), array(), k)
                raise GradcError(f"{spelled(node)}: {missing}", axis.node.span)
            return gates.GATES[gate.axis_rows[k + 1]], args
        if len(args) == 1 and gate.axis_rows[0] != gate.name:
            if not self._shape(args[0]):
                raise GradcError(f"'{node.func}' takes at least {gate.arity} arguments, or "
                                 f"one array: {array()} is a number", node.func_span)
            return gates.GATES[gate.axis_rows[0]], args
        if gate.axis_lookalike and len(args) == 2 and self._shape(args[0]) \
                and isinstance(args[1], Const) and args[1].integral and args[1].value != 0:
            k = int(args[1].value)
            raise GradcError(f"{spelled(node)}: {k} after an array could be an axis or a "
                             f"number: write {node.func}({array()}, axis={k}) for the "
                             f"{node.func} along axis {k}, or {node.func}({array()}, {k}.0) for "
                             f"the elementwise {node.func} of {array()} and {k}", node.func_span)
        return gate, args

    def _named_axis(self, node: Apply, axis: Axis, args: list) -> int:
        try:
            return shapes.axis_named(self._shape(args[0]), axis.value, spelled(node.args[0]))
        except shapes.Mismatch as mismatch:
            raise GradcError(f"{spelled(node)}: {mismatch}", axis.node.span) from None

    def _product(self, node: Apply, gate: Gate, args: list) -> tuple[Gate, list]:
        """Textbook products: a vector's transpose as the left factor
        (`uᵀ @ v` is `u @ v`), and an implicit product after a transpose,
        which multiplies arrays by `@` (`Wᵀx`, `xᵀWx`)."""
        if not is_implicit(node):
            if gate.row_vector_left and isinstance(args[0], RowVector):
                return gate, [args[0].vector, *args[1:]]
            return gate, args
        left, right = args
        if isinstance(left, RowVector):
            left = left.vector
        if not (self._shape(left) and self._shape(right)):
            return gate, args
        if not follows_transpose(node):
            raise GradcError("two arrays multiplied without an operator: write '@' for "
                             "the matrix product or '*' for the elementwise one",
                             node.func_span)
        return gates.GATES[gates.lookup("@").name], [left, right]

    def _refuse_row_vector(self, row: RowVector, node: Apply | None = None,
                           gate: Gate | None = None) -> None:
        """A vector's transpose read other than as a product's left factor:
        an elementwise product says why; anything else is the transpose's
        own error, at the transpose."""
        if node is not None and gate.on_numbers and len(node.args) == 2 \
                and node.args[0] is row.node:
            vector = spelled(row.node.args[0])
            shape = shapes.shown(self._shape(row.vector))
            raise GradcError(f"{spelled(node)}: {vector} is {shape}, a vector, whose transpose "
                             f"is only the left factor of a matrix product ({vector}ᵀv, "
                             f"{vector}ᵀ @ v and {vector}ᵀ·v are {vector} @ v), and this "
                             f"product is elementwise", node.func_span)
        self._check_shapes(row.node, gates.GATES[gates.TRANSPOSE], [row.vector])

    def _aligned(self, args: list, span: Span) -> list:
        """Alignment by name: `X - m` for X: [N, D] and m: [N] stands m up
        as a column, a stage of its own, where NumPy's rule would fail."""
        operand_shapes = [self._shape(arg) for arg in args]
        largest = max(operand_shapes, key=len)
        return [self._new(gates.GATES[gates.COLUMN], [arg], None, span)
                if shapes.aligned_by_name(shape, largest) else arg
                for arg, shape in zip(args, operand_shapes)]
