"""A result's code and its outermost ufunc -> the line that writes it into
its array; and how many points a block holds.

The numpy target's `grad` works in blocks of points (templates/numpy.py.jinja).
`_grad_block` receives a slice of each result array, the value's and each
gradient's, under the result's own name, and fills it.  A line that
assigns a result, `f = num * invden`, becomes the ufunc call that computes
it straight into that slice, `np.multiply(num, invden, out=f)`: NumPy then
writes each result once, where a temporary array and a copy of it would
write it twice.  The lines after it read the slice by the same name.  A
line whose code is not one ufunc call (a name, a number) copies its value
into the slice: `dx[...] = z`.  Either way the numbers are the line's, bit
for bit, since an operator on arrays is its ufunc.
"""

from __future__ import annotations

from compiler.gates.expr import (Attr, BinOp, Call, Expr, Field, Function, Group, IfExp, Name,
                                 Number, Slice, Subscript, UnaryOp, children, map_children, walk)

BLOCK_BYTES = 2**23
"""What a block's arrays may take together, in bytes: about 8 MiB, inside
the caches of the machines gradc is measured on (docs/performance.md)."""

def block_power(arrays: int) -> int:
    """The power of 2 of the points a block holds, for a block whose
    inputs, results and scratch arrays make `arrays` arrays: 2^16, or fewer
    where the arrays would take more than BLOCK_BYTES, down to 2^12.  With
    fewer points Python's cost per ufunc call (about 0.4 µs) weighs more;
    with more, a block's arrays leave the L2 cache.  Measured from 2^13 to
    2^17 points on the examples (docs/performance.md)."""
    fitting = (BLOCK_BYTES // (8 * max(arrays, 1))).bit_length() - 1
    return max(min(fitting, 16), 12)


def written_into(name: str, call: tuple[str, tuple[str, ...]] | None, code: str,
                 numpy: str = "np") -> str:
    """The line that computes `code` into the result array `name`: the
    ufunc call `code` makes last (printers.Call), with `out=`, or a copy
    when it makes none; `numpy` is the module's name for NumPy."""
    if call is None:
        return f"{name}[...] = {code}"
    ufunc, operands = call
    return f"{numpy}.{ufunc}({', '.join(operands)}, out={name})"


# -- one block's lines, each shared value computed once ----------------------

_LEAVES = (Name, Number, Function, Field, Slice)
_WORDS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", ">=": "ge", "<=": "le",
          ">": "gt", "<": "lt", "==": "eq", "!=": "ne", "&": "and"}


def shared_lines(lines: list[tuple[str, Expr]], results: frozenset[str]
                 ) -> list[tuple[str, Expr]]:
    """A block's lines, `(name, tree)` in order, as the lines that compute
    each value once: a line no result needs is dropped, `exp(min(a, 0))` and
    `exp(-max(a, 0))` read the `exp(-abs(a))` that σ's denominator computes
    (`one_exp`), and a value two lines compute becomes a line of its own,
    named after what it computes (`exp_x`), a test of which operand a max
    or min took compares the operands (`extremum_tests`); a result that only copies a
    value the block computed takes that value's line (`_into_results`).
    Every value keeps its bits: the same operations run on the same
    operands."""
    lines = _live(extremum_tests([(name, one_exp(_bare(tree))) for name, tree in lines]),
                  results)
    taken = {name for name, _ in lines} | {node.id for _, tree in lines
                                           for node in walk(tree) if isinstance(node, Name)}
    numbering = _Numbering()
    roots = [numbering.number(tree) for _, tree in lines]
    for root in roots:
        numbering.uses[root] += 1
    out: list[tuple[str, Expr]] = []
    for (name, _), root in zip(lines, roots):
        tree = numbering.written(root, out, taken, top=True)
        if not isinstance(tree, _LEAVES):
            # Later lines read the value by this name; a line that only
            # copies a name or a number leaves that name to be read.
            numbering.names.setdefault(root, name)
        out.append((name, tree))
    return _into_results(out, results)


