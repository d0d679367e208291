"""StagedIR + AdjointIR -> TemplateContext: every line of code, finished.

A `StagePrinter` (stages.py) prints each row's trees once, for the target
and style asked; the imports and the cache follow from what it printed.
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
from typing import NamedTuple

from compiler.passes.adjoint import AdjointIR, Contribution, adjoint_name
from compiler.emit.blocks import block_power, written_into
from compiler.emit.compact import Code, Compact, compact_lines
from compiler.passes.naming import INTERNAL, internal_names
from compiler.emit.stages import Local, StagePrinter, cached
from compiler.gates.snippets import factor
from compiler.passes.stage import Ref, StagedIR
from compiler.gates.targets import TARGETS
from compiler.emit.fields import BackwardBlock, TemplateContext

STYLES = ("lecture", "compact")

FUSED_GRAD_LIMIT = 1000
"""Up to this many stages, the math target's `grad` runs forward's and
backward's lines in one body: in a small formula the two calls and the cache
tuple are a large share of the time.  Past it they are not, and repeating
every line would double the text CPython compiles on import (21 s instead of
about 10 s for 10^5 stages)."""


class Printed(NamedTuple):
    """The code of one module, printed once: each stage's forward code,
    and each block's local gradients, one per contribution."""

    forward: tuple[str, ...]
    lines: tuple[str, ...]
    """`name = code` for each stage."""
    locals: tuple[tuple[Local, ...], ...]
    cached: tuple[str, ...]


def _print(adjoint_ir: AdjointIR, printer: StagePrinter) -> Printed:
    """One pass in forward order, so that each stage's placeholders are
    worked out once, for its forward code and its local gradients."""
    staged = adjoint_ir.staged
    # The blocks are in backward order, the stages that have one among them.
    blocks, forward, backward = list(adjoint_ir.blocks), [], []
    for stage in staged.stages:
        values = printer.values(stage)
        forward.append(printer.forward(stage, values))
        if blocks and blocks[-1].stage is stage:
            backward.append(printer.locals(stage, blocks.pop().contributions, values))
    lines = tuple(f"{stage.name} = {code}" for stage, code in zip(staged.stages, forward))
    return Printed(tuple(forward), lines, tuple(reversed(backward)),
                   cached(staged, printer.reads))


def backward_line(contribution: Contribution, local: Local, target: str = "math") -> str:
    """The lecture style's line for one contribution."""
    name = adjoint_name(contribution.target)
    term = f"{factor(local.code)} * {contribution.upstream}"
    if contribution.first:
        return f"{name} = {term}"
    return TARGETS[target].accumulate.format(name, term)


def grad_line(contribution: Contribution, local: Local, seed: str,
              target: str = "math") -> str:
    """The lecture style's line in grad, whose seed is 1: a factor times the
    seed is written alone, as the lecture writes it (`dnum = invden`,
    `ddot = (1 - f) * f`); a number keeps the seed, so that the gradient
    is a float (`dxypmaxzw = (2) * df`)."""
    if contribution.upstream != seed or local.number is not None:
        return backward_line(contribution, local, target)
    name = adjoint_name(contribution.target)
    if contribution.first:
        return f"{name} = {local.code}"
    return TARGETS[target].accumulate.format(name, factor(local.code))


def _blocks(adjoint_ir: AdjointIR, printed: Printed, style: str, target: str,
            compact: Compact | None, line=backward_line) -> tuple[BackwardBlock, ...]:
    """`line(contribution, local, target)` writes the lecture style's lines."""
    if style == "compact":
        lines = tuple(tuple(f"{name} = {code.text}" for name, code in block)
                      for block in compact.lines)
    else:
        lines = tuple(tuple(line(c, local, target) for c, local in zip(block.contributions, locals_))
                      for block, locals_ in zip(adjoint_ir.blocks, printed.locals))
    line_of = dict(zip((stage.name for stage in adjoint_ir.staged.stages), printed.lines))
    # A compact block may be left with no line: its adjoints were summed later.
    return tuple(BackwardBlock(line_of[block.stage.name], block_lines)
                 for block, block_lines in zip(adjoint_ir.blocks, lines) if block_lines)


def tuple_code(names) -> str:
    """Code as a tuple's display: `(x,)`, `(x, y)`."""
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def unpacking(names) -> str:
    """Names as the left side of an assignment that unpacks a tuple."""
    names = list(names)
    return f"{names[0]}," if len(names) == 1 else ", ".join(names)


