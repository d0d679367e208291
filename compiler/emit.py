"""StagedIR + AdjointIR -> TemplateContext: every line of code, finished.

The templates only lay these lines out.  Two styles of backward line:

* "lecture" (the default) writes every local factor, as the lecture does:
  `dsigx = (1) * dden`, `dx += ((1 - sigx) * sigx) * dsigx`.  A local
  factor that is a single name is written bare: `dnum = invden * df`.
* "compact" is written for speed (compact.py): each adjoint once, as one
  sum, no unit factor, no seed, no copy: `dx = dxpy + dnum`; and the rows'
  compact forms (`xpy * xpy`, float constants).

`grad` runs forward's lines and then backward's in one function body, for
a seed of 1: the lecture style's grad writes a factor times the seed as the
lecture does, alone (`dnum = invden`), and sets the seed (`seed_line`) only
for a number factor that still reads it (`(2) * df`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools

from .adjoint import AdjointIR, Contribution, adjoint_name
from .bare_calls import bare_calls
from .blocks import block_power, write_into
from .compact import Compact, compact_lines
from .naming import INTERNAL, internal_names
from .respell import respelled
from .snippets import factor, fill, printed_value
from .stage import Ref, Stage, StagedIR
from .targets import TARGETS
from .template_context import BackwardBlock, TemplateContext

STYLES = ("lecture", "compact")

FUSED_GRAD_LIMIT = 1000
"""Up to this many stages, the math target's `grad` runs forward's and
backward's lines in one body: in a small formula the two calls and the cache
tuple are a large share of the time.  Past it they are not, and repeating
every line would double the text CPython compiles on import (21 s instead of
about 10 s for 10^5 stages)."""


def forward_line(stage: Stage, target: str = "math", compact: bool = False) -> str:
    snippet = stage.gate.forward_snippet(len(stage.operands), target, compact)
    code = fill(snippet, stage.gate, stage.operands, stage.constant, floats=compact)
    return f"{stage.name} = {code}"


def backward_line(contribution: Contribution, target: str = "math") -> str:
    """The lecture style's line for one contribution."""
    name = adjoint_name(contribution.target)
    term = f"{factor(contribution.local)} * {contribution.upstream}"
    if contribution.first:
        return f"{name} = {term}"
    return TARGETS[target].accumulate.format(name, term)


def _compact_lines(adjoint_ir: AdjointIR, as_code: bool) -> Compact:
    staged = adjoint_ir.staged
    return compact_lines(adjoint_ir.blocks, adjoint_name(staged.output), staged.inputs,
                         as_code)


def grad_line(contribution: Contribution, seed: str, target: str = "math") -> str:
    """The lecture style's line in grad, whose seed is 1: a factor times the
    seed is written alone, as the lecture writes it (`dnum = invden`,
    `ddot = (1 - f) * f`); a number keeps the seed, so that the gradient
    is a float (`dxypmaxzw = (2) * df`)."""
    local = contribution.local
    if contribution.upstream != seed or printed_value(local) is not None:
        return backward_line(contribution, target)
    name = adjoint_name(contribution.target)
    if contribution.first:
        return f"{name} = {local}"
    return TARGETS[target].accumulate.format(name, factor(local))


def _blocks(adjoint_ir: AdjointIR, style: str, target: str, line_of: dict[str, str],
            compact: Compact | None, line=backward_line) -> tuple[BackwardBlock, ...]:
    """`line(contribution, target)` writes the lecture style's lines."""
    if style == "compact":
        lines = compact.lines
    else:
        lines = tuple(tuple(line(c, target) for c in block.contributions)
                      for block in adjoint_ir.blocks)
    # A compact block may be left with no line: its adjoints were summed later.
    return tuple(BackwardBlock(line_of[block.stage.name], block_lines)
                 for block, block_lines in zip(adjoint_ir.blocks, lines) if block_lines)


def _tuple(names) -> str:
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _targets(names: tuple[str, ...]) -> str:
    """Names as the left side of an assignment that unpacks a tuple."""
    return f"{names[0]}," if len(names) == 1 else ", ".join(names)


def _unpack(names: tuple[str, ...], cache: str) -> str:
    return f"{_targets(names)} = {cache}" if names else ""