def one_exp(tree: Expr) -> Expr:
    """`exp(min(a, 0))` as `maximum(exp(-abs(a)), a >= 0)` and `exp(-max(a,
    0))` as `maximum(exp(-abs(a)), a <= 0)`: the same bits (exp(-|a|) is
    exp(a) where a < 0 and at most 1 elsewhere; NaN stays NaN), and the
    exp is the one σ's denominator `1 + exp(-abs(a))` computes already."""
    tree = map_children(tree, one_exp)
    if not (isinstance(tree, Call) and tree.func == Function("exp") and len(tree.args) == 1):
        return tree
    inner, test = tree.args[0], ">="
    if isinstance(inner, UnaryOp) and inner.op == "-":
        inner, test = inner.operand, "<="
    extremum = "minimum" if test == ">=" else "maximum"
    if not (isinstance(inner, Call) and inner.func == Function(extremum)
            and len(inner.args) == 2 and _is_zero(inner.args[1])):
        return tree
    operand = inner.args[0]
    decayed = Call(Function("exp"), (UnaryOp("-", Call(Function("abs"), (operand,))),))
    return Call(Function("maximum"), (decayed, BinOp(test, operand, Number("0"))))


_TESTS = {"maximum": ("greater_equal", "greater"), "minimum": ("less_equal", "less")}
"""A two-operand extremum's tests, as NumPy's comparisons of its operands
a, b: whether it took a (first, so at a tie), and whether it took b alone.
NumPy's, not Python's `a >= b`, since a and b may both be numbers, whose
`>=` gives a bool without the `.astype` the test is read through."""


def extremum_tests(lines: list[tuple[str, Expr]]) -> list[tuple[str, Expr]]:
    """A max's gradient tests, with m = maximum(a, b), `a == m` as
    `greater_equal(a, b)` and `(b == m) & (a != m)` as `greater(b, a)`
    (for min, `less_equal` and `less`): one
    comparison for three passes, and m no longer read.  The same booleans:
    a NaN operand makes m NaN and every test false, as either comparison is."""
    defined: dict[str, Expr] = {}

    def tests(node: Expr) -> Expr:
        node = map_children(node, tests)
        if isinstance(node, BinOp) and node.op == "==":
            taken = _extremum(node.right, defined)
            if taken and node.left == taken[1]:
                return Call(Function(_TESTS[taken[0]][0]), (taken[1], taken[2]))
        if isinstance(node, BinOp) and node.op == "&" and all(
                isinstance(side, BinOp) and side.right == node.left.right
                for side in (node.left, node.right)):
            taken = _extremum(node.left.right, defined)
            if (taken and node.left.op == "==" and node.right.op == "!="
                    and (node.left.left, node.right.left) == (taken[2], taken[1])):
                return Call(Function(_TESTS[taken[0]][1]), (taken[2], taken[1]))
        return node

    out = []
    for name, tree in lines:
        out.append((name, tests(tree)))
        defined[name] = tree
    return out


def _extremum(node: Expr, defined: dict[str, Expr]) -> tuple[str, Expr, Expr] | None:
    """(ufunc, a, b) where `node` is, or names, maximum(a, b) or minimum(a, b)."""
    if isinstance(node, Name):
        node = defined.get(node.id, node)
    if (isinstance(node, Call) and isinstance(node.func, Function)
            and node.func.name in _TESTS and len(node.args) == 2 and not node.keywords):
        return node.func.name, node.args[0], node.args[1]
    return None


def _is_zero(node: Expr) -> bool:
    return isinstance(node, Number) and node.value == 0


def _bare(tree: Expr) -> Expr:
    """The tree without the parentheses a row wrote (`Group`): the printer
    adds those precedence needs, and equal values compare equal."""
    while isinstance(tree, Group):
        tree = tree.inner
    return map_children(tree, _bare)


def hoisted(tree: Expr, taken: set[str]) -> tuple[list[tuple[str, Expr]], Expr]:
    """`tree` as the lines that compute each value it reads twice once
    (`exp_x = np.exp(-np.abs(x))`), named after what they compute and none
    of `taken` (which gains their names), and the tree that reads them."""
    numbering = _Numbering()
    root = numbering.number(_bare(tree))
    numbering.uses[root] += 1
    out: list[tuple[str, Expr]] = []
    return out, numbering.written(root, out, taken, top=True)


