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


TARGETS: dict[str, Target] = {
    "math": Target("math", "math", "math", False, "{0} += {1}", lambda snippet: snippet,
                   gradients_as_code=True, bare_calls=True),
    # Never `+=` on arrays: the first contribution may be another adjoint's
    # very array (`dx = dxpy` in the compact style), or of a smaller shape
    # than the sum; a new array each time is both safe and broadcastable.
    "numpy": Target("numpy", "numpy", "np", True, "{0} = {0} + {1}", _numpy,
                    cannot_run=_SCALAR_ONLY, blocked=True),
    # The math code, run one point at a time inside a compiled loop: scalars,
    # so conditionals, max, min, abs and `+=` work; np. rather than math.,
    # so the module imports only numpy and numba.
    "numba": Target("numba", "numpy", "np", True, "{0} += {1}", _numpy,
                    cannot_run=re.compile(r"\bmath\."), disk_cache=True,
                    also_imports=("numba",)),
}
