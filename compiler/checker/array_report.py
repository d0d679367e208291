"""What `gradc check` found for an array formula: the report's records.

Kept apart from the checking (which needs NumPy) so that the command line
can tell an array report from a scalar one without importing NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.checker.checking import CheckReport, PointReport, Row


@dataclass(frozen=True)
class ArrayRow(Row):
    """One input's gradient (or the value) over all its entries: the
    numbers shown are those of the worst comparison, at `worst`."""

    shape: tuple = ()
    """As the file writes it: ('N', 'D')."""
    entries: int = 1
    """Comparisons made (entries, and directions), unchecked ones left out."""
    failing: int = 0
    worst: str = ""
    """Where the numbers shown come from: `[1, 0]`, `direction 2`, or ''."""


@dataclass(frozen=True)
class ArrayPointReport(PointReport):
    upstream: object = None
    """The upstream gradient of a layer's output at this point (an array)."""


@dataclass(frozen=True)
class ArrayCheckReport(CheckReport):
    dims: tuple[tuple[str, int], ...] = ()
    given: tuple[str, ...] = ()
    """The dimensions whose sizes --dims gave; the others were chosen."""
    shapes: tuple[tuple[str, tuple], ...] = ()
    """(input, shape as written), for every input; () for a number."""
    output_shape: tuple = ()
    differences: str = "every entry"
    """"every entry", or "3 random directions per input (more than 200 entries)"."""
