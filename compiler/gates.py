"""The gate table: every fact about every gate, one row each.

Data only.  The passes (stage, adjoint, emit, naming) ask a row; none of
them branches on a gate's name.  A new gate is one new row, and the tests,
which are parametrized over `GATES`, pick it up.

Snippets are Python text with named placeholders:

    {a} {b}      the operands (stage or input names, or printed constants)
    {a0} {a1} .. the operands of a variadic gate, in its local gradients
    {args}       a variadic gate's operands joined by ", ", in its forward
    {c}          the constant a constant-specialised gate carries
    {out}        the gate's own (cached) output

Local-gradient snippets are written without outer parentheses; the emitter
adds them (`(1) * dden`, as the lecture writes it).  Every snippet is checked
against its row's arity when this module is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from . import gate_checks
from .targets import TARGETS


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
    """A condition on the operands and `{out}`, true exactly at the points
    where `kink` applies; `gradc check` asks it of the staged values."""
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
    """How the stage's shape follows from its operands' (compiler/shapes.py)."""
    axis: int | None = None
    """The axis a reduction or a softmax works along (None: every entry;
    -1: the last axis)."""
    vjp: Callable[[int, tuple[int, ...]], str] | None = None
    """The backward rule of an array gate: for an operand index and the
    operands' ranks, a snippet over the upstream gradient `{g}`, such as
    `{g} @ {b}.T`.  None: the elementwise rule `(local) * {g}`, from
    `local`, which every scalar row has."""
    vjp_note: bool = False
    """Backward comments spell the rule with shapes (`[H, N] @ [N, D]`)."""
    optional: int = 0
    """Operands a call may leave out (the axis of `sum(A, 1)`)."""
    arrays_staged_as: tuple = ()
    """`staged_as` for when every operand is an array: `A · B` is `A @ B`."""
    compact: Form | None = None
    """Faster math code for the compact style, equal to the row's code
    within rounding: `{a} * {a}` for `{a}**2`, and float constants, since
    CPython runs float-with-int arithmetic and comparisons on a slower
    path than float with float.  The adjoint pass derives the cache from
    the code it uses.  None: the row's math code is already as fast."""

    def form(self, target: str = "math", compact: bool = False) -> Form:
        """The row's code in `target`: its own, or the translated math code
        (the compact math code, when asked and the row has one)."""
        # Asked once per stage and contribution, so the answer is kept on the
        # row (outside its fields, which stay frozen and compare as before).
        known = self.__dict__.setdefault("_forms_by_target", {})
        if (target, compact) not in known:
            known[target, compact] = self._form(target, compact)
        return known[target, compact]

    def _form(self, target: str, compact: bool) -> Form:
        own = dict(self.forms).get(target)
        if own is not None:
            return own
        spec = TARGETS[target]
        if spec.base != "math":
            math_form = self.form(spec.base, compact)
        else:
            math_form = self.compact if compact and self.compact else Form(self.forward,
                                                                           self.local)
        translate = spec.translate
        forward, local = math_form.forward, math_form.local
        return Form((lambda n: translate(forward(n))) if callable(forward) else translate(forward),
                    (lambda i, n: translate(local(i, n)))
                    if self.variadic else tuple(map(translate, local)))

    def forward_snippet(self, count: int, target: str = "math", compact: bool = False) -> str:
        """The forward code of a stage of `count` operands in `target`."""
        forward = self.form(target, compact).forward
        return forward(count) if callable(forward) else forward

    def local_snippets(self, count: int, target: str = "math",
                       compact: bool = False) -> tuple[str, ...]:
        local = self.form(target, compact).local
        if not self.variadic:
            return local
        # Kept on the row like `form`: asked once per stage of the gate.
        known = self.__dict__.setdefault("_snippets_by_count", {})
        if (count, target, compact) not in known:
            known[count, target, compact] = tuple(local(i, count) for i in range(count))
        return known[count, target, compact]

    def accepts(self, count: int) -> bool:
        return count >= self.arity if self.variadic else \
            self.arity <= count <= self.arity + self.optional

    @property
    def on_numbers(self) -> bool:
        """Whether the gate also computes on numbers (every scalar row);
        the others take arrays only (§8)."""
        return self.shape_rule in ("elementwise", "either_product")

    def vjp_snippet(self, index: int, ranks: tuple[int, ...], target: str = "numpy") -> str:
        """The backward rule for operand `index`, over the upstream `{g}`,
        in numpy or a target whose code is numpy's translated (array-api)."""
        if self.vjp is not None:
            rule = self.vjp(index, ranks)
            return rule if target == "numpy" else TARGETS[target].translate(rule)
        local = self.form(target).local
        local = local(index, len(ranks)) if self.variadic else local[index]
        # A unit factor is dropped, as the lecture writes `dx = dz` for a sum.
        if local in ("1", "-1"):
            return local[:-1] + "{g}"
        bare = local.isidentifier() or local[1:-1].isidentifier() and local[0] == "{"
        return f"{local if bare else f'({local})'} * {{g}}"


