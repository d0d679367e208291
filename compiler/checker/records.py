"""What `gradc check` found: the report's records, numbers and arrays alike.

A number is an array of rank 0 here: its row has shape (), one entry, and
its point no upstream.  Kept apart from the checking (which runs SymPy and
NumPy) so that the report can be read and printed without them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One compared quantity at one point: the value, or one input's
    gradient, over all its entries; the numbers shown are those of the
    worst comparison, at `worst`."""

    name: str
    """The output's name for the value row; otherwise the input's name."""
    is_value: bool
    generated: float
    sympy: float | None
    fd: float | None
    error: float | None
    """|generated - SymPy| / |SymPy| (absolute when SymPy is 0); against
    central differences when SymPy is unavailable."""
    verdict: str
    """"ok", "kink" (agrees with the convention at a kink), "FAIL", or
    "unchecked" (nothing to compare with)."""
    reason: str = ""
    """Why it failed, or why (some of) it went unchecked."""
    shape: tuple = ()
    """As the file writes it: ('N', 'D'); () for a number."""
    entries: int = 1
    """Comparisons made (entries, and directions), unchecked ones left out."""
    failing: int = 0
    worst: str = ""
    """Where the numbers shown come from: `[1, 0]`, `direction 2`, or ''."""

    @property
    def ok(self) -> bool:
        return self.verdict != "FAIL"


@dataclass(frozen=True)
class PointReport:
    values: tuple[tuple[str, object], ...]
    """(input name, value: a float or an array), in the inputs' order."""
    origin: str
    """"given" (with --at or --at-file) or "random"."""
    redraws: tuple[str, ...]
    """Why each earlier draw for this point was rejected."""
    kinks: tuple[str, ...]
    rows: tuple[Row, ...]
    upstream: object = None
    """The random upstream gradient of a layer's output (an array)."""

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)


@dataclass(frozen=True)
class CheckReport:
    source: str
    """The file checked, or "<source>" for text."""
    output: str
    inputs: tuple[str, ...]
    points: tuple[PointReport, ...]
    sympy: str
    """"used", or why SymPy was not used ("timed out after 10 s", ...)."""
    rtol: float
    atol: float
    seed: int
    dims: tuple[tuple[str, int], ...] = ()
    given: tuple[str, ...] = ()
    """The dimensions whose sizes --dims gave; the others were chosen."""
    shapes: tuple[tuple[str, tuple], ...] = ()
    """(input, shape as written), for every input; () for a number."""
    output_shape: tuple = ()
    differences: str = "every entry"
    """"every entry", or "3 random directions per input (more than 200 entries)"."""

    @property
    def ok(self) -> bool:
        return all(point.ok for point in self.points)

    @property
    def shaped(self) -> bool:
        """Whether an input or the output is an array."""
        return bool(self.output_shape) or any(shape for _, shape in self.shapes)

    @property
    def failures(self) -> tuple[tuple[PointReport, Row], ...]:
        return tuple((p, row) for p in self.points for row in p.rows if not row.ok)
