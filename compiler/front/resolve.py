"""AST statements -> Program: the language's rules about names.

Decides what every name means (an input, an earlier stage, or the constant
e or π), the inputs and their order, and the output; checks single
assignment, use before assignment, the signature, and every call against
the gate table.  Everything after this step may assume a valid program.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import NamedTuple

from compiler import gates
from compiler.errors import GradcError, Span
from compiler.front.syntax import (Apply, Bare, Declare, Declared, Expr, Keyword, Name, Number,
                                   Signature, Statement, preorder, spelled)
from compiler.front.textbook import textbook_notation

# Named constants.  Each means its value only where the file does not make
# the name an input (in a signature) or a stage, so `e = (y - w*x)^2` works.
CONSTANTS: dict[str, float] = {"e": math.e, "pi": math.pi, "π": math.pi}


class Binding(NamedTuple):
    """One stage the file names: `name = value`.  A named tuple, as the
    AST's records are: a file makes one per line."""

    name: str
    value: Expr
    span: int
    name_span: int
    """The ints of `Span`s, as the AST's."""


@dataclass(frozen=True)
class Program:
    """A checked formula file.

    In `bindings`, an operator's `Apply.func` is a gate name, a call's is
    the function as written, which `gate_name` maps to its gate; a `Name`
    is an input, an earlier binding, a dimension, or a key of `constants`.  The last binding is the
    output; `output_named` is False when the file gave it no name.
    """

    inputs: tuple[Name, ...]
    bindings: tuple[Binding, ...]
    constants: dict[str, float]
    output_named: bool
    signature: bool
    shapes: dict[str, tuple[str | int, ...]] = None
    """Each declared input's shape, dimensions as written (§8)."""
    dims: tuple[str, ...] = ()
    """The dimension names, in the order the declarations first name them;
    in a formula each is a number, its size."""
    calls: dict[str, str] = None
    """The gate each function name the file calls means, decided here once."""
    declared_at: dict[str, Span] = None
    """Where each declared input's declaration names it, for errors about
    the file as a whole (the math target refuses arrays)."""
    labels: dict[str, str | int] = None
    """Each input declared as labels (`y: [N] of C`), and its class count."""

    def gate_name(self, node: Apply) -> str:
        return self.calls[node.func] if node.is_call else node.func

    @property
    def shaped(self) -> bool:
        return bool(self.shapes)


def resolve(statements: tuple[Statement, ...]) -> Program:
    statements, declarations, signature = _split(statements)
    _check_statement_forms(statements)
    assigned = _assigned_names(statements)
    params = _check_params(signature, assigned) if signature else {}
    shapes, dims = _declared_shapes(declarations, assigned, params, signature)
    labels = {d.target.id: d.classes.value for d in declarations if d.classes is not None}
    _check_class_counts(declarations)
    if shapes:
        statements = textbook_notation(statements, {*assigned, *params, *shapes, *dims})
    constants = {name: value for name, value in CONSTANTS.items()
                 if name not in assigned and name not in params and name not in dims}
    calls: dict[str, str] = {}
    free = _check_uses(statements, assigned, constants, dims, calls, {*params, *shapes})
    if labels or any(gates.GATES[gate].label_operands for gate in calls.values()):
        _check_labels(statements, labels, calls)
    # The signature fixes the inputs for the whole file, so the shapes it
    # declares hold in the stages written above it too.
    own_lines = declarations[len(signature.declared):] if signature else declarations
    _check_declared_before_use(own_lines, free, statements)
    return Program(
        inputs=_inputs(signature, free, shapes, {*assigned, *dims}) if signature else _first_uses(declarations, free),
        bindings=tuple(_binding(statement) for statement in statements),
        constants=constants,
        output_named=not isinstance(statements[-1], Bare),
        signature=signature is not None,
        shapes=shapes,
        dims=dims,
        calls=calls,
        declared_at={d.target.id: Span.of(d.target.span) for d in declarations},
        labels=labels,
    )


