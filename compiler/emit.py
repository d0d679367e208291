"""StagedIR + AdjointIR -> TemplateContext: every line of code, finished.

The templates only lay these lines out.  Two styles of backward line:

* "lecture" (the default) writes every local factor, as the lecture does:
  `dsigx = (1) * dden`, `dx += ((1 - sigx) * sigx) * dsigx`.  A local
  factor that is a single name is written bare: `dnum = invden * df`.
* "compact" drops unit factors: `dsigx = dden`, `dy = -dxmy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adjoint import AdjointIR, Contribution, adjoint_name
from .snippets import fill
from .stage import Stage
from .targets import TARGETS

STYLES = ("lecture", "compact")


@dataclass(frozen=True)
class BackwardBlock:
    header: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class TemplateContext:
    title: str
    imports: tuple[str, ...]
    inputs: tuple[str, ...]
    inputs_literal: str
    params: str
    output: str
    seed: str
    forward_lines: tuple[str, ...]
    cache_tuple: str
    unpack_line: str
    blocks: tuple[BackwardBlock, ...]
    zero_lines: tuple[str, ...]
    gradients: str
    gradient_names: tuple[str, ...]
    gradient_inputs: str
    """What names the gradient's entries: `INPUTS`, or the `--wrt` inputs."""
    script_example: str
    wrt_params: str
    """The inputs whose gradients backward returns, as a tuple: `(x, y)`."""


def forward_line(stage: Stage, target: str = "math") -> str:
    code = fill(stage.gate.form(target).forward, stage.gate, stage.operands, stage.constant)
    return f"{stage.name} = {code}"


def backward_line(contribution: Contribution, style: str = "lecture",
                  target: str = "math") -> str:
    name = adjoint_name(contribution.target)
    term = _product(contribution.local, contribution.upstream, style)
    if contribution.first:
        return f"{name} = {term}"
    return TARGETS[target].accumulate.format(name, term)


def _product(local: str, upstream: str, style: str) -> str:
    if style == "compact" and local in ("1", "1.0"):
        return upstream
    if style == "compact" and local in ("-1", "-1.0"):
        return f"-{upstream}"
    factor = local if local.isidentifier() else f"({local})"
    return f"{factor} * {upstream}"


def _tuple(names) -> str:
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _unpack(names: tuple[str, ...]) -> str:
    if not names:
        return ""
    targets = f"{names[0]}," if len(names) == 1 else ", ".join(names)
    return f"{targets} = cache"


def context(adjoint_ir: AdjointIR, style: str = "lecture",
            target: str = "math") -> TemplateContext:
    """`adjoint_ir` must have been made for the same target."""
    staged = adjoint_ir.staged
    spec = TARGETS[target]
    forward_lines = tuple(forward_line(stage, target) for stage in staged.stages)
    line_of = dict(zip((stage.name for stage in staged.stages), forward_lines))
    blocks = tuple(
        BackwardBlock(line_of[block.stage.name],
                      tuple(backward_line(c, style, target) for c in block.contributions))
        for block in adjoint_ir.blocks
    )
    every_line = forward_lines + tuple(line for b in blocks for line in b.lines)
    gradient_names = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    params = ", ".join(staged.inputs)
    return TemplateContext(
        title=f"{staged.output}({params}) and its gradient, staged one gate per line.",
        # Imports follow from use: a formula without math functions imports nothing.
        imports=(spec.module,) if spec.always_imports
        or any(spec.prefix in line for line in every_line) else (),
        inputs=staged.inputs,
        inputs_literal=_tuple(repr(name) for name in staged.inputs),
        params=params,
        output=staged.output,
        seed=adjoint_name(staged.output),
        forward_lines=forward_lines,
        cache_tuple=_tuple(adjoint_ir.cached),
        unpack_line=_unpack(adjoint_ir.cached),
        blocks=blocks,
        zero_lines=tuple(f"{adjoint_name(name)} = 0.0" for name in adjoint_ir.zero),
        gradients=_tuple(gradient_names),
        gradient_names=gradient_names,
        gradient_inputs="INPUTS" if staged.wrt is None else _tuple(map(repr, staged.wrt)),
        script_example=" ".join(f"{name}=1.0" for name in staged.inputs),
        wrt_params=_tuple(staged.gradient_inputs),
    )