def context(adjoint_ir: AdjointIR, style: str = "lecture",
            target: str = "math") -> TemplateContext:
    """`adjoint_ir` must have been made for the same target, and with
    `compact` for the compact style."""
    staged = adjoint_ir.staged
    spec = TARGETS[target]
    compact = style == "compact"
    values = (*staged.inputs, *(stage.name for stage in staged.stages), staged.output)
    taken = {*values, *map(adjoint_name, values)}
    # The module's own names come last, around every name of the formula's.
    names = internal_names(taken, INTERNAL + spec.own_names)
    forward_lines = tuple(forward_line(stage, target, compact) for stage in staged.stages)
    # The compact lines cost a tenth of the compile time of a big formula:
    # worked out only where they are written.
    compact_backward = _compact_lines(adjoint_ir, spec.gradients_as_code) \
        if compact or spec.blocked else None
    backward = _backward_fields(adjoint_ir, style, target, forward_lines, compact_backward)
    result = TemplateContext(
        **_module_fields(staged, spec, forward_lines, backward["blocks"], names),
        forward_lines=forward_lines,
        **backward,
        **_interface_fields(adjoint_ir, names["cache"]),
        **_returns(adjoint_ir, compact_backward if compact else None, forward_lines),
        **_block_fields(adjoint_ir, spec, forward_lines, compact_backward),
        **_loop(adjoint_ir),
    )
    if spec.disk_cache:
        digest = hashlib.sha256(repr(result).encode("utf-8")).hexdigest()[:16]
        result = dataclasses.replace(result, home=f"_gradc_{staged.output}_{digest}")
    if compact and spec.bare_calls:
        result = bare_calls(result, spec.module, spec.prefix, taken | set(names.values()))
    return respelled(result, spec.prefix, names[spec.alias] + ".")


def _import(module: str, alias: str) -> str:
    """What follows `import`: `numpy as np`, `math`, `math as math_`."""
    return module if alias == module else f"{module} as {alias}"


def _module_fields(staged: StagedIR, spec, forward_lines, blocks, names) -> dict:
    """The module's docstring, imports, inputs and own names."""
    params = ", ".join(staged.inputs)
    every_line = itertools.chain(forward_lines, (line for b in blocks for line in b.lines))
    # Imports follow from use: a formula without math functions imports nothing.
    uses = spec.always_imports or any(spec.prefix in line for line in every_line)
    return {
        "title": f"{staged.output}({params}) and its gradient, staged one gate per line.",
        "imports": tuple(_import(module, names[module]) for module in spec.also_imports)
        + ((_import(spec.module, names[spec.alias]),) if uses else ()),
        "names": names,
        "sys_import": _import("sys", names["sys"]),
        "inputs": staged.inputs,
        "inputs_literal": _tuple(repr(name) for name in staged.inputs),
        "params": params,
        "output": staged.output,
        "script_example": " ".join(f"{name}=1.0" for name in staged.inputs),
    }


def _backward_fields(adjoint_ir: AdjointIR, style: str, target: str, forward_lines,
                     compact: Compact | None) -> dict:
    """backward's blocks of lines, and grad's, which run for a seed of 1."""
    staged = adjoint_ir.staged
    seed = adjoint_name(staged.output)
    line_of = dict(zip((stage.name for stage in staged.stages), forward_lines))
    blocks = _blocks(adjoint_ir, style, target, line_of, compact)
    fused = len(staged.stages) <= FUSED_GRAD_LIMIT
    # Past the limit grad calls forward and backward, and writes no lines.
    lecture_grad = style != "compact" and fused
    return {
        "seed": seed,
        "blocks": blocks,
        "grad_blocks": _blocks(adjoint_ir, style, target, line_of, None,
                               lambda c, t: grad_line(c, seed, t)) if lecture_grad else blocks,
        "fused_grad": fused,
        # A number times the seed keeps the seed, so grad sets it.
        "seed_line": f"{seed} = 1.0" if style != "compact" and any(
            c.upstream == seed and printed_value(c.local) is not None
            for block in adjoint_ir.blocks for c in block.contributions) else "",
    }