def _unpack(names: tuple[str, ...], cache: str) -> str:
    return f"{unpacking(names)} = {cache}" if names else ""


def context(adjoint_ir: AdjointIR, style: str = "lecture",
            target: str = "math") -> TemplateContext:
    staged = adjoint_ir.staged
    spec = TARGETS[target]
    compact = style == "compact"
    taken = _taken(staged)
    # The module's own names come last, around every name of the formula's.
    names = internal_names(taken, INTERNAL + spec.own_names)
    # Gate code calls its module as the table spells it (`np.`); a formula
    # with a value of that name moves the module's name, and the printer
    # spells the table's snippets with it (naming.py).
    printer = StagePrinter(target, compact, taken | frozenset(names.values())
                           if compact and spec.bare_calls else None, module=names[spec.alias],
                           names=names)
    printed = _print(adjoint_ir, printer)
    # The compact lines cost a tenth of the compile time of a big formula:
    # worked out only where they are written.
    compact_backward = compact_lines(adjoint_ir.blocks, printed.locals,
                                     adjoint_name(staged.output), staged.inputs,
                                     spec.gradients_as_code) if compact or spec.blocked else None
    result = TemplateContext(
        **_module_fields(staged, spec, printer, names),
        forward_lines=printed.lines,
        **_backward_fields(adjoint_ir, printed, style, target, compact_backward),
        **_interface_fields(adjoint_ir, printed.cached, names["cache"]),
        **_returns(adjoint_ir, printed, compact_backward if compact else None),
        **_block_fields(adjoint_ir, spec, printer, printed, compact_backward, names["np"]),
        **_loop(adjoint_ir),
    )
    if spec.disk_cache:
        digest = hashlib.sha256(repr(result).encode("utf-8")).hexdigest()[:16]
        result = dataclasses.replace(result, home=f"_gradc_{staged.output}_{digest}")
    return result


def _import(module: str, alias: str) -> str:
    """What follows `import`: `numpy as np`, `math`, `math as math_`."""
    return module if alias == module else f"{module} as {alias}"


def _taken(staged: StagedIR) -> frozenset[str]:
    """The names the module gives to values and their adjoints, which a
    function called by its bare name must not shadow."""
    values = (*staged.inputs, *(stage.name for stage in staged.stages), staged.output)
    return frozenset((*values, *map(adjoint_name, values)))


def _module_fields(staged: StagedIR, spec, printer: StagePrinter, names: dict[str, str]) -> dict:
    """The module's docstring, imports, inputs and own names."""
    params = ", ".join(staged.inputs)
    return {
        "title": f"{staged.output}({params}) and its gradient, staged one gate per line.",
        # Imports follow from what was printed: a formula without math
        # functions imports nothing.
        "imports": tuple(_import(module, names[module]) for module in spec.also_imports)
        + tuple(_import(module, names[spec.alias]) for module in printer.modules()),
        "bare_import": printer.bare_import(),
        "names": names,
        "sys_import": _import("sys", names["sys"]),
        "inputs": staged.inputs,
        "inputs_literal": tuple_code(repr(name) for name in staged.inputs),
        "params": params,
        "output": staged.output,
        "script_example": " ".join(f"{name}=1.0" for name in staged.inputs),
    }


def _backward_fields(adjoint_ir: AdjointIR, printed: Printed, style: str, target: str,
                     compact: Compact | None) -> dict:
    """backward's blocks of lines, and grad's, which run for a seed of 1."""
    staged = adjoint_ir.staged
    seed = adjoint_name(staged.output)
    blocks = _blocks(adjoint_ir, printed, style, target, compact)
    fused = len(staged.stages) <= FUSED_GRAD_LIMIT
    # Past the limit grad calls forward and backward, and writes no lines.
    lecture_grad = style != "compact" and fused
    return {
        "seed": seed,
        "blocks": blocks,
        "grad_blocks": _blocks(adjoint_ir, printed, style, target, None,
                               lambda c, local, t: grad_line(c, local, seed, t))
        if lecture_grad else blocks,
        "fused_grad": fused,
        # A number times the seed keeps the seed, so grad sets it.
        "seed_line": f"{seed} = 1.0" if style != "compact" and any(
            c.upstream == seed and local.number is not None
            for block, locals_ in zip(adjoint_ir.blocks, printed.locals)
            for c, local in zip(block.contributions, locals_)) else "",
    }


