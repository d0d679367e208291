"""Expression trees (gates/expr.py) -> code, one printer class per target.

As SymPy's code printers do, a printer has one method per node type and a
table of the functions whose name differs in its target (`known`).  It
prints a tree once into a template whose placeholders are still `{a}`,
`{out}`, ...; the stage printer (stages.py) fills that template for each
stage, so a formula of 10^5 gates prints each distinct snippet once.

A printer records what it printed: whether the code calls the target's
module, and which functions it called by their bare names (the compact
style of the math target: `exp(x)` after `from math import exp`, one
lookup fewer per call), so that a module's imports follow from its code.
"""

from __future__ import annotations

from compiler.gates import expr
from compiler.gates.targets import NUMBA_MATH, NUMPY_NAMES
from compiler.gates.expr import (POSTFIX, UNARY, Attr, BinOp, Call, Expr, Field,
                                 Function, Group, Name, Number, Slice, Subscript, UnaryOp)

UfuncCall = tuple[str, tuple[str, ...]]
"""A NumPy ufunc's name and the code of its operands: `("multiply", ("x", "y"))`."""


class CodePrinter:
    """The math target's spelling: `math.exp({a})`, Python's operators."""

    module = "math"
    known: dict[str, str] = {}
    """The canonical names (gates/expr.py) this target spells otherwise."""

    def __init__(self, module: str | None = None, bare: frozenset[str] | None = None,
                 names: dict[str, str] | None = None):
        """`module`: the generated module's name for the target's module
        (`np_` where a value of the file is called `np`).  `bare`: when
        set, the names a function called bare must not shadow, and calls
        are printed bare wherever their name is free.  `names`: how the
        module spells its own names that code reads (`dtype`)."""
        self.module = module or self.module
        self.bare = bare
        self.names = names or {}
        self.calls_module = False
        """Whether some code printed so far calls the module by its name."""
        self.bare_names: set[str] = set()
        """The module's functions printed by their bare names."""
        self._printed: dict[int, tuple[Expr, str]] = {}
        """Each tree printed, by identity: the table's trees live as long
        as the table, and each is kept here beside its code."""

    def __call__(self, node: Expr) -> str:
        """The tree's code, with its placeholders left to fill."""
        printed = self._printed.get(id(node))
        if printed is None:
            printed = self._printed[id(node)] = (node, self.print(self.lower(node)))
        return printed[1]

    def lower(self, node: Expr) -> Expr:
        """The tree as this target computes it: the same tree, but where a
        target has no function for a call and writes it otherwise."""
        return node

    def print(self, node: Expr) -> str:
        return getattr(self, "_print_" + type(node).__name__)(node)

    def operand(self, node: Expr, needed: int) -> str:
        return self.print(expr.parenthesize(node, needed))

    def _print_Number(self, node: Number) -> str:
        return node.text

    def _print_Field(self, node: Field) -> str:
        return "{" + node.name + "}"

    def _print_Name(self, node: Name) -> str:
        return self.names.get(node.id, node.id)

    def _print_Function(self, node: Function) -> str:
        name = self.known.get(node.name, node.name)
        if self.bare is not None and name not in self.bare:
            self.bare_names.add(name)
            return name
        self.calls_module = True
        return f"{self.module}.{name}"

    def _print_Attr(self, node: Attr) -> str:
        return f"{self.operand(node.value, POSTFIX)}.{node.name}"

    def _print_Call(self, node: Call) -> str:
        arguments = [self.print(arg) for arg in node.args]
        arguments += [f"{name}={self.print(value)}" for name, value in node.keywords]
        return f"{self.operand(node.func, POSTFIX)}({', '.join(arguments)})"

    def _print_UnaryOp(self, node: UnaryOp) -> str:
        return node.op + self.operand(node.operand, UNARY)

    def _print_BinOp(self, node: BinOp) -> str:
        left, right = expr.operand_levels(node)
        space = "" if node.op == "**" else " "
        return (f"{self.operand(node.left, left)}{space}{node.op}{space}"
                f"{self.operand(node.right, right)}")

    def _print_IfExp(self, node: expr.IfExp) -> str:
        return (f"{self.operand(node.body, expr.CONDITIONAL + 1)} if "
                f"{self.operand(node.test, expr.CONDITIONAL + 1)} else "
                f"{self.operand(node.orelse, expr.CONDITIONAL)}")

    def _print_Subscript(self, node: Subscript) -> str:
        return f"{self.operand(node.value, POSTFIX)}[{', '.join(map(self.print, node.index))}]"

    def _print_Slice(self, node: Slice) -> str:
        return ":"

    def _print_Group(self, node: Group) -> str:
        return f"({self.print(node.inner)})"


