"""Shapes: what each stage holds, in the file's own dimension names (§8).

A shape is a tuple of dimensions, each a dimension name or a whole number:
`()` is a number, `('D',)` a vector, `('N', 'D')` a matrix.  A gate row
names its rule (`Gate.shape_rule`); `infer` applies it to the operands'
shapes while the program is staged, and a mismatch becomes a `GradcError`
at the operator, naming both operands' shapes as the file writes them.

Dimensions unify by name: two dimensions agree when they are the same name
or the same number, and in broadcasting also when one is the number 1.
Two different names never agree, whatever sizes a call binds them to.
"""

from __future__ import annotations

from typing import Callable

from compiler.errors import GradcError, Span

Shape = tuple  # of str | int


def shown(shape: Shape) -> str:
    """`[N, D]`, `[D]`, or `a number`, as the file writes a shape."""
    return "a number" if not shape else "[" + ", ".join(map(str, shape)) + "]"


class Mismatch(Exception):
    """A rule's complaint, before it is located and given the operands' text."""


def _is(text: str, shape: Shape) -> str:
    return f"{text} is {shown(shape)}"


def elementwise(shapes: list[Shape], texts: list[str], gate) -> Shape:
    """NumPy's broadcasting: shapes line up at their last axis."""
    result: Shape = ()
    for shape in shapes:
        result = _broadcast(result, shape, texts, shapes)
    return result


def _broadcast(left: Shape, right: Shape, texts, shapes) -> Shape:
    if not left or left == right:
        return right
    if not right:
        return left
    width = max(len(left), len(right))
    left_padded = (1,) * (width - len(left)) + tuple(left)
    right_padded = (1,) * (width - len(right)) + tuple(right)
    result = []
    for a, b in zip(left_padded, right_padded):
        if a != b and 1 not in (a, b):
            described = " and ".join(_is(t, s) for t, s in zip(texts, shapes) if s)
            raise Mismatch(f"{described}; shapes broadcast only where their dimensions "
                           f"agree from the last axis ({a} and {b} differ)")
        result.append(b if a == 1 else a)
    return tuple(result)


def matrix_product(shapes: list[Shape], texts: list[str], gate) -> Shape:
    (a, b), (ta, tb) = shapes, texts
    for shape, text in ((a, ta), (b, tb)):
        if not shape:
            raise Mismatch(f"{text} is a number: '@' multiplies arrays; use '*' to "
                           "multiply by a number")
    inner = a[-1]
    if b[0] != inner:
        needed = (inner,) + tuple(b[1:])
        raise Mismatch(f"{_is(ta, a)} and {_is(tb, b)}; the product needs {tb} to be "
                       f"{shown(needed)}")
    return tuple(a[:-1]) + tuple(b[1:])


def swap_axes(shapes: list[Shape], texts: list[str], gate) -> Shape:
    (a,), (text,) = shapes, texts
    if len(a) != 2:
        kind = "a vector, which is neither a row nor a column" if a else "a number"
        raise Mismatch(f"{text} is {shown(a) + ', ' if a else ''}{kind}: only a matrix "
                       "has a transpose; write x @ W, W @ x or outer(u, v)")
    return (a[1], a[0])


def outer_product(shapes: list[Shape], texts: list[str], gate) -> Shape:
    for shape, text in zip(shapes, texts):
        if len(shape) != 1:
            raise Mismatch(f"{_is(text, shape)}: outer takes two vectors")
    return (shapes[0][0], shapes[1][0])


def _function(gate) -> str:
    """The function as a formula calls it: a per-axis row (`sum1`) has no
    spelling of its own, and its notation starts with its function's."""
    return gate.spellings[0] if gate.spellings else gate.notation.partition("(")[0]


def missing_axis(shape: Shape, text: str, axis: int) -> str:
    if not shape:
        return f"{text} is a number, which has no axis"
    return (f"{_is(text, shape)}, which has no axis {axis}: "
            f"the axes are {', '.join(map(str, range(len(shape))))}")


def _axis_checked(shape: Shape, text: str, gate) -> None:
    if not shape:
        raise Mismatch(f"{text} is a number: {_function(gate)} takes a vector or a matrix")
    if gate.axis is not None and gate.axis >= len(shape):
        raise Mismatch(f"{_is(text, shape)}, which has no axis {gate.axis}: "
                       f"the axes are {', '.join(map(str, range(len(shape))))}")


def either_product(shapes: list[Shape], texts: list[str], gate) -> Shape:
    """`·` is the matrix product between two arrays, else `*`."""
    return (matrix_product if all(shapes) else elementwise)(shapes, texts, gate)


def _axis_is_known(shapes: list[Shape], gate) -> None:
    # An axis the table has a row for was chosen by the row's constant
    # forms; any other second argument is not an axis gradc knows.
    if len(shapes) > 1:
        raise Mismatch(f"the axis of {_function(gate)} is 0 or 1, written as a number")


