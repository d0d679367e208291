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
import string
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class ConstForm:
    """Lower to `gate` when operand `position` is a constant (equal to
    `value`, when one is given).  The constant becomes the new gate's `{c}`
    unless the new gate takes none; the other operand becomes its `{a}`."""

    position: int
    gate: str
    value: float | None = None


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

    @property
    def uses_output(self) -> bool:
        """Whether a local gradient reads the gate's own cached output."""
        return any("{out}" in snippet for snippet in self.local_snippets(max(self.arity, 2)))

    def local_snippets(self, count: int) -> tuple[str, ...]:
        if self.variadic:
            return tuple(self.local(i, count) for i in range(count))
        return self.local

    def accepts(self, count: int) -> bool:
        return count >= self.arity if self.variadic else count == self.arity


def _first_extremum(i: int, count: int) -> str:
    # The first of the tied arguments takes the whole gradient, so the
    # contributions of a max or min always add up to exactly one.
    earlier = "".join(f" and {{a{j}}} != {{out}}" for j in range(i))
    return f"1.0 if {{a{i}}} == {{out}}{earlier} else 0.0"


def _constant_pair(name: str, left: str, right: str, stem: str, symbols: tuple[str, str],
                   local_right: str, local_left: str, *,
                   notations: tuple[str, str]) -> tuple[Gate, Gate]:
    """A gate with a constant on the right and its twin with it on the left,
    so that the generated line keeps the formula's order (`1 + expx`)."""
    return (
        Gate(name + "c", (), 1, right, (local_right,), stem + "{a}", stem, symbols[1],
             notation=notations[1], takes_constant=True),
        Gate("c" + name, (), 1, left, (local_left,), stem + "{a}", stem, symbols[0],
             notation=notations[0], takes_constant=True),
    )


def _unary(name: str, spellings: tuple[str, ...], forward: str, local: str,
           prefix: str, symbol: str | None = None, kink: str | None = None,
           notation: str | None = None) -> Gate:
    return Gate(name, spellings, 1, forward, (local,), prefix + "{a}", prefix,
                symbol or name, notation=notation or (symbol or name) + "({a})", kink=kink)


def _extremum(name: str) -> Gate:
    return Gate(name, (name,), 2, f"{name}({{args}})", _first_extremum,
                name + "{args}", name, name, notation=name + "({args})", variadic=True,
                kink=f"{name} tie: the first argument takes the gradient by convention")