def _first_extremum(i: int, count: int) -> str:
    # The first of the tied arguments takes the whole gradient, so the
    # contributions of a max or min always add up to exactly one.
    earlier = "".join(f" and {{a{j}}} != {{out}}" for j in range(i))
    return f"1.0 if {{a{i}}} == {{out}}{earlier} else 0.0"


def _first_extremum_np(i: int, count: int) -> str:
    # A comparison's booleans turned into floats: a third of np.where's time.
    # {out} is always a NumPy result, so `==` gives NumPy booleans.
    tests = [f"{{a{i}}} == {{out}}"] + [f"{{a{j}}} != {{out}}" for j in range(i)]
    return f"({' & '.join(f'({t})' for t in tests) if i else tests[0]}).astype(float)"


def _first_extremum_xp(i: int, count: int) -> str:
    # numpy's, cast by the standard's astype to the inputs' type (`dtype`).
    return _first_extremum_np(i, count).replace(".astype(float)", "").join(
        ("xp.astype(", ", dtype)"))


def _pairwise(ufunc: str) -> Callable[[int], str]:
    """`ufunc(ufunc({a0}, {a1}), {a2})`: NumPy's two-operand ufunc over any
    count, in order, so no array of all the operands is stacked."""
    def forward(count: int) -> str:
        code = "{a0}"
        for i in range(1, count):
            code = f"{ufunc}({code}, {{a{i}}})"
        return code
    return forward


# σ without overflow: exp only ever sees a number <= 0, because for x < 0
# σ(x) = exp(x) / (1 + exp(x)).  Both branches give σ to within an ulp.
SIGMOID = "1.0 / (1 + math.exp(-{a})) if {a} >= 0.0 else math.exp({a}) / (1 + math.exp({a}))"
# The same σ with float constants, for the compact style.
SIGMOID_FLOAT = ("1.0 / (1.0 + math.exp(-{a})) if {a} >= 0.0"
                 " else math.exp({a}) / (1.0 + math.exp({a}))")
# max({a}, 0.0) without the call: the same value for -0.0 and NaN too.
RELU_FLOAT = "(0.0 if {a} < 0.0 else {a})"
SIGMOID_NP = "np.exp(np.minimum({a}, 0)) / (1 + np.exp(-np.abs({a})))"
# σ for numba's compiled loop, equal to SIGMOID bit for bit (for x < 0,
# -|x| is x): both arms of the conditional are plain values, so the loop
# selects instead of branching on the sign, and exp(-|x|) is computed once.
SIGMOID_SELECT = "(1.0 if {a} >= 0 else np.exp(-abs({a}))) / (1 + np.exp(-abs({a})))"
# σ(-x), for σ's local gradient σ(x)·σ(-x), which keeps its relative precision
# where the lecture's (1 - σ(x))·σ(x) is 0 (x > 36.7).
SIGMOID_NEG_NP = "np.exp(-np.maximum({a}, 0)) / (1 + np.exp(-np.abs({a})))"


# -- array gates (LANGUAGE.md §8): numpy code, with VJP rules over {g} -------

