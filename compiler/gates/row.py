"""The row format of the gate table: `Gate`, and the records a row holds
(`ConstForm`, `Form`, `Rewrite`).

Snippets are Python text with named placeholders:

    {a} {b}      the operands (stage or input names, or printed constants)
    {a0} {a1} .. the operands of a variadic gate, in its local gradients
    {args}       a variadic gate's operands joined by ", ", in its forward
    {c}          the constant a constant-specialised gate carries
    {out}        the gate's own (cached) output
    {g}          in an array row's backward rule, the upstream gradient
    {t}          in an array row's forward rule, the operand's tangent

Local-gradient snippets are written without outer parentheses; the emitter
adds them (`(1) * dden`, as the lecture writes it).  Each snippet of code
is parsed once into an expression tree (expr.py), which the printers print
for each target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from compiler.gates.expr import BinOp, Expr, Field, Group, Name, Number, UnaryOp, parse
from compiler.gates.targets import TARGETS

HELPER_FIELDS = frozenset(("p", "q"))
"""The placeholders of the values a row reads beside its operands (Gate.helpers)."""


@dataclass(frozen=True)
class ConstForm:
    """Lower to `gate` when operand `position` is a constant (equal to
    `value`, when one is given).  The constant becomes the new gate's `{c}`
    unless the new gate takes none; the other operand becomes its `{a}`."""

    position: int
    gate: str
    value: float | None = None
    whole: bool | None = None
    """When set, the constant must (or must not) be a whole number."""

    def matches(self, constant: float) -> bool:
        return (self.value in (None, constant)
                and self.whole in (None, float(constant).is_integer()))


@dataclass(frozen=True)
class Form:
    """A gate's code in one target, shaped like `Gate.forward` and `Gate.local`;
    a variadic row's forward may also be a function of the operand count."""

    forward: str | Callable[[int], str]
    local: tuple[str, ...] | Callable[[int, int], str]
    vjp: Callable[[int, tuple[int, ...]], str] | None = None
    """An array row's backward rule in this target, where translating
    numpy's would not do (Gate.vjp)."""
    jvp: Callable[[int, tuple[int, ...]], str] | None = None
    """Its forward rule in this target, likewise (Gate.jvp)."""


@dataclass(frozen=True)
class Rewrite:
    """An exact reformulation: when the gate's operand is an unnamed stage of
    gate `operand` (which only this gate reads), lower the pair to `plan`, a
    `staged_as` tuple over that stage's operands.  A row that takes a
    constant may ask for one value of it (`constant`): `1 - σ(x)`, not
    `2 - σ(x)`."""

    operand: str
    plan: tuple | int
    constant: float | None = None
    inner: str | None = None
    """When set, that stage's own operand must in turn be an unnamed stage
    of gate `inner`, read only there, and `plan` is over its operands:
    log(sum(exp(A))) is logsumexp(A)."""

    def applies(self, constant) -> bool:
        """Whether the rewrite holds for a stage of this constant (a Const
        or None)."""
        return self.constant is None or (
            constant is not None and constant.value == self.constant)


