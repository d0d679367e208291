"""The target table: what differs between the modules gradc writes.

Data only, one row per target: what the module imports, how a gradient
accumulates at a fork, and how a gate's math code is spelled in the target.
A gate row whose math code that translation cannot carry (a conditional, the
builtins max, min, abs) holds its own code for the target (`Gate.form`).
The template of a target is `templates/<name>.py.jinja`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


ARRAY_API_INTERNAL = ("xp", "array_api_compat", "numbers", "_namespace", "dtype", "device")
"""The array-api target's own names (Target.own_names): the inputs'
namespace, the module it comes from, whether the inputs are numbers alone,
the helper that finds them, and the inputs' floating type and device, which
gate code reads (`xp.astype(z > 0, dtype)`).  Chosen around the file's
names like every name of the module's own (naming.internal_names)."""

ARRAY_API_VALUES = ("dtype", "device")
"""The target's own names that gate code reads as values, spelled as the
module names them before a snippet is filled (emit/respell.py)."""


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    """What gate code calls into: `import <module> as <alias>`."""
    alias: str
    """The name gate code calls the module by (`np.exp`), the module's own
    name for it unless a user's name has it (naming.internal_names); the
    import follows from its use."""
    always_imports: bool
    """The template itself uses the module, whatever the formula."""
    accumulate: str
    """A later contribution to an adjoint: `{0}` the adjoint, `{1}` the term."""
    translate: Callable[[str], str]
    """A gate's math snippet, spelled for this target."""
    cannot_run: re.Pattern | None = None
    """Code the target cannot run; a gate row whose translated code holds it
    needs its own form for the target."""
    disk_cache: bool = False
    """The module caches compiled code beside its own file, so `load` gives
    it a file (compiler/loader.py)."""
    blocked: bool = False
    """The template computes `grad` in blocks of points, from the compact
    style's lines (`TemplateContext.block_lines`)."""
    gradients_as_code: bool = False
    """The template returns each gradient as code (`TemplateContext.
    gradient_code`), so the compact style need not assign an input's
    adjoint to a name: `return f, (y, x)`."""
    bare_calls: bool = False
    """The compact style calls the module's functions by their bare names
    (`from math import exp`), one lookup fewer per call (printers.py)."""
    also_imports: tuple[str, ...] = ()
    """Modules the template itself calls, imported before `module`."""
    own_names: tuple[str, ...] = ()
    """The module's own names beyond naming.INTERNAL, chosen the same way."""
    own_values: tuple[str, ...] = ()
    """Those of `own_names` that gate code reads as values (`dtype`)."""
    array_template: str | None = None
    """The template of a file that declares shapes (§9), or None: the
    target computes with numbers only."""
    base: str = "math"
    """The target whose code (a row's own form, or its translation) this
    target's `translate` spells anew: array-api's is numpy's."""

    @property
    def prefix(self) -> str:
        """How gate code calls into the module, as the gate table spells it."""
        return self.alias + "."


# numpy names the inverse trigonometric functions arcsin, ... and pow power;
# the rest alike.
_NUMPY_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
                "pow": "power"}


# What only scalar code can run: array targets need np.where, np.maximum, ...
_SCALAR_ONLY = re.compile(r"\bif\b|(?<![\w.])(max|min|abs)\(|\bmath\.")


def _numpy(snippet: str) -> str:
    return re.sub(r"\bmath\.(\w+)", lambda m: "np." + _NUMPY_NAMES.get(m[1], m[1]), snippet)


def _call_args(text: str, start: int) -> tuple[list[str], int]:
    """The top-level arguments of the call whose `(` is at `start`, and the
    index just past its `)`."""
    depth, args, begin = 0, [], start + 1
    for index in range(start, len(text)):
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[begin:index].strip())
                return args, index + 1
        elif char == "," and depth == 1:
            args.append(text[begin:index].strip())
            begin = index + 1
    raise ValueError(f"unbalanced call in {text!r}")


def _grouped(code: str) -> str:
    """Code as an operand of `*`: a placeholder or a name bare, else in
    parentheses."""
    return code if re.fullmatch(r"\{?\w+\}?", code) else f"({code})"


def _ones(shape: str) -> str:
    """Ones of an operand's shape: `ones_like` of the operand, which makes
    them in its type, on its device and (on Dask) in its chunks, without
    reading its values; ones of the written shape otherwise."""
    if shape == "{shape_a}":
        return "xp.ones_like({a})"
    return f"xp.ones({shape}, dtype=dtype, device=device)"