def _matmul_vjp(index: int, ranks: tuple[int, ...]) -> str:
    """The lecture's dimension analysis: for D = W @ X, dW = dD @ X.T and
    dX = W.T @ dD; a vector's side of a matrix product is an outer product,
    and two vectors make a dot product."""
    a, b = ranks
    if a == 1 and b == 1:
        return ("{g} * {b}", "{g} * {a}")[index]
    if index == 0:
        return "np.outer({g}, {b})" if b == 1 else "{g} @ {b}.T"
    return "np.outer({a}, {g})" if a == 1 else "{a}.T @ {g}"


def _fixed(*rules: str) -> Callable[[int, tuple[int, ...]], str]:
    return lambda index, ranks: rules[index]


_AXES = ("", "0", "1")
_KEEP = {"": "", "-1": "", "0": "", "1": "[:, None]"}
"""How a reduction's gradient regains the axis it removed: NumPy lines
shapes up at the last axis, so only a matrix's axis 1 must be put back."""


def _axis_rows(name: str, forward: str, vjp: str, symbol: str, rule: str = "reduce",
               axes=_AXES) -> list[Gate]:
    """A function of an array with an optional axis: one row for every entry
    (`sum(A)`) and one per axis (`sum(A, 1)`, the row `sum1`), which the
    first row's constant forms choose.  In the snippets, `{axis}` is
    `, axis=k` (or nothing) and `{keep}` how `{g}` regains the axis."""
    def row(axis: str, **extra) -> Gate:
        fill = _Keep(axis=f", axis={axis}" if axis else "", keep=_KEEP[axis],
                     # The spread of a reduction's gradient over the operand's
                     # shape, made from its sizes alone: `(N, D)`, `N * D`.
                     spread=f"np.ones({{shape_a}}) * {{g}}{_KEEP[axis]}" if axis.isdigit()
                     else "np.full({shape_a}, {g})",
                     mean=f"np.ones({{shape_a}}) * ({{g}}{_KEEP[axis]} / {{axis_a}})"
                     if axis.isdigit() else "np.full({shape_a}, {g} / ({size_a}))")
        first = axis == axes[0]
        return Gate(name if first else name + axis, (name,) if first else (), 1,
                    forward.format_map(fill), ("",), f"{symbol}{{a}}", symbol, symbol,
                    notation=f"{name}({{a}}{', ' + axis if axis.isdigit() else ''})",
                    shape_rule=rule, axis=int(axis) if axis else None,
                    vjp=_fixed(vjp.format_map(fill)), **extra)
    return [row(axes[0], optional=1, const_forms=_axis_forms(name, axes[1:])),
            *(row(axis) for axis in axes[1:])]


def _axis_forms(name: str, axes) -> tuple[ConstForm, ...]:
    return tuple(ConstForm(1, name + axis, float(axis)) for axis in axes)


def _softmax_rows() -> list[Gate]:
    """softmax is exp(log_softmax): each entry is exp of a number <= 0, and
    log(softmax(S)) is log_softmax(S) once log(exp(·)) is rewritten."""
    def row(axis: str, **extra) -> Gate:
        return Gate("softmax" + axis, ("softmax",) if not axis else (), 1, "", ("",),
                    "softmax{a}", "softmax", "softmax", notation="softmax({a})",
                    shape_rule="along", axis=int(axis) if axis else -1,
                    staged_as=("exp", ("log_softmax" + axis, 0)), **extra)
    return [row("", optional=1, const_forms=_axis_forms("softmax", ("0", "1"))),
            row("0"), row("1")]