_ROWS: tuple[Gate, ...] = (
    # The arithmetic operators, and their forms with a constant operand
    # (the lecture's "translate by c" and "scale by a" gates).
    Gate("add", ("+",), 2, "{a} + {b}", ("1", "1"), "{a}p{b}", "sum", "+",
         notation="{a} + {b}", const_forms=(ConstForm(1, "addc"), ConstForm(0, "cadd"))),
    Gate("sub", ("-", "−"), 2, "{a} - {b}", ("1", "-1"), "{a}m{b}", "diff", "−",
         notation="{a} − {b}", const_forms=(ConstForm(1, "subc"), ConstForm(0, "csub"))),
    Gate("mul", ("*", "·", "×"), 2, "{a} * {b}", ("{b}", "{a}"), "{a}{b}", "prod", "×",
         notation="{a} × {b}", const_forms=(ConstForm(1, "mulc"), ConstForm(0, "cmul"))),
    Gate("div", ("/", "÷"), 2, "{a} / {b}", ("1.0 / {b}", "-{a} / {b}**2"), "{a}d{b}",
         "quot", "÷", notation="{a} / {b}", staged_as=("mul", 0, ("inv", 1)),
         roles=("num", "den"),
         const_forms=(ConstForm(0, "inv", 1.0), ConstForm(1, "divc"))),
    Gate("inv", (), 1, "1.0 / {a}", ("-1.0 / ({a}**2)",), "inv{a}", "inv", "1/x",
         notation="1/{a}"),
    Gate("neg", (), 1, "-{a}", ("-1",), "neg{a}", "neg", "−x", notation="−{a}"),
    *_constant_pair("add", "{c} + {a}", "{a} + {c}", "sh", ("+{c}", "+{c}"), "1", "1",
                    notations=("{c} + {a}", "{a} + {c}")),
    *_constant_pair("sub", "{c} - {a}", "{a} - {c}", "sh", ("{c}−", "−{c}"), "1", "-1",
                    notations=("{c} − {a}", "{a} − {c}")),
    *_constant_pair("mul", "{c} * {a}", "{a} * {c}", "sc", ("×{c}", "×{c}"), "{c}", "{c}",
                    notations=("{c} × {a}", "{a} × {c}")),
    Gate("divc", (), 1, "{a} / {c}", ("1.0 / {c}",), "sc{a}", "sc", "÷{c}",
         notation="{a} / {c}", takes_constant=True),
    Gate("pow", ("^", "**"), 2, "{a}**{b}",
         ("{b} * {a}**({b} - 1)", "{out} * math.log({a})"), "{a}pow{b}", "pow", "^",
         notation="{a}^{b}", const_forms=(ConstForm(1, "square", 2.0), ConstForm(1, "powc"),
                      ConstForm(0, "exp", math.e), ConstForm(0, "cpow"))),
    Gate("square", (), 1, "{a}**2", ("2 * {a}",), "{a}sqr", "sqr", "^2",
         notation="{a}^2"),
    Gate("powc", (), 1, "{a}**{c}", ("{c} * {a}**({c} - 1)",), "{a}pow", "pow", "^{c}",
         notation="{a}^{c}", takes_constant=True),
    Gate("cpow", (), 1, "{c}**{a}", ("{out} * math.log({c})",), "pow{a}", "pow", "{c}^x",
         notation="{c}^{a}", takes_constant=True),
    # The functions of the language.
    _unary("sigmoid", ("σ", "sigmoid"), "1.0 / (1 + math.exp(-{a}))",
           "(1 - {out}) * {out}", "sig", "σ"),
    _unary("exp", ("exp",), "math.exp({a})", "{out}", "exp"),
    _unary("log", ("log", "ln"), "math.log({a})", "1.0 / {a}", "log"),
    _unary("sqrt", ("sqrt",), "math.sqrt({a})", "0.5 / {out}", "sqrt", "√",
           notation="√{a}"),
    _unary("tanh", ("tanh",), "math.tanh({a})", "1 - {out}**2", "tanh"),
    _unary("sin", ("sin",), "math.sin({a})", "math.cos({a})", "sin"),
    _unary("cos", ("cos",), "math.cos({a})", "-math.sin({a})", "cos"),
    _unary("tan", ("tan",), "math.tan({a})", "1 + {out}**2", "tan"),
    _unary("asin", ("asin", "arcsin"), "math.asin({a})", "1.0 / math.sqrt(1 - {a}**2)", "asin"),
    _unary("acos", ("acos", "arccos"), "math.acos({a})", "-1.0 / math.sqrt(1 - {a}**2)", "acos"),
    _unary("atan", ("atan", "arctan"), "math.atan({a})", "1.0 / (1 + {a}**2)", "atan"),
    Gate("atan2", ("atan2",), 2, "math.atan2({a}, {b})",
         ("{b} / ({a}**2 + {b}**2)", "-{a} / ({a}**2 + {b}**2)"), "atan{a}{b}", "atan",
         "atan2", notation="atan2({a}, {b})"),
    _unary("sinh", ("sinh",), "math.sinh({a})", "math.cosh({a})", "sinh"),
    _unary("cosh", ("cosh",), "math.cosh({a})", "math.sinh({a})", "cosh"),
    _unary("log1p", ("log1p",), "math.log1p({a})", "1.0 / (1 + {a})", "logp"),
    _unary("expm1", ("expm1",), "math.expm1({a})", "{out} + 1", "expm"),
    _unary("abs", ("abs",), "abs({a})", "1.0 if {a} > 0 else -1.0 if {a} < 0 else 0.0",
           "abs", "|x|", notation="|{a}|", kink="abs at 0: the gradient is 0 by convention"),
    _unary("relu", ("relu",), "max({a}, 0.0)", "1.0 if {a} > 0 else 0.0", "relu",
           kink="relu at 0: the gradient is 0 by convention"),
    _unary("softplus", ("softplus",), "max({a}, 0.0) + math.log1p(math.exp(-abs({a})))",
           "1.0 / (1 + math.exp(-{a})) if {a} >= 0 else math.exp({a}) / (1 + math.exp({a}))",
           "softp"),
    _extremum("max"),
    _extremum("min"),
    # A stage that only copies a value or holds a constant: `q = x`, `f = 3`.
    Gate("copy", (), 1, "{a}", ("1",), "{a}", "copy", "=", notation="{a}"),
    Gate("const", (), 0, "{c}", (), "k", "k", "{c}", notation="{c}",
         takes_constant=True),
)

GATES: dict[str, Gate] = {row.name: row for row in _ROWS}
SPELLINGS: dict[str, Gate] = {s: row for row in _ROWS for s in row.spellings}
FUNCTION_NAMES: tuple[str, ...] = tuple(
    sorted(s for s in SPELLINGS if s.isidentifier()))


def lookup(spelling: str) -> Gate | None:
    """The row a formula means by an operator or function name."""
    return SPELLINGS.get(spelling)


# -- load-time validation: a row's snippets may use only its own placeholders.

def _placeholders(snippet: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(snippet) if name is not None}


def _allowed(row: Gate, count: int, in_forward: bool) -> set[str]:
    if row.variadic:
        allowed = {"args"} if in_forward else {f"a{i}" for i in range(count)}
    else:
        allowed = set("ab"[:row.arity])
    if row.takes_constant:
        allowed.add("c")
    return allowed if in_forward else allowed | {"out"}


def _validate(row: Gate) -> None:
    count = max(row.arity, 3) if row.variadic else row.arity
    problems = _placeholders(row.forward) - _allowed(row, count, True)
    problems |= _placeholders(row.notation) - _allowed(row, count, True)
    problems |= _placeholders(row.symbol) - ({"c"} if row.takes_constant else set())
    snippets = row.local_snippets(count)
    if len(snippets) != count:
        raise AssertionError(f"gate {row.name}: {len(snippets)} local gradients for {count} operands")
    for snippet in snippets:
        problems |= _placeholders(snippet) - _allowed(row, count, False)
    for form in row.const_forms:
        if form.gate not in GATES:
            raise AssertionError(f"gate {row.name}: unknown constant form {form.gate}")
    if problems:
        raise AssertionError(f"gate {row.name}: unknown placeholders {sorted(problems)}")


for _row in _ROWS:
    _validate(_row)
