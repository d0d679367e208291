"""Stage -> name: deterministic, lecture-shaped Python names.

Two rules, applied by one `Namer` per module:

* A name the user wrote keeps its spelling unless generated Python could
  not use it as is: a keyword, a name the module itself defines or uses
  (`forward`, `math`, `max`, ...), a dunder, or a name whose adjoint would
  be another value (`dx` beside `x`).  Such a name gets `_` appended, as
  many times as it takes (`lambda` -> `lambda_`, `dx` -> `dx_`).
* A name gradc makes up comes from the gate's mnemonic (`sigy`, `xpy`,
  `xpysqr`) or a role (`num`, `den`); if that is long, from the gate's stem;
  if it is taken, a counter is appended (`num2`, `num3`).

Every value `v` also reserves its adjoint `dv`, so no two names generated
for a module can collide.  Nothing here depends on hashing or identity.
"""

from __future__ import annotations

import keyword
import re

# Names the generated modules define, import or call, in any target.
MODULE_NAMES = frozenset({
    "INPUTS", "forward", "backward", "grad", "cache", "math", "np", "numpy", "numba",
    "sys", "argv", "values", "name", "text", "out", "shape", "_main", "_unbroadcast",
    "_kernel", "_sigmoid", "_softplus", "_value_kernel", "_run", "_point",
    "_grad_at", "_value_at", "BLOCK", "_grad_block", "_in_blocks",
})

# Builtins the generated modules call.  Other builtins may be shadowed by a
# user's name harmlessly, so `sum` or `id` keep their spelling.
BUILTINS_USED = frozenset({
    "abs", "max", "min", "float", "print", "len", "zip", "range", "tuple", "dict",
    "str", "int", "isinstance", "ValueError", "SystemExit", "__name__", "sorted",
    "enumerate", "map", "type",
})

# A dunder such as `__name__` may mean something to Python at module level.
# `__import___` is no longer one, so appending `_` always escapes the rule.
_DUNDER = re.compile(r"__[^\W_](\w*[^\W_])?__")

MAX_MNEMONIC = 10
"""Longer mnemonics (deep chains such as `sigsigsigx`) fall back to a stem."""


_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | MODULE_NAMES \
    | BUILTINS_USED


def is_reserved(name: str) -> bool:
    return name in _RESERVED or (name.startswith("__") and _DUNDER.fullmatch(name) is not None)


class Namer:
    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next_counter: dict[str, int] = {}

    def _free(self, name: str) -> bool:
        return (name not in self._taken and "d" + name not in self._taken
                and not is_reserved(name))

    def _claim(self, name: str) -> str:
        self._taken.add(name)
        self._taken.add("d" + name)
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
        plain = [n for n in names if not (n.startswith("d") and n[1:] in given)]
        adjoint_like = [n for n in names if n.startswith("d") and n[1:] in given]
        result: dict[str, str] = {}
        for name in plain + adjoint_like:
            candidate = name
            while not self._free(candidate):
                candidate += "_"
            result[name] = self._claim(candidate)
        return result

    def claim_generated(self, mnemonic: str, stem: str) -> str:
        base = mnemonic if 0 < len(mnemonic) <= MAX_MNEMONIC else stem
        if self._free(base):
            return self._claim(base)
        counter = self._next_counter.get(base, 2)
        while not self._free(f"{base}{counter}"):
            counter += 1
        self._next_counter[base] = counter + 1
        return self._claim(f"{base}{counter}")