def _split(statements: tuple[Statement, ...]):
    """(the formula's statements, every declaration, the signature or None);
    the signature's own declarations come first, as it binds the whole file."""
    declarations = [s for s in statements if isinstance(s, Declare)]
    statements = tuple(s for s in statements if not isinstance(s, Declare))
    if not statements:
        raise GradcError("expected a formula, such as f(x, y) = x * y", Span(1, 1, 1, 1))
    signature = statements[-1] if isinstance(statements[-1], Signature) else None
    if signature is not None:
        declarations = list(signature.declared) + declarations
    return statements, declarations, signature


def _first_uses(declarations: list[Declare], free: dict[str, Name]) -> tuple[Name, ...]:
    """The inputs of a file without a signature, in order of first appearance.
    A declaration is an input's first appearance, and declares it even where
    no formula reads it."""
    first = {d.target.id: d.target for d in declarations}
    first.update((name, node) for name, node in free.items() if name not in first)
    return tuple(first.values())


def _declared_shapes(declarations: list[Declare], assigned, params, signature):
    """Each declared name's shape, and the dimension names in order."""
    shapes: dict[str, tuple[str | int, ...]] = {}
    dims: dict[str, int] = {}
    for declaration in declarations:
        name = declaration.target
        if name.id in shapes:
            raise GradcError(f"'{name.id}' is declared twice: give each input one shape",
                             name.span)
        if name.id in assigned:
            raise GradcError(f"'{name.id}' is a stage, and only inputs are declared: a "
                             "stage's shape follows from its formula", name.span)
        if signature is not None and name.id not in params:
            shown = ", ".join(p.id for p in signature.params)
            raise GradcError(f"'{name.id}' is declared but is not an input of "
                             f"{signature.target.id}({shown})", name.span)
        shapes[name.id] = tuple(dim.value for dim in declaration.shape)
        if declaration.classes is not None and len(declaration.shape) != 1:
            raise GradcError(f"labels are a vector, one class number per example: declare "
                             f"them as {name.id}: [N] of C", name.span)
        classes = (declaration.classes,) if declaration.classes is not None else ()
        for dim in declaration.shape + classes:
            if isinstance(dim.value, str):
                dims.setdefault(dim.value, dim.span)
    for dim, span in dims.items():
        if dim in shapes or dim in params or dim in assigned:
            kind = "a stage" if dim in assigned else "an input"
            raise GradcError(f"'{dim}' is a dimension name and {kind}: give the dimension "
                             "another name", span)
    return shapes, tuple(dims)


def _check_class_counts(declarations: list[Declare]) -> None:
    """A class count named by a dimension is a size some array input has,
    so that a call binds it."""
    sized = {dim.value for d in declarations for dim in d.shape}
    for declaration in declarations:
        count = declaration.classes
        if count is not None and isinstance(count.value, str) and count.value not in sized:
            raise GradcError(f"'{count.value}' counts the classes of {declaration.target.id} "
                             f"but no array has it in its shape, so no call would say how "
                             f"many there are: write the number ({declaration.target.id}: "
                             f"[...] of 10), or declare the scores' shape with it",
                             count.span)


def _check_declared_before_use(declarations, free: dict[str, Name], statements) -> None:
    """A declaration must come before the line that first uses its name."""
    for declaration in declarations:
        used = free.get(declaration.target.id)
        if used is not None and Span.of(used.span).start < Span.of(declaration.span).start:
            raise GradcError(f"'{declaration.target.id}' is declared after its first use "
                             f"(at {Span.of(used.span)}): declare it on a line before",
                             declaration.target.span)


def _binding(statement: Statement) -> Binding:
    if isinstance(statement, Bare):
        return Binding("f", statement.value, statement.span, statement.span)
    return Binding(statement.target.id, statement.value, statement.span,
                   statement.target.span)


def _check_statement_forms(statements: tuple[Statement, ...]) -> None:
    for statement in statements[:-1]:
        if isinstance(statement, Bare):
            raise GradcError("a bare expression must be the last statement: "
                             "name this one, as in q = ...", statement.span)
        if isinstance(statement, Signature):
            raise GradcError("the signature names the output, so it must be the last "
                             "statement: use name = ... for a stage", statement.span)


