"""AdjointIR + a point -> Trace: every stage's value and gradient.

Runs the very lines the math target emits, one stage at a time, so that
tools which show or check a formula at a point (`explain`, `draw --at`,
`check`) see exactly what the generated module computes, and can name the
first stage whose value or gradient is not finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .adjoint import AdjointIR, Block, Contribution, adjoint_name
from .snippets import fill
from .stage import Stage

# The builtins gate snippets call; the code run is gradc's own snippet text.
_GLOBALS = {"math": math, "__builtins__": {"max": max, "min": min, "abs": abs}}


@dataclass(frozen=True)
class Step:
    """One backward contribution: local gradient times upstream, at the point."""

    block: Block
    contribution: Contribution
    local: float
    upstream: float
    product: float


@dataclass(frozen=True)
class Failure:
    stage: Stage
    phase: str
    """"forward" or "backward"."""
    message: str
    """What went wrong, with the stage's operand values."""


@dataclass
class Trace:
    values: dict[str, float] = field(default_factory=dict)
    adjoints: dict[str, float] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    failure: Failure | None = None


def trace(adjoint_ir: AdjointIR, point: tuple[float, ...], seed: float = 1.0) -> Trace:
    staged = adjoint_ir.staged
    result = Trace(values=dict(zip(staged.inputs, map(float, point))))
    for stage in staged.stages:
        if not _run_forward(stage, result):
            return result
    result.adjoints[adjoint_name(staged.output)] = seed
    for block in adjoint_ir.blocks:
        for contribution in block.contributions:
            if not _run_backward(block, contribution, result):
                return result
    for name in adjoint_ir.zero:
        result.adjoints[adjoint_name(name)] = 0.0
    return result


def _operands_text(stage: Stage, values: dict[str, float]) -> str:
    shown = [f"{op.name} = {values[op.name]!r}" for op in stage.operands if hasattr(op, "name")]
    return ", ".join(shown)


def _run_forward(stage: Stage, result: Trace) -> bool:
    code = fill(stage.gate.forward, stage.gate, stage.operands, stage.constant)
    try:
        value = float(eval(code, _GLOBALS, result.values))
    except (ArithmeticError, ValueError) as error:
        result.failure = Failure(stage, "forward", f"{error} at {_operands_text(stage, result.values)}")
        return False
    result.values[stage.name] = value
    if not math.isfinite(value):
        result.failure = Failure(stage, "forward",
                                 f"gave {value!r} from {_operands_text(stage, result.values)}")
        return False
    return True


def _run_backward(block: Block, contribution: Contribution, result: Trace) -> bool:
    upstream = result.adjoints[contribution.upstream]
    try:
        local = float(eval(contribution.local, _GLOBALS, result.values))
    except (ArithmeticError, ValueError) as error:
        result.failure = Failure(block.stage, "backward",
                                 f"{error} at {_operands_text(block.stage, result.values)}")
        return False
    product = local * upstream
    target = adjoint_name(contribution.target)
    result.adjoints[target] = product if contribution.first else result.adjoints[target] + product
    result.steps.append(Step(block, contribution, local, upstream, product))
    if not math.isfinite(product):
        result.failure = Failure(block.stage, "backward",
                                 f"local gradient {local!r} times {contribution.upstream} = "
                                 f"{upstream!r} is not finite")
        return False
    return True
