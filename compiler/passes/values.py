"""The operands of a stage: a value by name, or a constant."""

from __future__ import annotations

from typing import NamedTuple, Union


# The records made once per stage or operand are named tuples: immutable,
# and made three times as fast as frozen dataclasses.

class Ref(NamedTuple):
    """A value by name: an input or an earlier stage."""

    name: str


class Const(NamedTuple):
    value: float
    integral: bool = False


Operand = Union[Ref, Const]