# NumPy calls the standard has no function for, as standard code; `dtype`
# and `device` are the module's (the inputs' floating type and device).
_ARRAY_API_CALLS: dict[str, Callable[[list[str]], str]] = {
    # np.outer(u, v): a column times a row, by broadcasting.
    "outer": lambda a: f"xp.expand_dims({a[0]}, axis=1) * {_grouped(a[1])}",
    # The Euclidean (Frobenius) norm over every entry; the standard's
    # linalg extension is optional (Dask lacks parts of it).
    "linalg.norm": lambda a: f"xp.sqrt(xp.sum({_grouped(a[0])} * {_grouped(a[0])}))",
    # Arrays are made in the inputs' type and on their device.
    "ones": lambda a: _ones(a[0]),
    "full": lambda a: f"{_ones(a[0])} * {_grouped(a[1])}",
}
# The standard's names for NumPy's.
_ARRAY_API_NAMES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2",
                    "power": "pow"}
_NUMPY_CALL = re.compile(r"(?<![\w.])np\.(linalg\.norm|outer|ones|full)\(")


def _array_api(snippet: str) -> str:
    """NumPy code as the array API standard's: `xp` is the namespace of the
    inputs (array_api_compat.array_namespace)."""
    while match := _NUMPY_CALL.search(snippet):
        args, end = _call_args(snippet, match.end() - 1)
        snippet = snippet[:match.start()] + _ARRAY_API_CALLS[match[1]](args) + snippet[end:]
    # A reduction's gradient regaining its axis: g[:, None].
    snippet = re.sub(r"(\{\w+\}|\b\w+)\[:, None\]", r"xp.expand_dims(\1, axis=1)", snippet)
    return re.sub(r"(?<![\w.])np\.(\w+)",
                  lambda m: "xp." + _ARRAY_API_NAMES.get(m[1], m[1]), snippet)


# The functions of the array API standard (2024.12) gate code may call.
_STANDARD = (
    "abs acos acosh add asin asinh atan atan2 atanh ceil clip copysign cos cosh divide "
    "equal exp expm1 floor floor_divide greater greater_equal hypot isfinite isinf isnan "
    "less less_equal log log1p log2 log10 logaddexp logical_and logical_not logical_or "
    "logical_xor maximum minimum multiply negative nextafter not_equal positive pow "
    "reciprocal remainder round sign signbit sin sinh square sqrt subtract tan tanh trunc "
    "cumulative_sum cumulative_prod max mean min prod std sum var "
    "arange asarray empty empty_like eye full full_like linspace ones ones_like zeros "
    "zeros_like broadcast_arrays broadcast_to concat expand_dims flip moveaxis "
    "permute_dims repeat reshape roll squeeze stack tile astype isdtype result_type "
    "matmul matrix_transpose tensordot vecdot argmax argmin where all any diff").split()

# What the standard cannot run: NumPy left over, a function outside the
# standard, NumPy's methods, a function of a number alone (`xp.log(2.0)`:
# the standard's functions take arrays), and `where` between two numbers.
_NOT_ARRAY_API = re.compile(r"(?<![\w.])np\.|(?<![\w.])xp\.(?!(?:" + "|".join(_STANDARD)
                            + r")\()|(?<!xp)\.astype\(|xp\.\w+\(\{c\}\)"
                            r"|xp\.where\([^,]*, [-\d.()]+, [-\d.()]+\)")


TARGETS: dict[str, Target] = {
    "math": Target("math", "math", "math", False, "{0} += {1}", lambda snippet: snippet,
                   gradients_as_code=True, bare_calls=True),
    # Never `+=` on arrays: the first contribution may be another adjoint's
    # very array (`dx = dxpy` in the compact style), or of a smaller shape
    # than the sum; a new array each time is both safe and broadcastable.
    "numpy": Target("numpy", "numpy", "np", True, "{0} = {0} + {1}", _numpy,
                    cannot_run=_SCALAR_ONLY, blocked=True, array_template="arrays"),
    # The math code, run one point at a time inside a compiled loop: scalars,
    # so conditionals, max, min, abs and `+=` work; np. rather than math.,
    # so the module imports only numpy and numba.
    "numba": Target("numba", "numpy", "np", True, "{0} += {1}", _numpy,
                    cannot_run=re.compile(r"\bmath\."), disk_cache=True,
                    also_imports=("numba",)),
    # numpy's code in the array API standard's spelling, for whatever
    # arrays the caller passes: the namespace `xp` comes from the inputs at
    # each call (array_api_compat), so the module imports no array library.
    "array-api": Target("array-api", "array_api_compat", "xp", True, "{0} = {0} + {1}",
                        _array_api, cannot_run=_NOT_ARRAY_API, base="numpy",
                        own_names=ARRAY_API_INTERNAL, own_values=ARRAY_API_VALUES,
                        array_template="array-api-arrays"),
}
