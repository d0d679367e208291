"""The target table: what differs between the modules gradc writes.

Data only, one row per target: what the module imports, how a gradient
accumulates at a fork, and what code the target can run.  A gate row whose
code the target cannot run (a conditional, the builtins max, min, abs, on
arrays) holds its own code for the target (`Gate.form`).  The printer of a
target is in compiler/emit/printers.py, its template `templates/<name>.py.jinja`.
"""

from __future__ import annotations

from dataclasses import dataclass


SPREAD_INTERNAL = ("_spread",)
"""The numpy and array-api targets' helper that spreads backward's seed
over the output's shape (Target.own_names)."""

ARRAY_API_INTERNAL = ("xp", "array_api_compat", "numbers", "_namespace", "dtype", "device",
                      *SPREAD_INTERNAL)
"""The array-api target's own names (Target.own_names): the inputs'
namespace, the module it comes from, whether the inputs are numbers alone,
the helper that finds them, the inputs' floating type and device, which
gate code reads (`xp.astype(z > 0, dtype)`), and the seed's spread.  Chosen
around the file's names like every name of the module's own
(naming.internal_names)."""

ARRAY_API_VALUES = ("dtype", "device")
"""The target's own names that gate code reads as values, printed as the
module names them (emit/printers.py)."""

NUMBA_MATH = ("exp", "expm1", "log", "log1p", "tanh")
"""The functions the numba target's module writes itself
(templates/numba_math.jinja): range reduction and a polynomial, which a
compiled loop vectorizes, where numba's own call libm at every point."""

NUMBA_INTERNAL = tuple("_" + name for name in NUMBA_MATH
                       + ("power_of_two", "ln2_multiple", "expm1_near_zero"))
"""The numba target's own names (Target.own_names): those functions and
their helpers, `_exp`, ..., chosen around the file's names; the printer
reads the functions' (Target.own_values)."""

NUMPY_NAMES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2",
               "power": "pow"}
"""NumPy's names for the functions whose math and array-API names differ
(gates/expr.py reads a call by the latter, the numpy printer writes the former)."""


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
    scalar_code: bool
    """The code runs one number at a time, so a conditional and Python's
    max, min and abs work; otherwise a row whose code uses them needs its
    own form for the target."""
    functions: frozenset[str] | None = None
    """The only functions the target's code may call (by the canonical
    names of gates/expr.py), each with an array among its arguments; None:
    any function of the module."""
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
    """Those of `own_names` that gate code reads, printed as the module
    names them: a value (`dtype`), or a function the module writes itself
    (numba's `_exp`)."""
    arrays: bool = False
    """The target compiles a file that declares shapes (§9); the others
    compute with numbers only."""
    base: str = "math"
    """The target whose code (a row's own form, or its base's) this target
    prints where a row has no form of its own: array-api's is numpy's."""

    @property
    def prefix(self) -> str:
        """How gate code calls into the module, as the gate table spells it."""
        return self.alias + "."


STANDARD = frozenset((
    "abs acos acosh add asin asinh atan atan2 atanh ceil clip copysign cos cosh divide "
    "equal exp expm1 floor floor_divide greater greater_equal hypot isfinite isinf isnan "
    "less less_equal log log1p log2 log10 logaddexp logical_and logical_not logical_or "
    "logical_xor maximum minimum multiply negative nextafter not_equal positive pow "
    "reciprocal remainder round sign signbit sin sinh square sqrt subtract tan tanh trunc "
    "cumulative_sum cumulative_prod max mean min prod std sum var "
    "arange asarray empty empty_like eye full full_like linspace ones ones_like zeros "
    "zeros_like broadcast_arrays broadcast_to concat expand_dims flip moveaxis "
    "permute_dims repeat reshape roll squeeze stack tile astype isdtype result_type "
    "matmul matrix_transpose tensordot vecdot argmax argmin where all any diff "
    "outer linalg.norm").split())
"""What array-api code may call: the functions of the array API standard
(2024.12), and NumPy's outer and linalg.norm, which its printer writes in
the standard's terms."""


TARGETS: dict[str, Target] = {
    "math": Target("math", "math", "math", False, "{0} += {1}", True,
                   gradients_as_code=True, bare_calls=True),
    # Never `+=` on arrays: the first contribution may be another adjoint's
    # very array (`dx = dxpy` in the compact style), or of a smaller shape
    # than the sum; a new array each time is both safe and broadcastable.
    "numpy": Target("numpy", "numpy", "np", True, "{0} = {0} + {1}", False,
                    blocked=True, arrays=True, own_names=SPREAD_INTERNAL),
    # The math code, run one point at a time inside a compiled loop: scalars,
    # so conditionals, max, min, abs and `+=` work; np. rather than math.,
    # so the module imports only numpy and numba.
    "numba": Target("numba", "numpy", "np", True, "{0} += {1}", True,
                    disk_cache=True,
                    also_imports=("numba",), own_names=NUMBA_INTERNAL,
                    own_values=NUMBA_INTERNAL[:len(NUMBA_MATH)]),
    # numpy's code in the array API standard's spelling, for whatever
    # arrays the caller passes: the namespace `xp` comes from the inputs at
    # each call (array_api_compat), so the module imports no array library.
    "array-api": Target("array-api", "array_api_compat", "xp", True, "{0} = {0} + {1}",
                        False, functions=STANDARD, base="numpy",
                        own_names=ARRAY_API_INTERNAL, own_values=ARRAY_API_VALUES,
                        arrays=True),
}