@dataclass(frozen=True)
class Gate:
    name: str
    spellings: tuple[str, ...]
    """How a formula writes it: operator symbols or function names."""
    arity: int
    """Operand count; for a variadic gate, the least count."""
    forward: str
    local: tuple[str, ...] | Callable[[int, int], str]
    """One snippet per operand; a variadic row gives a function of
    (operand index, operand count) that returns the snippet."""
    mnemonic: str
    """Template for an unnamed stage's name, in the lecture's style."""
    stem: str
    """A short name for when the mnemonic grows too long."""
    symbol: str
    """What a circuit drawing writes inside the gate; `{c}` is the constant."""
    notation: str
    """The gate in math notation, with the forward snippet's placeholders:
    `σ({a})`, `{a} × {b}`; `gradc explain` shows each stage this way."""
    takes_constant: bool = False
    variadic: bool = False
    const_forms: tuple[ConstForm, ...] = ()
    staged_as: tuple = ()
    """A composite operator lowered to other gates, as a nested tuple of
    gate names and operand indices: ("mul", 0, ("inv", 1)) is a * inv(b)."""
    roles: tuple[str, ...] = ()
    """Names for unnamed operand stages of a composite (num, den)."""
    kink: str | None = None
    """Where the local gradient follows a convention rather than calculus."""
    kink_at: str | None = None
    """A condition on the operands and `{out}`, true exactly where `kink`
    applies; `gradc check` runs it on the staged values as NumPy code (`np`),
    numbers and arrays alike, entry by entry: a stage is on its kink where
    any entry is."""
    commutative: bool = False
    """Swapping the operands changes neither the value nor any local
    gradient, so `x + y` and `y + x` are one stage.  max and min are not:
    the first of tied arguments takes the gradient."""
    chain: str | None = None
    """A key of `CHAINS`: two stages of this chain in a row fold into one,
    their constants combined (`2 * (3 * x)` is `6 * x`)."""
    forms: tuple[tuple[str, Form], ...] = ()
    """(target, Form) pairs: the row's own code in a target where the
    target's systematic translation of the math code would be wrong."""
    rewrites: tuple[Rewrite, ...] = ()
    shape_rule: str = "elementwise"
    """How the stage's shape follows from its operands' (compiler/passes/shapes.py)."""
    axis: int | None = None
    """The axis a reduction or a softmax works along (None: every entry;
    -1: the last axis)."""
    vjp: Callable[[int, tuple[int, ...]], str] | None = None
    """The backward rule of an array gate: for an operand index and the
    operands' ranks, a snippet over the upstream gradient `{g}`, such as
    `{g} @ {b}.T`.  None: the elementwise rule `(local) * {g}`, from
    `local`, which every scalar row has."""
    jvp: Callable[[int, tuple[int, ...]], str] | None = None
    """The forward rule of an array gate, beside its backward rule: for an
    operand index and the operands' ranks, that operand's share of the
    stage's tangent, over the operand's tangent `{t}` (`{t} @ {b}`); the
    stage's tangent is the sum of the shares of the operands that move.
    None: the elementwise rule `(local) * {t}`, from `local`.  A row with a
    backward rule of its own has a forward rule of its own (checks.py)."""
    vjp_note: bool = False
    """Backward comments spell the rule with shapes (`[H, N] @ [N, D]`)."""
    optional: int = 0
    """Operands a call may leave out (the axis of `sum(A, 1)`)."""
    arrays_staged_as: tuple = ()
    """`staged_as` for when every operand is an array: `A · B` is `A @ B`."""
    axis_rows: tuple[str, ...] = ()
    """For a function that takes an axis: the rows it means with one array
    and no axis, then with `axis=0` and `axis=1` (`sum`, `sum0`, `sum1`)."""
    axis_lookalike: bool = False
    """A whole number other than 0 after an array may be read as an axis
    (`max(S, 1)`), so the call is refused for the user to say which."""
    row_vector_left: bool = False
    """A vector's transpose may be the left factor, as the lecture writes
    the dot product `uᵀ @ v` (it is `u @ v`)."""
    vector_as_row: bool = False
    """A vector's stage of this gate (its transpose) is kept for a product
    whose left factor it is; anywhere else it is refused."""
    label_operands: tuple[int, ...] = ()
    """The operands that are class labels (`y` of `pick(S, y)`): labels are
    read here and nowhere else, and get no gradient."""
    reads_classes: bool = False
    """The labels' class count is the row's last operand, which the formula
    does not write (`onehot(y)` is the row's `{a}` = y, `{b}` = C)."""
    spreads: bool = False
    """Its backward rule only spreads the upstream gradient, a number, over
    the operand's shape (`np.full`): where the operand is an elementwise
    stage whose every local factor has the stage's shape, the number itself
    multiplies them, and broadcasting does the spreading (passes/adjoint.py)."""
    helpers: tuple[tuple[str, tuple], ...] = ()
    """Values the row's rules read beside its operands, each named by its
    placeholder and made from the operands by a `staged_as` plan: the
    fused cross-entropy's backward line reads ŷ = σ(z) and σ(-z), `{p}` and
    `{q}`.  A stage holds them as its last operands, stages of their own
    that forward computes and caches; no gradient flows to them, since
    the rules for the operands account for them."""
    fuses: tuple[str, ...] = ()
    """Formulas over the operands' letters `a` and `b` that the row stands
    for as a whole, in the spellings a file may write them
    (compiler/passes/fusion.py): a subtree that spells one is one stage of
    this row."""
    derivations: tuple[str, ...] = ()
    """For each operand, the lecture's derivation of its backward rule, for
    the comment of its backward line, over the placeholders and `{loss}`,
    the module's output (empty: no comment)."""
    compact: Form | None = None
    """Faster math code for the compact style, equal to the row's code
    within rounding: `{a} * {a}` for `{a}**2`, and float constants, since
    CPython runs float-with-int arithmetic and comparisons on a slower
    path than float with float.  The adjoint pass derives the cache from
    the code it uses.  None: the row's math code is already as fast."""

    def form(self, target: str = "math", compact: bool = False) -> Form:
        """The row's code for `target` as the row writes it: its own form
        for the target, else its base target's (the compact math code, when
        asked and the row has one).  The target's printer spells it."""
        own = dict(self.forms).get(target)
        if own is not None:
            return own
        base = TARGETS[target].base
        if base != "math":
            return self.form(base, compact)
        return self.compact if compact and self.compact else Form(self.forward, self.local)

    def forward_tree(self, count: int, target: str = "math", compact: bool = False) -> Expr | None:
        """The forward code of a stage of `count` operands (None: the row
        is lowered to others and has none)."""
        return self._trees(count, target, compact)[0]

    def local_trees(self, count: int, target: str = "math",
                    compact: bool = False) -> tuple[Expr | None, ...]:
        """One local gradient per operand (None: an array row, whose rule
        is its `vjp`)."""
        return self._trees(count, target, compact)[1]

    def trees(self, count: int, target: str = "math", compact: bool = False) -> tuple:
        """(forward_tree, local_trees) at once."""
        return self._trees(count, target, compact)

    def _trees(self, count: int, target: str, compact: bool) -> tuple:
        # Asked once per stage, so the answer is kept on the row (outside
        # its fields, which stay frozen and compare as before).
        known = self.__dict__.setdefault("_trees_by_count", {})
        key = (count if self.variadic else 0, target, compact)
        if key not in known:
            form = self.form(target, compact)
            forward = form.forward(count) if callable(form.forward) else form.forward
            local = tuple(form.local(i, count) for i in range(count)) if self.variadic \
                else form.local
            known[key] = (_code(forward), tuple(map(_code, local)))
        return known[key]

    def accepts(self, count: int) -> bool:
        if count == 1 and self.axis_rows:
            return True  # a reduction of one array: max(A)
        if self.reads_classes:
            return count == self.arity - 1
        return count >= self.arity if self.variadic else \
            self.arity <= count <= self.arity + self.optional

    def count_refused(self, spelling: str, count: int) -> str:
        """Why a call of `count` arguments is refused: what the row accepts."""
        if self.optional and self.axis_rows:
            return f"'{spelling}' takes an array and an optional axis, got {count} arguments"
        wanted = f"at least {self.arity}" if self.variadic else f"{self.arity}"
        plural = "" if wanted == "1" else "s"
        return f"'{spelling}' takes {wanted} argument{plural}, got {count}"

    def operand_count(self, count: int) -> int:
        """Of a stage's `count` operands, how many are the row's own, with
        the helpers after them (the operands the gradient reaches)."""
        return count - len(self.helpers)

    @property
    def on_numbers(self) -> bool:
        """Whether the gate also computes on numbers (every scalar row);
        the others take arrays only (§8)."""
        return self.shape_rule in ("elementwise", "either_product")

    def vjp_tree(self, index: int, ranks: tuple[int, ...], target: str = "numpy") -> Expr:
        """The backward rule for operand `index`, over the upstream `{g}`:
        the row's own rule for the target, or its rule in NumPy's code, or
        for an elementwise row its local gradient times `{g}`, a unit
        factor dropped as the lecture writes `dx = dz` for a sum."""
        own = dict(self.forms).get(target)
        if own is not None and own.vjp is not None:
            return parse(own.vjp(index, ranks))
        if self.vjp is not None:
            return parse(self.vjp(index, ranks))
        return _times(self.local_trees(len(ranks), target)[index], Field("g"))

    def jvp_tree(self, index: int, count: int, ranks: tuple[int, ...] = (),
                 target: str = "math", compact: bool = False) -> Expr:
        """The forward rule for operand `index` of `count`: its share of the
        stage's tangent, over the operand's tangent `{t}`.  For a number
        program (`ranks` empty) and for an elementwise row, the local
        gradient times the tangent (the tangent of softplus is σ(x)·v, as
        its local gradient is σ(x)); for an array row, its own rule for the
        target or its rule in NumPy's code."""
        if ranks:
            own = dict(self.forms).get(target)
            if own is not None and own.jvp is not None:
                return parse(own.jvp(index, ranks))
            if self.jvp is not None:
                return parse(self.jvp(index, ranks))
        return _times(self.local_trees(count, target, compact)[index], Field("t"))


def _times(local: Expr, factor: Field) -> Expr:
    """A local gradient times `factor`, a unit factor dropped as the
    lecture writes `dx = dz` for a sum."""
    if local in (Number("1"), Number("-1")):
        return factor if local == Number("1") else UnaryOp("-", factor)
    return BinOp("*", local if isinstance(local, (Field, Name)) else Group(local), factor)


def _code(snippet: str) -> Expr | None:
    return parse(snippet) if snippet else None
