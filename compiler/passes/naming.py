"""Stage -> name: deterministic, lecture-shaped Python names.

Two rules, applied by one `Namer` per module:

* A name the user wrote keeps its spelling unless generated Python could
  not use it as is: a keyword, a name of the module's interface
  (`forward`, `INPUTS`, ...), a builtin the module calls (`max`), a dunder,
  or a name whose adjoint would be another value (`dx` beside `x`).  Such
  a name gets `_` appended, as many times as it takes (`lambda` ->
  `lambda_`, `dx` -> `dx_`).
* A name gradc makes up comes from the gate's mnemonic (`sigy`, `xpy`,
  `xpysqr`) or a role (`num`, `den`); if that is long, from the gate's stem;
  if it is taken or a builtin's (`sum`), a counter is appended (`num2`,
  `sum2`).

Every value `v` also reserves its adjoint `dv`, so no two names generated
for a module can collide.  The module's own names (`np`, `cache`,
`_unbroadcast`, ...) are chosen last, by `internal_names`, around all of
these.  Nothing here depends on hashing or identity.
"""

from __future__ import annotations

import builtins
import keyword
import re

from compiler.gates import SNIPPET_BUILTINS
from compiler.gates.targets import TARGETS

# The module's interface (LANGUAGE.md §6): a user's name never takes these.
INTERFACE = frozenset({"INPUTS", "forward", "backward", "grad"})

# What an array module adds to the interface (§9): a user's name takes it
# only in a file without arrays, whose module has no SHAPES.
ARRAY_INTERFACE = frozenset({"SHAPES"})

# The builtins each target's template reads, whatever the formula
# (templates/<target>.py.jinja and the macros of parts.jinja it renders);
# `__name__` is a dunder, reserved as one.  A user's name is renamed away
# from these alone: any other builtin, `sum` or `isinstance` on the math
# target, keeps its spelling (§6).  tests/test_names.py renders modules of
# every target and checks these against the builtins they call.
TEMPLATE_BUILTINS: dict[str, frozenset[str]] = {
    "math": frozenset({"SystemExit", "ValueError", "dict", "float", "print", "sorted", "zip"}),
    "numba": frozenset({"SystemExit", "ValueError", "dict", "enumerate", "float", "len",
                        "print", "range", "sorted", "tuple", "type", "zip"}),
    "numpy": frozenset({"SystemExit", "TypeError", "ValueError", "dict", "enumerate", "float",
                        "int", "isinstance", "len", "map", "max", "min", "print", "range",
                        "sorted", "str", "tuple", "zip"}),
    "array-api": frozenset({"SystemExit", "TypeError", "ValueError", "bool", "bytes",
                            "complex", "dict", "enumerate", "float", "int", "isinstance", "len",
                            "map", "max", "print", "range", "sorted", "str", "tuple", "zip"}),
}

HESSIAN_BUILTINS = frozenset({"enumerate", "len", "range", "tuple"})
"""What `hessian` (and its helper) reads, in a module with hvp (§10)."""

DIRECTION_BUILTINS = frozenset({"TypeError", "ValueError", "getattr", "tuple"})
"""What an array module's check of a direction reads, in a module with jvp."""


def builtins_called(target: str, interface: frozenset[str] = frozenset()) -> frozenset[str]:
    """The builtins a module of `target` may call: its template's, those of
    §10's functions when `interface` has them, and on a target that runs
    one number at a time, those a gate's code calls (`max`, `abs`); for a
    target gradc does not have, whose name the driver refuses, any target's."""
    spec = TARGETS.get(target)
    if spec is None:
        return BUILTINS_USED
    called = TEMPLATE_BUILTINS[target]
    if spec.scalar_code:
        called |= SNIPPET_BUILTINS.keys()
    if "hvp" in interface:
        called |= HESSIAN_BUILTINS
    if interface and spec.arrays:
        called |= DIRECTION_BUILTINS
    return called


BUILTINS_USED = frozenset().union(*(builtins_called(target, frozenset({"jvp", "hvp"}))
                                    for target in TARGETS))
"""What a module of any target may call: what the module's own names, and
a user's name when the target is not known, avoid."""


# The names the module gives its own imports, helpers, and the locals of the
# functions that also hold a user's names (and _main's), in their readable
# spellings.  They are chosen after every value and adjoint of the formula
# has its name (`internal_names`), so they avoid the user's names instead of
# renaming them.  The templates write each as `{{ name }}`.  Locals of the
# other helpers (_unbroadcast, _in_blocks, _run, _kernel) are left out: no
# user name is in their scope, and they call none of the user's names.
INTERNAL = (
    "math", "np", "numba", "sys", "cache", "out", "gradient", "shape", "value", "each",
    "size", "argv", "values", "text", "name", "_point", "_main", "_unbroadcast", "BLOCK",
    "_grad_block", "_in_blocks", "_HOME", "_compiled", "_grad_at", "_value_at", "_kernel",
    "_value_kernel", "_run", "_loop_input", "unicodedata", "point",
)