class _Keep(dict):
    """Fills the axis fields of a snippet and leaves its placeholders."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_MAX_KEPT = "np.max({a}{axis}, keepdims=True)"
_ARRAY_ROWS: tuple[Gate, ...] = (
    Gate("matmul", ("@",), 2, "{a} @ {b}", ("", ""), "{a}{b}", "matmul", "@",
         notation="{a} @ {b}", shape_rule="matrix_product", vjp=_matmul_vjp, vjp_note=True),
    Gate("transpose", ("transpose",), 1, "{a}.T", ("",), "{a}T", "tr", "ᵀ",
         notation="{a}ᵀ", shape_rule="swap_axes", vjp=_fixed("{g}.T")),
    Gate("outer", ("outer",), 2, "np.outer({a}, {b})", ("", ""), "{a}{b}", "outer", "⊗",
         notation="outer({a}, {b})", shape_rule="outer_product", vjp=_fixed("{g} @ {b}", "{a} @ {g}"),
         vjp_note=True),
    Gate("norm", ("norm",), 1, "np.linalg.norm({a})", ("",), "norm{a}", "norm", "‖·‖",
         notation="‖{a}‖", shape_rule="reduce",
         # 0 at the zero array by convention: there {a} is 0 and so is the quotient.
         vjp=_fixed("{g} * {a} / np.where({out} > 0, {out}, 1.0)")),
    *_axis_rows("sum", "np.sum({a}{axis})", "{spread}", "sum"),
    *_axis_rows("mean", "np.mean({a}{axis})", "{mean}", "mean"),
    # The max shift makes exp see only numbers <= 0; its gradient cancels
    # exactly, so the rules treat it as a constant.
    *_axis_rows("logsumexp",
                "np.max({a}{axis}) + np.log(np.sum(np.exp({a} - " + _MAX_KEPT + "){axis}))",
                "{g}{keep} * np.exp({a} - {out}{keep})", "lse"),
    *_axis_rows("log_softmax",
                "{a} - " + _MAX_KEPT + " - np.log(np.sum(np.exp({a} - " + _MAX_KEPT
                + "){axis}, keepdims=True))",
                "{g} - np.exp({out}) * np.sum({g}{axis}, keepdims=True)", "lsm",
                rule="along", axes=("-1", "0", "1")),
    *_softmax_rows(),
)


def _constant_pair(name: str, left: str, right: str, stem: str, symbols: tuple[str, str],
                   local_right: str, local_left: str, chain: str | None = None, *,
                   notations: tuple[str, str],
                   left_rewrites: tuple[Rewrite, ...] = ()) -> tuple[Gate, Gate]:
    """A gate with a constant on the right and its twin with it on the left,
    so that the generated line keeps the formula's order (`1 + expx`)."""
    return (
        Gate(name + "c", (), 1, right, (local_right,), stem + "{a}", stem, symbols[1],
             notation=notations[1], takes_constant=True, chain=chain),
        Gate("c" + name, (), 1, left, (local_left,), stem + "{a}", stem, symbols[0],
             notation=notations[0], takes_constant=True, chain=chain,
             rewrites=left_rewrites),
    )


def _unary(name: str, spellings: tuple[str, ...], forward: str, local: str,
           prefix: str, symbol: str | None = None, kink: str | None = None,
           notation: str | None = None, numpy: tuple[str, str] | None = None,
           rewrites: tuple[Rewrite, ...] = (), compact: tuple[str, str] | None = None,
           numba: tuple[str, str] | None = None,
           array_api: tuple[str, str] | None = None) -> Gate:
    own = (("numpy", numpy), ("numba", numba), ("array-api", array_api))
    return Gate(name, spellings, 1, forward, (local,), prefix + "{a}", prefix,
                symbol or name, notation=notation or (symbol or name) + "({a})", kink=kink,
                kink_at="{a} == 0" if kink else None, rewrites=rewrites,
                forms=tuple((target, Form(code[0], (code[1],))) for target, code in own if code),
                compact=Form(compact[0], (compact[1],)) if compact else None)


def _extremum(name: str, ufunc: str) -> Gate:
    return Gate(name, (name,), 2, f"{name}({{args}})", _first_extremum,
                name + "{args}", name, name, notation=name + "({args})", variadic=True,
                kink=f"{name} tie: the first argument takes the gradient by convention",
                kink_at="[{args}].count({out}) > 1",
                forms=(("numpy", Form(_pairwise(ufunc), _first_extremum_np)),
                       ("array-api", Form(_pairwise(ufunc.replace("np.", "xp.")),
                                          _first_extremum_xp))))