def _live(lines: list[tuple[str, Expr]], results: frozenset[str]) -> list[tuple[str, Expr]]:
    """The lines a result reads, directly or through other lines."""
    needed, kept = set(results), []
    for name, tree in reversed(lines):
        if name in needed:
            kept.append((name, tree))
            needed |= {node.id for node in walk(tree) if isinstance(node, Name)}
    return kept[::-1]


class _Numbering:
    """Value numbering: equal subtrees get one number; `uses` counts the
    places that read each number once computed (a parent computed once
    reads its operands once), and `names` what a computed number is called."""

    def __init__(self):
        self.key: dict[Expr, int] = {}
        self.nodes: list[tuple[Expr, tuple[int, ...]]] = []
        self.uses: list[int] = []
        self.names: dict[int, str] = {}

    def number(self, node: Expr) -> int:
        operands = () if opaque(node) else tuple(map(self.number, children(node)))
        marks = iter(operands)
        key = node if not operands else map_children(node, lambda _: Name(f" {next(marks)}"))
        found = self.key.get(key)
        if found is None:
            found = self.key[key] = len(self.nodes)
            self.nodes.append((node, operands))
            self.uses.append(0)
            for operand in operands:
                self.uses[operand] += 1
        return found

    def written(self, number: int, out: list, taken: set[str], top: bool = False) -> Expr:
        """The tree of `number`, each operand computed by a line already
        by that line's name; a value read twice and not yet computed gets
        a line of its own first, appended to `out`."""
        if number in self.names:
            return Name(self.names[number])
        node, operands = self.nodes[number]
        if not operands:
            return node
        written = iter([self.written(operand, out, taken) for operand in operands])
        tree = map_children(node, lambda _: next(written))
        if top or self.uses[number] < 2 or not _computed(node):
            return tree
        name = fresh_name(named_after(tree), taken)
        out.append((name, tree))
        self.names[number] = name
        return Name(name)


def opaque(node: Expr) -> bool:
    """A node numbered whole, its parts never shared: a leaf, and a
    conditional or an `and`, whose parts may not all run (a shared part
    would run before the line, whatever the test)."""
    return isinstance(node, (*_LEAVES, IfExp)) or isinstance(node, BinOp) and node.op == "and"


def _computed(node: Expr) -> bool:
    """Whether a node is a value worth a line: not a method (`.astype`)
    and not a number alone."""
    return not isinstance(node, (Attr, Subscript)) and any(
        isinstance(each, Name) for each in walk(node))


def named_after(tree: Expr) -> str:
    """A line's name from what it computes: its outermost operation and
    the first name it reads (`exp_x`, `add_x`)."""
    if isinstance(tree, Call) and isinstance(tree.func, Function):
        word = tree.func.name.rsplit(".", 1)[-1]
    elif isinstance(tree, BinOp):
        word = _WORDS.get(tree.op, "value")
    else:
        word = "neg" if isinstance(tree, UnaryOp) else "value"
    first = next(node.id for node in walk(tree) if isinstance(node, Name))
    return f"{word}_{first}"


def fresh_name(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate in taken:
        count += 1
        candidate = f"{name}{count}"
    taken.add(candidate)
    return candidate


def _into_results(lines: list[tuple[str, Expr]], results: frozenset[str]
                  ) -> list[tuple[str, Expr]]:
    """A result that only copies a value the block computed (`dz = q`)
    takes that value's line instead: `q` is computed straight into dz's
    slice, and the lines after read it there, one pass and one array
    fewer.  An input is the caller's and is copied still."""
    defined = {name for name, _ in lines}
    moved: dict[str, str] = {}
    for name, tree in lines:
        if (name in results and isinstance(tree, Name) and tree.id in defined
                and tree.id not in results and tree.id not in moved):
            moved[tree.id] = name
    if not moved:
        return lines

    def renamed(node: Expr) -> Expr:
        if isinstance(node, Name):
            return Name(moved.get(node.id, node.id))
        return map_children(node, renamed)
    return [(moved.get(name, name), renamed(tree)) for name, tree in lines
            if not (isinstance(tree, Name) and moved.get(tree.id) == name)]