def reduce(shapes: list[Shape], texts: list[str], gate) -> Shape:
    """Over every entry (a number), or over the row's axis."""
    _axis_is_known(shapes, gate)
    _axis_checked(shapes[0], texts[0], gate)
    if gate.axis is None:
        return ()
    return tuple(d for i, d in enumerate(shapes[0]) if i != gate.axis)


def along(shapes: list[Shape], texts: list[str], gate) -> Shape:
    """Along an axis, keeping the shape (softmax)."""
    _axis_is_known(shapes, gate)
    _axis_checked(shapes[0], texts[0], gate)
    return shapes[0]


def column(shapes: list[Shape], texts: list[str], gate) -> Shape:
    """A vector stood up as a column, for alignment by name."""
    (a,) = shapes
    return (a[0], 1)


RULES: dict[str, Callable] = {
    "elementwise": elementwise, "matrix_product": matrix_product, "swap_axes": swap_axes,
    "outer_product": outer_product, "reduce": reduce, "along": along,
    "either_product": either_product, "as_column": column,
}


def picked(shapes: list[Shape], classes: list) -> Shape:
    """pick(S, y): S is [N, C] for labels y: [N] of C.  The message leaves
    the operands' text to be filled in ({0}, {1})."""
    scores, labels = shapes
    wanted = (labels[0], classes[1])
    if tuple(scores) != wanted:
        raise Mismatch(f"{{0}} is {shown(scores)} and {{1}} is {shown(labels)} of "
                       f"{classes[1]}; pick needs {{0}} to be {shown(wanted)}")
    return (labels[0],)


def one_hot(shapes: list[Shape], classes: list) -> Shape:
    """onehot(y): [N, C] for labels y: [N] of C."""
    return (shapes[0][0], classes[0])


LABEL_RULES: dict[str, Callable] = {"picked": picked, "one_hot": one_hot}
"""The rules of the gates that read labels, which also take each
operand's class count (None for an operand that is no labels)."""


def broadcasts(small: Shape, large: Shape) -> bool:
    """Whether NumPy's rule lines the two shapes up."""
    return all(a == b or 1 in (a, b) for a, b in zip(reversed(small), reversed(large)))


def aligned_by_name(small: Shape, large: Shape) -> bool:
    """Alignment by name (§8): where NumPy's rule fails, a vector lines up
    with the axis of a matrix that its dimension names, when the name occurs
    there once.  gradc's shapes have two axes at most, so the vector can only
    need to stand as a column: [N] against [N, D]."""
    return (len(small) == 1 and len(large) == 2 and not broadcasts(small, large)
            and isinstance(small[0], str) and large.count(small[0]) == 1
            and large[0] == small[0])


def axis_named(shape: Shape, dim: str, text: str) -> int:
    """The axis a dimension name means in an operand's shape (`axis=D`)."""
    axes = [i for i, d in enumerate(shape) if d == dim]
    if len(axes) > 1:
        raise Mismatch(f"{_is(text, shape)}: {dim} names {len(axes)} axes, so axis={dim} "
                       f"could be either: write axis={axes[0]} or axis={axes[1]}")
    if not axes:
        raise Mismatch(f"{_is(text, shape)}, which has no axis {dim}")
    return axes[0]


def infer(gate, shapes: list[Shape], spell: Callable[[], tuple[list[str], str]],
          span: Span, classes: list | None = None) -> Shape:
    """The shape of a stage of `gate` over operands of these shapes.  For a
    message, `spell()` gives the operands' text and the expression's: it is
    called only when there is one, since spelling every operator's operands
    would make staging quadratic in the formula's depth.  `classes`, for a
    gate that reads labels, is each operand's class count."""
    if gate.label_operands:
        try:
            return LABEL_RULES[gate.shape_rule](shapes, classes)
        except Mismatch as mismatch:
            texts, whole = spell()
            raise GradcError(f"{whole}: {str(mismatch).format(*texts)}", span) from None
    if gate.shape_rule == "elementwise" and not any(shapes):
        return ()  # numbers: every scalar formula takes only this line
    try:
        return RULES[gate.shape_rule](shapes, _STAND_INS[:len(shapes)], gate)
    except Mismatch as mismatch:
        texts, whole = spell()
        message = str(mismatch)
        for stand_in, text in zip(_STAND_INS, texts):
            message = message.replace(stand_in, text)
        raise GradcError(f"{whole}: {message}", span) from None


# What a rule's message holds in place of each operand's text until there is
# a message: characters no formula's text can contain.
_STAND_INS = [f"\0{index}\0" for index in range(64)]


def reduced_axes(operand: Shape, result: Shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """How broadcasting stretched `operand` to `result`: the leading axes
    it gained (summed away) and the axes where it had 1 (summed, kept)."""
    gained = len(result) - len(operand)
    kept = tuple(gained + i for i, d in enumerate(operand) if d == 1 and result[gained + i] != 1)
    return tuple(range(gained)), kept