ARRAY_INTERNAL = ("_bind", "sizes", "_labels", "_number", "_upstream")
"""An array module's own: its input check, forward's dimension sizes, its
checks of class labels, of a number input and of a layer's upstream
gradient."""


# A dunder such as `__name__` may mean something to Python at module level.
# `__import___` is no longer one, so appending `_` always escapes the rule.
_DUNDER = re.compile(r"__[^\W_](\w*[^\W_])?__")

# A name gradc makes up never shadows a builtin, used or not: a stage called
# `sum` in a module that calls np.sum reads as a mistake.  A user's `sum`
# keeps its name (§6).
BUILTIN_NAMES = frozenset(dir(builtins))

MAX_MNEMONIC = 10
"""Longer mnemonics (deep chains such as `sigsigsigx`) fall back to a stem."""

_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | INTERFACE


def is_reserved(name: str, called: frozenset[str] = BUILTINS_USED) -> bool:
    """A keyword, an interface name, a builtin of `called`, or a dunder."""
    return name in _KEYWORDS or name in called \
        or (name.startswith("__") and _DUNDER.fullmatch(name) is not None)


def internal_names(taken, internal=INTERNAL) -> dict[str, str]:
    """Each of INTERNAL's names as the module spells it: as it is, or with
    `_` appended until it is none of `taken` (the module's values and
    adjoints, and the functions it imports by name) nor reserved."""
    used = set(taken)
    chosen: dict[str, str] = {}
    for name in internal:
        candidate = name
        while candidate in used or is_reserved(candidate):
            candidate += "_"
        used.add(candidate)
        chosen[name] = candidate
    return chosen


SECOND_ORDER_INTERFACE = frozenset({"jvp", "hvp", "hessian"})
"""Names of the interface only in a module that has them (§10): reserved
then, and free otherwise."""


class Namer:
    def __init__(self, arrays: bool = False, interface: frozenset[str] = frozenset(),
                 called: frozenset[str] = BUILTINS_USED) -> None:
        """`arrays`: the module is an array module, with §9's interface;
        `interface`: names of the module's interface beyond these (§10);
        `called`: the builtins the module calls (`builtins_called`)."""
        # The interface's names are taken as they are; a value's name takes
        # its adjoint `dv` too, through the name itself: `dv` is never kept,
        # which at a million values spares staging 100 MB of strings and
        # set.
        self._fixed: set[str] = (set(ARRAY_INTERFACE) if arrays else set()) | set(interface)
        self._called = called
        self._values: set[str] = set()
        self._next_counter: dict[str, int] = {}

    def _free(self, name: str) -> bool:
        """Neither `name` nor its adjoint is a value's name or adjoint, an
        interface name, or reserved."""
        values, adjoint = self._values, "d" + name
        return (name not in values and adjoint not in values
                and not (name[:1] == "d" and name[1:] in values)
                and name not in self._fixed and adjoint not in self._fixed
                and not is_reserved(name, self._called))

    def _claim(self, name: str) -> str:
        self._values.add(name)
        return name

    def claim_fixed(self, names) -> None:
        """Names already given (final Python names), taken as they are."""
        for name in names:
            self._claim(name)

    def claim_user_names(self, names: list[str]) -> dict[str, str]:
        """Python names for the user's names, by the trailing-underscore rule.

        Names that look like the adjoint of another user name (`dx` beside
        `x`) are claimed last, so that they, not the plain name, are renamed.
        """
        given = set(names)
        plain: list[str] = []
        adjoint_like: list[str] = []
        for name in names:
            (adjoint_like if name[:1] == "d" and name[1:] in given else plain).append(name)
        result: dict[str, str] = {}
        for name in plain + adjoint_like:
            candidate = name
            while not self._free(candidate):
                candidate += "_"
            result[name] = self._claim(candidate)
        return result

    def claim_generated(self, mnemonic: str, stem: str) -> str:
        base = mnemonic if 0 < len(mnemonic) <= MAX_MNEMONIC else stem
        if base not in BUILTIN_NAMES and self._free(base):
            return self._claim(base)
        counter = self._next_counter.get(base, 2)
        while not self._free(f"{base}{counter}"):
            counter += 1
        self._next_counter[base] = counter + 1
        return self._claim(f"{base}{counter}")