_ROWS: tuple[Gate, ...] = (
    # The arithmetic operators, and their forms with a constant operand
    # (the lecture's "translate by c" and "scale by a" gates).
    Gate("add", ("+",), 2, "{a} + {b}", ("1", "1"), "{a}p{b}", "sum", "+",
         notation="{a} + {b}", commutative=True,
         const_forms=(ConstForm(1, "addc"), ConstForm(0, "cadd"))),
    Gate("sub", ("-", "−"), 2, "{a} - {b}", ("1", "-1"), "{a}m{b}", "diff", "−",
         notation="{a} − {b}", const_forms=(ConstForm(1, "subc"), ConstForm(0, "csub"))),
    Gate("mul", ("*", "×", "⊙"), 2, "{a} * {b}", ("{b}", "{a}"), "{a}{b}", "prod", "×",
         notation="{a} × {b}", commutative=True,
         const_forms=(ConstForm(1, "mulc"), ConstForm(0, "cmul"))),
    # `·` multiplies numbers, and two arrays by the matrix product.
    Gate("cdot", ("·",), 2, "{a} * {b}", ("{b}", "{a}"), "{a}{b}", "prod", "·",
         notation="{a} · {b}", staged_as=("mul", 0, 1), arrays_staged_as=("matmul", 0, 1),
         shape_rule="either_product"),
    Gate("div", ("/", "÷"), 2, "{a} / {b}", ("1.0 / {b}", "-{a} / {b}**2"), "{a}d{b}",
         "quot", "÷", notation="{a} / {b}", staged_as=("mul", 0, ("inv", 1)),
         roles=("num", "den"),
         const_forms=(ConstForm(0, "inv", 1.0), ConstForm(1, "divc"))),
    Gate("inv", (), 1, "1.0 / {a}", ("-1.0 / ({a}**2)",), "inv{a}", "inv", "1/x",
         notation="1/{a}", compact=Form("1.0 / {a}", ("-1.0 / ({a} * {a})",))),
    Gate("neg", (), 1, "-{a}", ("-1",), "neg{a}", "neg", "−x", notation="−{a}",
         rewrites=(Rewrite("neg", 0),)),
    *_constant_pair("add", "{c} + {a}", "{a} + {c}", "sh", ("+{c}", "+{c}"), "1", "1",
                    chain="shift", notations=("{c} + {a}", "{a} + {c}")),
    *_constant_pair("sub", "{c} - {a}", "{a} - {c}", "sh", ("{c}−", "−{c}"), "1", "-1",
                    notations=("{c} − {a}", "{a} − {c}"),
                    # 1 - σ(x) = σ(-x), without the cancellation that makes
                    # 1 - σ(37) exactly 0 (and its log a domain error).
                    left_rewrites=(Rewrite("sigmoid", ("sigmoid", ("neg", 0)), 1.0),)),
    *_constant_pair("mul", "{c} * {a}", "{a} * {c}", "sc", ("×{c}", "×{c}"), "{c}", "{c}",
                    chain="scale", notations=("{c} × {a}", "{a} × {c}")),
    Gate("divc", (), 1, "{a} / {c}", ("1.0 / {c}",), "sc{a}", "sc", "÷{c}",
         notation="{a} / {c}", takes_constant=True),
    # Python's ** turns complex for a negative base and a fractional
    # exponent; math.pow raises instead, like every other math function.
    # A whole constant exponent keeps the readable x**3.
    Gate("pow", ("^", "**"), 2, "math.pow({a}, {b})",
         ("{b} * math.pow({a}, {b} - 1)", "{out} * math.log({a})"), "{a}pow{b}", "pow", "^",
         notation="{a}^{b}", const_forms=(ConstForm(1, "square", 2.0),
                                          ConstForm(1, "powc", whole=True), ConstForm(1, "powr"),
                                          ConstForm(0, "exp", math.e), ConstForm(0, "cpow"))),
    # np.square is what NumPy runs for an array's **2; as a call, a block of
    # points can compute it straight into its result (compiler/blocks.py).
    Gate("square", (), 1, "{a}**2", ("2 * {a}",), "{a}sqr", "sqr", "^2",
         notation="{a}^2", compact=Form("{a} * {a}", ("2.0 * {a}",)),
         forms=(("numpy", Form("np.square({a})", ("2 * {a}",))),)),
    Gate("powc", (), 1, "{a}**{c}", ("{c} * {a}**({c} - 1)",), "{a}pow", "pow", "^{c}",
         notation="{a}^{c}", takes_constant=True),
    Gate("powr", (), 1, "math.pow({a}, {c})", ("{c} * math.pow({a}, {c} - 1)",), "{a}pow",
         "pow", "^{c}", notation="{a}^{c}", takes_constant=True),
    Gate("cpow", (), 1, "math.pow({c}, {a})", ("{out} * math.log({c})",), "pow{a}", "pow", "{c}^x",
         notation="{c}^{a}", takes_constant=True,
         # The standard's log takes an array: the constant's, in the output's type.
         forms=(("array-api", Form("xp.pow({c}, {a})",
                                   ("{out} * xp.log(xp.full_like({out}, {c}))",))),)),
    # The functions of the language.
    # The math target keeps the lecture's local gradient (1 - σ)·σ, whose
    # absolute error is below 2^-53 but which is 0 for x > 36.7.
    _unary("sigmoid", ("σ", "sigmoid"), SIGMOID, "(1 - {out}) * {out}", "sig", "σ",
           numpy=(SIGMOID_NP, "{out} * (" + SIGMOID_NEG_NP + ")"),
           numba=(SIGMOID_SELECT, "(1 - {out}) * {out}"),
           compact=(SIGMOID_FLOAT, "(1.0 - {out}) * {out}")),
    _unary("exp", ("exp",), "math.exp({a})", "{out}", "exp"),
    # log σ(x) = -softplus(-x) keeps its relative precision (log σ(40) is not 0).
    _unary("log", ("log", "ln"), "math.log({a})", "1.0 / {a}", "log",
           rewrites=(Rewrite("sigmoid", ("neg", ("softplus", ("neg", 0)))),
                     # softmax is exp(log_softmax): its log is log_softmax itself.
                     Rewrite("exp", 0),
                     *(Rewrite(f"sum{axis}", (f"logsumexp{axis}", 0), inner="exp")
                       for axis in _AXES))),
    _unary("sqrt", ("sqrt",), "math.sqrt({a})", "0.5 / {out}", "sqrt", "√",
           notation="√{a}"),
    _unary("tanh", ("tanh",), "math.tanh({a})", "1 - {out}**2", "tanh",
           compact=("math.tanh({a})", "1.0 - {out} * {out}")),
    _unary("sin", ("sin",), "math.sin({a})", "math.cos({a})", "sin"),
    _unary("cos", ("cos",), "math.cos({a})", "-math.sin({a})", "cos"),
    _unary("tan", ("tan",), "math.tan({a})", "1 + {out}**2", "tan",
           compact=("math.tan({a})", "1.0 + {out} * {out}")),
    _unary("asin", ("asin", "arcsin"), "math.asin({a})", "1.0 / math.sqrt(1 - {a}**2)", "asin",
           compact=("math.asin({a})", "1.0 / math.sqrt(1.0 - {a} * {a})")),
    _unary("acos", ("acos", "arccos"), "math.acos({a})", "-1.0 / math.sqrt(1 - {a}**2)", "acos",
           compact=("math.acos({a})", "-1.0 / math.sqrt(1.0 - {a} * {a})")),
    _unary("atan", ("atan", "arctan"), "math.atan({a})", "1.0 / (1 + {a}**2)", "atan",
           compact=("math.atan({a})", "1.0 / (1.0 + {a} * {a})")),
    Gate("atan2", ("atan2",), 2, "math.atan2({a}, {b})",
         ("{b} / ({a}**2 + {b}**2)", "-{a} / ({a}**2 + {b}**2)"), "atan{a}{b}", "atan",
         "atan2", notation="atan2({a}, {b})",
         compact=Form("math.atan2({a}, {b})", ("{b} / ({a} * {a} + {b} * {b})",
                                               "-{a} / ({a} * {a} + {b} * {b})"))),
    _unary("sinh", ("sinh",), "math.sinh({a})", "math.cosh({a})", "sinh"),
    _unary("cosh", ("cosh",), "math.cosh({a})", "math.sinh({a})", "cosh"),
    _unary("log1p", ("log1p",), "math.log1p({a})", "1.0 / (1 + {a})", "logp",
           compact=("math.log1p({a})", "1.0 / (1.0 + {a})")),
    _unary("expm1", ("expm1",), "math.expm1({a})", "{out} + 1", "expm",
           compact=("math.expm1({a})", "{out} + 1.0")),
    _unary("abs", ("abs",), "abs({a})", "1.0 if {a} > 0 else -1.0 if {a} < 0 else 0.0",
           "abs", "|x|", notation="|{a}|", kink="abs at 0: the gradient is 0 by convention",
           numpy=("np.abs({a})", "np.sign({a})"),
           compact=("abs({a})", "1.0 if {a} > 0.0 else -1.0 if {a} < 0.0 else 0.0")),
    _unary("relu", ("relu",), "max({a}, 0.0)", "1.0 if {a} > 0 else 0.0", "relu",
           kink="relu at 0: the gradient is 0 by convention",
           numpy=("np.maximum({a}, 0.0)", "np.where({a} > 0, 1.0, 0.0)"),
           # where() between two numbers is not the standard's: a cast instead.
           array_api=("xp.maximum({a}, 0.0)", "xp.astype({a} > 0, dtype)"),
           compact=(RELU_FLOAT, "1.0 if {a} > 0.0 else 0.0")),
    # softplus(x) = max(x, 0) + log1p(exp(-|x|)): exp never overflows, and
    # log1p keeps the tiny tail (softplus(-40) is 4.2e-18, not 0).
    _unary("softplus", ("softplus",), "max({a}, 0.0) + math.log1p(math.exp(-abs({a})))",
           SIGMOID, "softp",
           numpy=("np.maximum({a}, 0.0) + np.log1p(np.exp(-np.abs({a})))", SIGMOID_NP),
           numba=("max({a}, 0.0) + np.log1p(np.exp(-abs({a})))", SIGMOID_SELECT),
           compact=(RELU_FLOAT + " + math.log1p(math.exp(-abs({a})))", SIGMOID_FLOAT)),
    _extremum("max", "np.maximum"),
    _extremum("min", "np.minimum"),
    *_ARRAY_ROWS,
    # A stage that only copies a value or holds a constant: `q = x`, `f = 3`.
    Gate("copy", (), 1, "{a}", ("1",), "{a}", "copy", "=", notation="{a}"),
    Gate("const", (), 0, "{c}", (), "k", "k", "{c}", notation="{c}",
         takes_constant=True),
)

