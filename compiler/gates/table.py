"""The gate table: every fact about every gate, one row each.

Data only.  The passes (stage, adjoint, emit, naming) ask a row; none of
them branches on a gate's name.  A new gate is one new row, and the tests,
which are parametrized over `GATES`, pick it up.

The row format is in `row.py`, the array rows in `arrays.py`.  Every
snippet is checked against its row's arity by `check()`, which the test
suite and `gradc --self-check` run: not at import, where parsing every
snippet of every target took a quarter of a compile's start-up.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

from compiler.gates.arrays import ARRAY_ROWS, AXES, fixed
from compiler.gates.row import ConstForm, Form, Gate, Rewrite


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
# σ(-x), as SIGMOID computes it of -x.
SIGMOID_NEG = ("1.0 / (1 + math.exp({a})) if {a} <= 0.0"
               " else math.exp(-{a}) / (1 + math.exp(-{a}))")
# σ for numba's compiled loop, the same bits as SIGMOID with no conditional
# (a branch around an inlined exp stops the loop's vectorizing): exp(-|x|)
# is exp(x) where x < 0 and at most 1 elsewhere, so the max of x >= 0 and
# it is SIGMOID's numerator; numerator and denominator read the same exp,
# which LLVM computes once a point.  At the tie x = 0 max takes its first
# argument, so the tangent there is the one from above, as with abs.
SIGMOID_SELECT = "max({a} >= 0.0, np.exp(-abs({a}))) / (1 + np.exp(-abs({a})))"
# σ(-x) in the same way: exp(-|x|) is exp(-x) where x > 0, and first at the tie.
SIGMOID_NEG_SELECT = "max(np.exp(-abs({a})), {a} <= 0.0) / (1 + np.exp(-abs({a})))"
# σ(-x), for σ's local gradient σ(x)·σ(-x), which keeps its relative precision
# where the lecture's (1 - σ(x))·σ(x) is 0 (x > 36.7).
SIGMOID_NEG_NP = "np.exp(-np.maximum({a}, 0)) / (1 + np.exp(-np.abs({a})))"


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


def _array_rule(row: Gate, rule: tuple[str, str], **own: tuple[str, str]) -> Gate:
    """An elementwise row with its own backward and forward rules on arrays
    (`rule`), in numpy and, by keyword (array_api=...), in targets that
    cannot translate them."""
    targets = {key.replace("_", "-"): code for key, code in own.items()}
    return replace(row, vjp=fixed(rule[0]), jvp=fixed(rule[1]), forms=tuple(
        (target, replace(form, vjp=fixed(targets[target][0]), jvp=fixed(targets[target][1]))
         if target in targets else form)
        for target, form in row.forms))


def _extremum(name: str, ufunc: str) -> Gate:
    # Of one array, or with an axis by keyword, the reduction (arrays.py).
    return Gate(name, (name,), 2, f"{name}({{args}})", _first_extremum,
                name + "{args}", name, name, notation=name + "({args})", variadic=True,
                axis_rows=("a" + name, "a" + name + "0", "a" + name + "1"), axis_lookalike=True,
                kink=f"{name} tie: the first argument takes the gradient by convention",
                # Entry by entry: more than one argument equals the output.
                kink_at="np.sum(np.array(np.broadcast_arrays({args}, {out}))[:-1] == {out}, "
                        "axis=0) > 1",
                forms=(("numpy", Form(_pairwise(ufunc), _first_extremum_np)),))


# softplus(x) and softplus(-x) share their tail log1p(exp(-|x|)).
_TAIL = {"math": "math.log1p(math.exp(-abs({a})))", "numpy": "np.log1p(np.exp(-np.abs({a})))",
         "numba": "np.log1p(np.exp(-abs({a})))"}
_RELU = {"math": "max({x}, 0.0)", "numpy": "np.maximum({x}, 0.0)", "numba": "max({x}, 0.0)"}
# max(-x, 0.0) and max(x, 0.0) without the call, for the compact style (RELU_FLOAT).
_COMPACT_RELU = {"-{a}": "(0.0 if {a} > 0.0 else -{a})", "{a}": RELU_FLOAT}


def _cross_entropy_rows() -> tuple[Gate, Gate]:
    """The binary cross-entropy of a logit `a` against a target `b`, as the
    lecture writes it after `ŷ = σ(z)`: -y log ŷ - (1 - y) log(1 - ŷ), one
    stage (fusion.py reads the formula as the row).  Its value is
    y·softplus(-z) + (1 - y)·softplus(z), the two sharing their tail, so a
    confident, correct prediction keeps its relative precision (4.2e-18 at
    z = 40, y = 1).  Its gradient is the lecture's ŷ - y, computed as
    (1 - y)·ŷ - y·σ(-z) from the cached ŷ and σ(-z) (`helpers`): ŷ - y
    itself is 0 at z = 40, where the gradient is -4.2e-18.  With y = 1
    (`-log(σ(z))`, the lecture's logistic loss) it is softplus(-z) and -σ(-z)."""
    def code(target: str, y: str | None, compact: bool = False) -> str:
        negative, positive = (_COMPACT_RELU[x] if compact else _RELU[target].format(x=x)
                              for x in ("-{a}", "{a}"))
        one = "1.0" if compact else "1"
        if y is None:
            return f"{negative} + {_TAIL[target]}"
        return f"{y} * {negative} + ({one} - {y}) * {positive} + {_TAIL[target]}"

    def forms(y: str | None, local: tuple[str, ...]):
        return tuple((target, Form(code(target, y), local)) for target in ("numpy", "numba"))

    helpers = (("p", ("sigmoid", 0)), ("q", ("signeg", 0)))
    lecture = "d{loss}/d{p} · d{p}/d{a} = ({p} − %s)/({p}(1 − {p})) · {p}(1 − {p})"
    spelled = ("-b*log(σ(a)) - (1 - b)*log(1 - σ(a))",
               "-(1 - b)*log(1 - σ(a)) - b*log(σ(a))",
               "-(b*log(σ(a)) + (1 - b)*log(1 - σ(a)))")
    local = ("(1 - {b}) * {p} - {b} * {q}", "-{a}")
    return (
        Gate("bce", (), 2, code("math", "{b}"), local, "bce{a}", "bce", "BCE",
             notation="−{b} log σ({a}) − (1 − {b}) log(1 − σ({a}))",
             const_forms=(ConstForm(1, "bce1", 1.0),), forms=forms("{b}", local),
             helpers=helpers, fuses=spelled,
             derivations=(lecture % "{b}", "d{loss}/d{b} = log(1 − {p}) − log({p}) = −{a}"),
             compact=Form(code("math", "{b}", True), ("(1.0 - {b}) * {p} - {b} * {q}", "-{a}"))),
        Gate("bce1", (), 1, code("math", None), ("-{q}",), "bce{a}", "bce", "BCE",
             notation="−log σ({a})", forms=forms(None, ("-{q}",)), helpers=helpers,
             fuses=("-log(σ(a))",), derivations=(lecture % "1",),
             compact=Form(code("math", None, True), ("-{q}",))),
    )


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
         shape_rule="either_product", row_vector_left=True),
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
    # points can compute it straight into its result (compiler/emit/blocks.py).
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
    # σ(-x) of x itself, which the cross-entropy's backward line reads: the
    # same bits as σ of a negated stage, without the stage; its denominator
    # is σ(x)'s and softplus's 1 + exp(-|x|).
    # Its local gradient -σ(-x)·σ(x) keeps its relative precision where the
    # lecture's -(1 - s)·s is 0 (x < -36.7); no backward line shows it, only
    # the tangents of a module with hvp.
    _unary("signeg", (), SIGMOID_NEG, "-{out} * (" + SIGMOID + ")", "signeg", "σ(−x)",
           notation="σ(−{a})", numpy=(SIGMOID_NEG_NP, "-{out} * (" + SIGMOID_NP + ")"),
           numba=(SIGMOID_NEG_SELECT, "-{out} * (" + SIGMOID_SELECT + ")"),
           compact=(SIGMOID_NEG.replace("(1 +", "(1.0 +"), "-{out} * (" + SIGMOID_FLOAT + ")")),
    _unary("exp", ("exp",), "math.exp({a})", "{out}", "exp"),
    # log σ(x) = -softplus(-x) keeps its relative precision (log σ(40) is not 0).
    _unary("log", ("log", "ln"), "math.log({a})", "1.0 / {a}", "log",
           rewrites=(Rewrite("sigmoid", ("neg", ("softplus", ("neg", 0)))),
                     # softmax is exp(log_softmax): its log is log_softmax itself.
                     Rewrite("exp", 0),
                     *(Rewrite(f"sum{axis}", (f"logsumexp{axis}", 0), inner="exp")
                       for axis in AXES))),
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
    # On arrays the comparison's booleans multiply the upstream gradient in
    # one pass: the float mask of np.where(..., 1.0, 0.0) made a relu layer's
    # backward line 2.4x slower (benchmarks/train_step.py).  It reads the
    # output, which the next layer caches anyway, so the input is not kept:
    # relu(x) > 0 exactly where x > 0, NaN and -0.0 included.
    # The standard multiplies no booleans by floats: a cast to the inputs'
    # type (`dtype`) instead, and no where() between two numbers.
    _array_rule(_unary("relu", ("relu",), "max({a}, 0.0)", "1.0 if {a} > 0 else 0.0", "relu",
                       kink="relu at 0: the gradient is 0 by convention",
                       numpy=("np.maximum({a}, 0.0)", "np.where({a} > 0, 1.0, 0.0)"),
                       array_api=("xp.maximum({a}, 0.0)", "xp.astype({a} > 0, dtype)"),
                       compact=(RELU_FLOAT, "1.0 if {a} > 0.0 else 0.0")),
                ("({out} > 0) * {g}", "({out} > 0) * {t}"),
                array_api=("xp.astype({out} > 0, dtype) * {g}", "xp.astype({out} > 0, dtype) * {t}")),
    # softplus(x) = max(x, 0) + log1p(exp(-|x|)): exp never overflows, and
    # log1p keeps the tiny tail (softplus(-40) is 4.2e-18, not 0).
    _unary("softplus", ("softplus",), "max({a}, 0.0) + math.log1p(math.exp(-abs({a})))",
           SIGMOID, "softp",
           numpy=("np.maximum({a}, 0.0) + np.log1p(np.exp(-np.abs({a})))", SIGMOID_NP),
           numba=("max({a}, 0.0) + np.log1p(np.exp(-abs({a})))", SIGMOID_SELECT),
           compact=(RELU_FLOAT + " + math.log1p(math.exp(-abs({a})))", SIGMOID_FLOAT)),
    *_cross_entropy_rows(),
    _extremum("max", "np.maximum"),
    _extremum("min", "np.minimum"),
    *ARRAY_ROWS,
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
NEG, MUL, COPY, CONST, TRANSPOSE, COLUMN = "neg", "mul", "copy", "const", "transpose", "column"

SNIPPET_BUILTINS = {"max": max, "min": min, "abs": abs}
"""The builtins a row's math snippet may call; gradc evaluates its own
snippets with these alone (constant folding, `gradc explain`)."""



def check() -> int:
    """Check every row (checks.py): a row whose snippets use placeholders
    it does not have, or whose forms do not fit a target, raises
    AssertionError naming it.  Returns the number of rows checked."""
    from compiler.gates import checks

    checks.check_table(_ROWS, GATES, CHAINS)
    return len(_ROWS)
