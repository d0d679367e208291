"""The target table: what differs between the modules gradc writes.

Data only, one row per target.  A gate's code in each target lives in its
row of the gate table (`Gate.form`); this table holds the rest: what the
module imports, and how a gradient accumulates at a fork.  The template of
a target is `templates/<name>.py.jinja`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    """What the module imports: `import <module>`."""
    prefix: str
    """How gate code calls into that module; the import follows from its use."""
    always_imports: bool
    """The template itself uses the module, whatever the formula."""
    accumulate: str
    """A later contribution to an adjoint: `{0}` the adjoint, `{1}` the term."""


TARGETS: dict[str, Target] = {
    "math": Target("math", "math", "math.", False, "{0} += {1}"),
    # Never `+=` on arrays: the first contribution may be another adjoint's
    # very array (`dx = dxpy` in the compact style), or of a smaller shape
    # than the sum; a new array each time is both safe and broadcastable.
    "numpy": Target("numpy", "numpy as np", "np.", True, "{0} = {0} + {1}"),
}