def _assigned_names(statements: tuple[Statement, ...]) -> dict[str, tuple[int, int]]:
    """Each assigned name's statement index and span."""
    assigned: dict[str, tuple[int, int]] = {}
    for index, statement in enumerate(statements):
        if isinstance(statement, Bare):
            continue
        target = statement.target
        if target.id in assigned:
            first = Span.of(assigned[target.id][1])
            raise GradcError(f"'{target.id}' is already assigned at {first}: stages are "
                             "assigned once, so pick a new name", target.span)
        assigned[target.id] = (index, target.span)
    return assigned


def _check_params(signature: Signature, assigned) -> dict[str, int]:
    params: dict[str, int] = {}
    for param in signature.params:
        if param.id in params:
            raise GradcError(f"'{param.id}' is listed twice in the signature", param.span)
        if param.id == signature.target.id:
            raise GradcError(f"'{param.id}' names the output, so it cannot also be an input",
                             param.span)
        if param.id in assigned and param.id != signature.target.id:
            raise GradcError(f"'{param.id}' is assigned at {Span.of(assigned[param.id][1])}, so it "
                             "cannot be an input", param.span)
        params[param.id] = param.span
    return params


def _check_uses(statements, assigned, constants, dims, calls, declared) -> dict[str, Name]:
    """Checks every name and call; returns the free names, in text order.
    A dimension name is a number in a formula, not an input.  `declared`:
    the inputs the signature or a shape names."""
    free: dict[str, Name] = {}
    for index, statement in enumerate(statements):
        # `preorder` written out: this walk meets every node of the file.
        stack = [statement.value]
        while stack:
            node = stack.pop()
            if isinstance(node, Name):
                name = node.id
                if name in dims:
                    continue
                where = assigned.get(name)
                if where is not None:
                    if where[0] >= index:
                        raise GradcError(f"'{name}' is used before it is assigned (at "
                                         f"{Span.of(where[1])}): assign a stage before the lines "
                                         "that use it", node.span)
                elif name not in constants and name not in free:
                    free[name] = node
            elif isinstance(node, Apply):
                if node.is_call:
                    calls[node.func] = _check_call(node, (assigned, declared), free, dims)
                stack.extend(reversed(node.args))
            elif isinstance(node, Declared):
                raise GradcError("a shape is declared in a signature or on a line of its "
                                 "own, as in X: [N, D]", node.span)
    return free


def _check_call(node: Apply, values, free, dims) -> str:
    """The name of the gate the call means; `values`: the stages and the
    declared inputs (two collections, looked up in turn: a union made per
    call made resolving quadratic), which a call's name may mean to multiply."""
    gate = gates.lookup(node.func)
    if gate is None or not node.func.isidentifier():
        raise GradcError(_unknown_function(node.func, values, free), node.func_span)
    _check_keywords(node, gate, dims)
    if isinstance(node.args[-1], Keyword) and gate.axis_rows:
        # The axis by keyword: the array is the one other argument.
        if len(node.args) != 2:
            raise GradcError(f"'{node.func}' takes one array when its axis is given by "
                             f"keyword, as in {node.func}(A, axis=1)", node.func_span)
    elif not gate.accepts(len(node.args)):
        raise GradcError(gate.count_refused(node.func, len(node.args)), node.func_span)
    if gate.optional and len(node.args) > gate.arity \
            and not isinstance(node.args[gate.arity], Keyword):
        _check_axis(node, node.args[gate.arity])
    return gate.name


def _check_axis(call: Apply, axis: Expr) -> None:
    """An axis is a whole number as NumPy writes one (§8): `1`, not `1.0`,
    `01` or `0.5 + 0.5`, which would choose an axis by arithmetic.  A name
    is left to the shape rules, which say what an axis may be."""
    if isinstance(axis, Name):
        return
    span = Span.of(axis.span)
    whole = isinstance(axis, Number) and axis.integral and span.line == span.end_line \
        and span.end_column - span.column == len(str(int(axis.value)))
    if not whole:
        raise GradcError(f"the axis of {call.func} is written as a whole number, 0 or 1, "
                         f"as in {call.func}({spelled(call.args[0])}, 1)", axis.span)