# How two constants of one chain combine when their stages fold into one.
# Only chains whose constant is the whole effect (x*c, x+c) are listed, so the
# folded stage computes the same function with one rounding fewer.
CHAINS: dict[str, Callable[[float, float], float]] = {
    "scale": lambda inner, outer: inner * outer,
    "shift": lambda inner, outer: inner + outer,
}

GATES: dict[str, Gate] = {row.name: row for row in _ROWS}
SCALAR_GATES: dict[str, Gate] = {name: row for name, row in GATES.items() if row.on_numbers}
"""The rows a formula over numbers can reach, and every scalar target runs."""
SPELLINGS: dict[str, Gate] = {s: row for row in _ROWS for s in row.spellings}
FUNCTION_NAMES: tuple[str, ...] = tuple(
    sorted(s for s in SPELLINGS if s.isidentifier()))


def lookup(spelling: str) -> Gate | None:
    """The row a formula means by an operator or function name."""
    return SPELLINGS.get(spelling)


# The gates the passes make themselves, rather than look up by a spelling.
NEG, MUL, COPY, CONST, TRANSPOSE = "neg", "mul", "copy", "const", "transpose"

SNIPPET_BUILTINS = {"max": max, "min": min, "abs": abs}
"""The builtins a row's math snippet may call; gradc evaluates its own
snippets with these alone (constant folding, `gradc explain`)."""

# Checked when the table loads: a row whose snippets use placeholders it
# does not have, or whose forms do not fit a target, fails at import.
gate_checks.check_table(_ROWS, GATES, CHAINS)