def _interface_fields(adjoint_ir: AdjointIR, cached_names: tuple[str, ...],
                      cache: str) -> dict:
    """What forward caches, and which gradients backward returns."""
    staged = adjoint_ir.staged
    gradient_names = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    return {
        "cache_tuple": tuple_code(cached_names),
        "unpack_line": _unpack(cached_names, cache),
        "zero_lines": _zero_lines(adjoint_ir),
        "gradients": tuple_code(gradient_names),
        "gradient_names": gradient_names,
        "gradient_inputs": "INPUTS" if staged.wrt is None else tuple_code(map(repr, staged.wrt)),
        "wrt_params": tuple_code(staged.gradient_inputs),
    }


def _zero_lines(adjoint_ir: AdjointIR) -> tuple[str, ...]:
    return tuple(f"{adjoint_name(name)} = 0.0" for name in adjoint_ir.zero)


def _block_fields(adjoint_ir: AdjointIR, spec, printer: StagePrinter, printed: Printed,
                  compact: Compact | None, numpy: str) -> dict:
    """A blocked target's grad: the lines of one block and its size; each
    line that assigns a result computes it into its array (blocks.py)."""
    staged = adjoint_ir.staged
    if not spec.blocked:
        return {"block_lines": (), "block_power": block_power(len(staged.inputs)),
                "broadcast_size": ""}
    results = {staged.output, *(adjoint_name(name) for name in staged.gradient_inputs)}
    lines = [written_into(stage.name, printer.call(stage), code, numpy) if stage.name in results
             else line for stage, code, line in zip(staged.stages, printed.forward, printed.lines)]
    lines += [written_into(name, code.call, code.text, numpy) if name in results
              else f"{name} = {code.text}" for block in compact.lines for name, code in block]
    lines += [written_into(adjoint_name(name), None, "0.0") for name in adjoint_ir.zero]
    return {"block_lines": tuple(lines),
            "block_power": block_power(len(staged.inputs) + len(lines)),
            "broadcast_size": _broadcast_size(staged.inputs, numpy)}


NUMPY_MAX_ARGS = 64
"""np.broadcast takes at most this many arrays (NumPy's NPY_MAXARGS)."""


def _broadcast_size(inputs: tuple[str, ...], np: str) -> str:
    """Code for the number of points the inputs broadcast to: np.broadcast
    where it can take them all, a tenth of the time of np.broadcast_shapes,
    which takes any number."""
    if len(inputs) <= NUMPY_MAX_ARGS:
        return f"{np}.broadcast({', '.join(inputs)}).size"
    return f"int({np}.prod({np}.broadcast_shapes(*map({np}.shape, {tuple_code(inputs)}))))"


def _returns(adjoint_ir: AdjointIR, printed: Printed, compact: Compact | None) -> dict:
    """What backward and grad return.  In the compact style the lines do not
    read the seed, so backward scales each gradient once; an input's
    gradient is its code where it has no name, and grad returns the output's
    code when the output is the last line and no other line reads it."""
    staged = adjoint_ir.staged
    seed = adjoint_name(staged.output)
    names = {name: adjoint_name(name) for name in staged.gradient_inputs}
    if compact is None:
        return {"scaled_gradients": tuple_code(names.values()), "grad_lines": printed.lines,
                "grad_value": staged.output, "gradient_code": tuple_code(names.values())}
    assigned = dict(compact.gradients)
    code = {name: assigned.get(name, Code(adjoint)) for name, adjoint in names.items()}
    scaled = (value.text if name in adjoint_ir.zero else f"{value.operand} * {seed}"
              for name, value in code.items())
    last = staged.stages[-1] if staged.stages else None
    direct = (last is not None and last.name == staged.output
              and staged.output not in printed.cached)
    return {"scaled_gradients": tuple_code(scaled),
            "grad_lines": printed.lines[:-1] if direct else printed.lines,
            "grad_value": printed.forward[-1] if direct else staged.output,
            "gradient_code": tuple_code(value.text for value in code.values())}


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
    return {"loop_inputs": inputs, "loop_inputs_literal": tuple_code(inputs),
            "loop_outputs": outputs,
            "loop_targets": unpacking(outputs)}