def _check_keywords(node: Apply, gate, dims) -> None:
    """`axis=` is the one keyword, last, of a function that takes an axis;
    its value is a whole number or a dimension name."""
    for position, arg in enumerate(node.args):
        if not isinstance(arg, Keyword):
            continue
        if arg.name.id != "axis":
            raise GradcError(f"unknown keyword '{arg.name.id}': the one keyword is axis, "
                             f"as in sum(A, axis=1)", arg.name.span)
        if not gate.axis_rows:
            raise GradcError(f"'{node.func}' takes no axis", arg.name.span)
        if position != len(node.args) - 1:
            raise GradcError("the axis comes last, after the array", arg.span)
        value = arg.value
        if not (getattr(value, "integral", False) or isinstance(value, Name)
                and value.id in dims):
            raise GradcError("an axis is 0 or 1, or a dimension name of the array's shape, "
                             "as in sum(X, axis=1) or sum(X, axis=D)", value.span)


def _check_labels(statements, labels: dict, calls: dict[str, str]) -> None:
    """Labels are data: they are read only where a gate takes labels
    (`pick(S, y)`, `onehot(y)`), and such a place reads only labels."""
    for statement in statements:
        allowed: set[int] = set()
        for node in preorder(statement.value):
            if isinstance(node, Apply) and node.is_call:
                positions = gates.GATES[calls[node.func]].label_operands
                for position, arg in enumerate(node.args):
                    is_label = isinstance(arg, Name) and arg.id in labels
                    if position in positions and not is_label:
                        raise GradcError(f"{node.func} reads labels here: an input declared "
                                         f"as y: [N] of C", arg.span)
                    if is_label and position in positions:
                        allowed.add(id(arg))
            elif isinstance(node, Name) and node.id in labels and id(node) not in allowed:
                raise GradcError(f"'{node.id}' holds class labels, which are read only "
                                 f"through pick(S, {node.id}) or onehot({node.id})", node.span)


def _unknown_function(name: str, values, free) -> str:
    if any(name in each for each in values) or name in free:
        return f"'{name}' is a variable, not a function: write {name}*(...) to multiply"
    near = difflib.get_close_matches(name, gates.FUNCTION_NAMES, n=1, cutoff=0.6)
    if near:
        return f"unknown function '{name}': did you mean '{near[0]}'?"
    return f"unknown function '{name}': the functions are {', '.join(gates.FUNCTION_NAMES)}"


def _inputs(signature: Signature, free: dict[str, Name], shapes, numbers) -> tuple[Name, ...]:
    """The signature's inputs, once every free name is one of them.
    `shapes`: the declared arrays; `numbers`: the stages and dimensions."""
    listed = {param.id for param in signature.params}
    for name, node in free.items():
        if name not in listed:
            shown = ", ".join(p.id for p in signature.params)
            product = _product_meant(name, listed | numbers, shapes)
            advice = (f"letters written together make one name; to multiply, write {product}, "
                      "or list it in the signature or assign it") if product else \
                "list it in the signature or assign it"
            raise GradcError(f"'{name}' is not an input of {signature.target.id}({shown}): "
                             f"{advice}", node.span)
    return signature.params


def _product_meant(name: str, scope, shapes) -> str | None:
    """`xW` as the product of names in scope, `x @ W`, in the fewest
    factors; `@` between two declared arrays (§8 refuses them side by
    side), `*` otherwise."""
    splits: dict[int, list[str]] = {0: []}
    for end in range(1, len(name) + 1):
        ways = [splits[start] + [name[start:end]] for start in sorted(splits)
                if name[start:end] in scope]
        if ways:
            splits[end] = min(ways, key=len)
    factors = splits.get(len(name))
    if not factors or len(factors) < 2:
        return None
    text = factors[0]
    for left, right in zip(factors, factors[1:]):
        text += f" {'@' if left in shapes and right in shapes else '*'} {right}"
    return text