class NumpyPrinter(CodePrinter):
    """NumPy's spelling: `np.exp`, `np.arcsin`, `np.power`."""

    module = "np"
    known = {name: numpy for numpy, name in NUMPY_NAMES.items()}

    def ufunc_call(self, node: Expr) -> tuple[str, tuple[Expr, ...]] | None:
        """The ufunc the code computes last, and its operands, or None: a
        block of points computes that ufunc straight into its result
        (blocks.py)."""
        if isinstance(node, BinOp) and node.op in _OPERATOR_UFUNCS:
            operands: tuple[Expr, ...] = (node.left, node.right)
            name = _OPERATOR_UFUNCS[node.op]
        elif isinstance(node, UnaryOp):
            name, operands = "negative", (node.operand,)
        elif isinstance(node, Number) and node.text.startswith("-"):
            name, operands = "negative", (Number(node.text[1:]),)
        elif isinstance(node, Call) and isinstance(node.func, Function) and not node.keywords:
            name, operands = self.known.get(node.func.name, node.func.name), node.args
        else:
            return None
        if name not in UFUNCS:
            return None
        # An operand is an argument now: the parentheses the row wrote go.
        return name, tuple(op.inner if isinstance(op, Group) else op for op in operands)


_OPERATOR_UFUNCS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}

UFUNCS = frozenset((
    "exp log sqrt square tanh sin cos tan arcsin arccos arctan arctan2 sinh cosh log1p "
    "expm1 power abs sign maximum minimum add subtract multiply divide negative").split())
"""The NumPy functions gate code calls that are ufuncs (a test checks each
against NumPy), so that the compiler itself never imports NumPy."""


class NumbaPrinter(NumpyPrinter):
    """NumPy's spelling, but the functions the module writes itself
    (targets.NUMBA_MATH) by the module's names for them: `_exp(x)`.  It
    records which it printed, so that the module writes those alone."""

    def __init__(self, module: str | None = None, bare: frozenset[str] | None = None,
                 names: dict[str, str] | None = None):
        super().__init__(module, bare, names)
        self.own_calls: set[str] = set()

    def _print_Function(self, node: Function) -> str:
        if node.name not in NUMBA_MATH:
            return super()._print_Function(node)
        self.own_calls.add(node.name)
        return self.names.get("_" + node.name, "_" + node.name)


class ArrayApiPrinter(NumpyPrinter):
    """The array API standard's spelling of NumPy's code: `xp` is the
    namespace of the inputs (array_api_compat.array_namespace), `dtype` and
    `device` the module's (the inputs' floating type and device)."""

    module = "xp"
    known: dict[str, str] = {}

    def lower(self, node: Expr) -> Expr:
        node = expr.map_children(node, self.lower)
        if isinstance(node, Call) and isinstance(node.func, Function) \
                and node.func.name in _STANDARD_FORMS:
            return _STANDARD_FORMS[node.func.name](*node.args)
        if isinstance(node, Call) and isinstance(node.func, Attr) and node.func.name == "astype":
            # NumPy's method is the standard's function, in the inputs' type.
            receiver = expr.parenthesize(node.func.value, POSTFIX)
            return Call(Function("astype"), (receiver, Name("dtype")))
        if isinstance(node, Subscript) and node.index == (Slice(), Name("None")):
            # A reduction's gradient regaining its axis: g[:, None].
            return _expand(node.value)
        return node


def _expand(node: Expr) -> Expr:
    return Call(Function("expand_dims"), (node,), (("axis", Number("1")),))


def _ones(shape: Expr) -> Expr:
    """Ones of an operand's shape: `ones_like` of the operand, which makes
    them in its type, on its device and (on Dask) in its chunks, without
    reading its values; ones of the written shape otherwise."""
    if shape == Field("shape_a"):
        return Call(Function("ones_like"), (Field("a"),))
    return Call(Function("ones"), (shape,), (("dtype", Name("dtype")), ("device", Name("device"))))


_STANDARD_FORMS = {
    # np.outer(u, v): a column times a row, by broadcasting.
    "outer": lambda u, v: BinOp("*", _expand(u), v),
    # The Euclidean (Frobenius) norm over every entry; the standard's
    # linalg extension is optional (Dask lacks parts of it).
    "linalg.norm": lambda a: Call(Function("sqrt"), (Call(Function("sum"), (BinOp("*", a, a),)),)),
    # Arrays are made in the inputs' type and on their device.
    "ones": _ones,
    "full": lambda shape, value: BinOp("*", _ones(shape), value),
}
"""NumPy calls the standard has no function for, as the standard's code."""

PRINTERS: dict[str, type[CodePrinter]] = {
    "math": CodePrinter, "numpy": NumpyPrinter, "numba": NumbaPrinter,
    "array-api": ArrayApiPrinter}
"""Each target's printer; a new target is a printer and a template."""


def printer(target: str, module: str | None = None, bare: frozenset[str] | None = None,
            names: dict[str, str] | None = None) -> CodePrinter:
    return PRINTERS[target](module, bare, names)