def _interface_fields(adjoint_ir: AdjointIR, cache: str) -> dict:
    """What forward caches, and which gradients backward returns."""
    staged = adjoint_ir.staged
    gradient_names = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    return {
        "cache_tuple": _tuple(adjoint_ir.cached),
        "unpack_line": _unpack(adjoint_ir.cached, cache),
        "zero_lines": _zero_lines(adjoint_ir),
        "gradients": _tuple(gradient_names),
        "gradient_names": gradient_names,
        "gradient_inputs": "INPUTS" if staged.wrt is None else _tuple(map(repr, staged.wrt)),
        "wrt_params": _tuple(staged.gradient_inputs),
    }


def _zero_lines(adjoint_ir: AdjointIR) -> tuple[str, ...]:
    return tuple(f"{adjoint_name(name)} = 0.0" for name in adjoint_ir.zero)


def _block_fields(adjoint_ir: AdjointIR, spec, forward_lines,
                  compact: Compact | None) -> dict:
    """A blocked target's grad: the lines of one block and its size."""
    staged = adjoint_ir.staged
    if not spec.blocked:
        return {"block_lines": (), "block_power": block_power(len(staged.inputs)),
                "broadcast_size": ""}
    results = (staged.output,) + tuple(adjoint_name(name) for name in staged.gradient_inputs)
    lines = write_into(forward_lines + tuple(line for block in compact.lines for line in block)
                       + _zero_lines(adjoint_ir), results)
    return {"block_lines": lines, "block_power": block_power(len(staged.inputs) + len(lines)),
            "broadcast_size": _broadcast_size(staged.inputs)}


NUMPY_MAX_ARGS = 64
"""np.broadcast takes at most this many arrays (NumPy's NPY_MAXARGS)."""


def _broadcast_size(inputs: tuple[str, ...]) -> str:
    """Code for the number of points the inputs broadcast to: np.broadcast
    where it can take them all, a tenth of the time of np.broadcast_shapes,
    which takes any number."""
    if len(inputs) <= NUMPY_MAX_ARGS:
        return f"np.broadcast({', '.join(inputs)}).size"
    return f"int(np.prod(np.broadcast_shapes(*map(np.shape, {_tuple(inputs)}))))"


def _returns(adjoint_ir: AdjointIR, compact: Compact | None,
             forward_lines: tuple[str, ...]) -> dict:
    """What backward and grad return.  In the compact style the lines do not
    read the seed, so backward scales each gradient once; an input's
    gradient is its code where it has no name, and grad returns the output's
    code when the output is the last line and no other line reads it."""
    staged = adjoint_ir.staged
    seed = adjoint_name(staged.output)
    names = {name: adjoint_name(name) for name in staged.gradient_inputs}
    if compact is None:
        return {"scaled_gradients": _tuple(names.values()), "grad_lines": forward_lines,
                "grad_value": staged.output, "gradient_code": _tuple(names.values())}
    assigned = dict(compact.gradients)
    code = {name: assigned.get(name, adjoint) for name, adjoint in names.items()}
    scaled = (text if name in adjoint_ir.zero else f"{_operand(text)} * {seed}"
              for name, text in code.items())
    last = staged.stages[-1] if staged.stages else None
    direct = (last is not None and last.name == staged.output
              and staged.output not in adjoint_ir.cached)
    return {"scaled_gradients": _tuple(scaled),
            "grad_lines": forward_lines[:-1] if direct else forward_lines,
            "grad_value": forward_lines[-1].partition(" = ")[2] if direct else staged.output,
            "gradient_code": _tuple(code.values())}


def _operand(code: str) -> str:
    """Code as the left operand of `*`: a name or a number as it is, any
    other expression in parentheses (a sum, a conditional, a negation)."""
    return code if code.isidentifier() or printed_value(code) is not None else f"({code})"


def _loop(adjoint_ir: AdjointIR) -> dict:
    """The fields that say what a loop over the points reads and writes."""
    staged = adjoint_ir.staged
    unread = set(staged.inputs)
    for stage in staged.stages:
        unread.difference_update(op.name for op in stage.operands if isinstance(op, Ref))
        if not unread:  # usually within the first few stages
            break
    inputs = tuple(name for name in staged.inputs if name not in unread)
    outputs = (staged.output,) + tuple(adjoint_name(name) for name in staged.gradient_inputs
                                       if name not in adjoint_ir.zero)
    return {"loop_inputs": inputs, "loop_inputs_literal": _tuple(inputs),
            "loop_outputs": outputs,
            "loop_targets": _targets(outputs)}
