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

from compiler.emit.blocks import block_power, shared_lines, written_into
from compiler.emit.compact import Code, Compact, compact_lines, tree_of
from compiler.emit.fields import BackwardBlock, TemplateContext
from compiler.emit.interface import (broadcast_size, interface_fields, loop_fields, module_fields, own_names,
                                     read_inputs, shaped_fields, taken, tuple_code,
                                     upstream_sizes, zero_arrays)
from compiler.emit.stages import Local, StagePrinter, cached
from compiler.emit.terms import (ShapedTerms, Term, filled, lecture_line, lecture_term,
                                 seeded_line)
from compiler.emit.in_place import Line, in_place
from compiler.emit.scratch import BlockLine, into_scratch
from compiler.gates.expr import BinOp, Name, Number
from compiler.gates.snippets import placeholders
from compiler.gates.targets import TARGETS
from compiler.passes.adjoint import AdjointIR, adjoint_name
from compiler.passes.shapes import shown
from compiler.passes.stage import StagedIR

STYLES = ("lecture", "compact")

FUSED_GRAD_LIMIT = 1000
"""Up to this many stages, the math target's `grad` runs forward's and
backward's lines in one body: in a small formula the two calls and the cache
tuple are a large share of the time.  Past it they are not, and repeating
every line would double the text CPython compiles on import (21 s instead of
about 10 s for 10^5 stages)."""


class Printed(NamedTuple):
    """The code of one module, printed once: each stage's forward code,
    and each block's local gradients, one per contribution (None for a
    contribution over arrays, whose term is its row's rule), or its
    finished lines where `_print` was given `kept`."""

    forward: tuple[str, ...]
    """Each stage's code; empty where `_print` was given `kept`."""
    lines: tuple[str, ...]
    """`name = code` for each stage."""
    locals: tuple
    """Per block, in backward order: its `Local`s; or where `_print` was
    given `kept`, each block that has lines, as a `BackwardBlock`."""


def _print(adjoint_ir: AdjointIR, printer: StagePrinter, kept=None) -> Printed:
    """One pass in forward order, so that each stage's placeholders are
    worked out once, for its forward code and its local gradients.
    `kept`: a `_LectureLines`, which prints each stage and makes its
    block's lines at once, where the module needs nothing else of its
    local gradients; the forward code alone is then not kept either, only
    its lines."""
    staged = adjoint_ir.staged
    # The blocks are in backward order, the stages that have one among them.
    blocks, forward, backward, lines = list(adjoint_ir.blocks), [], [], []
    print_stage = kept or (_shaped_stage if staged.shaped else _number_stage)
    on_numbers = staged.input_free() if printer.spec.own_values else frozenset()
    for stage in staged.stages:
        block = blocks.pop() if blocks and blocks[-1].stage is stage else None
        code, locals_ = print_stage(printer, stage, block)
        if stage.name in on_numbers:
            code = printer.over_numbers(stage, code)
        line = f"{stage.name} = {code}"
        lines.append(line)
        if kept is None:
            forward.append(code)
            if block is not None:
                backward.append(locals_)
        elif locals_:
            backward.append(BackwardBlock(line, locals_))
    return Printed(tuple(forward), tuple(lines), tuple(reversed(backward)))


class _LectureLines:
    """Prints a stage and makes its block's lecture lines at once, where
    nothing else reads its local gradients: a formula of 10^6 gates would
    otherwise hold a `Local` and a `Term` per contribution at once, more
    memory than all its lines."""

    def __init__(self, accumulate: str, output_block, loss: str):
        self.accumulate, self.output_block, self.loss = accumulate, output_block, loss
        self.seed_read = False
        """Whether a line of the output's block reads the seed as a factor
        of a number (`_seed_line`)."""

    def __call__(self, printer: StagePrinter, stage, block) -> tuple[str, tuple[str, ...]]:
        # The output's block tells whether grad sets the seed, and a row
        # that derives its rule writes that in the line's comment: both
        # need the block's local gradients, which the lines alone skip.
        if block is None or (block is not self.output_block and not stage.gate.derivations):
            return printer.lecture_stage(stage, block.shares if block else (), self.accumulate)
        contributions = block.contributions
        code, locals_ = printer.stage(stage, contributions)
        if block is self.output_block:
            self.seed_read = any(local.number is not None for local in locals_)
        return code, tuple([_with_derivation(lecture_line(c, local, self.accumulate), c, self.loss)
                            for c, local in zip(contributions, locals_)])


def _number_stage(printer: StagePrinter, stage, block) -> tuple:
    """A stage's forward code and each contribution's local gradient."""
    return printer.stage(stage, block.contributions if block else ())


def _shaped_stage(printer: StagePrinter, stage, block) -> tuple:
    """A stage's forward code and, for each contribution over numbers, its
    local gradient (None over arrays)."""
    contributions = block.contributions if block else ()
    values = printer.values(stage)
    return printer.forward(stage, values), printer.number_locals(stage, contributions, values)


def _terms(adjoint_ir: AdjointIR, printed: Printed, printer: StagePrinter,
           names: dict[str, str]) -> tuple[tuple[Term, ...], ...]:
    """Each block's terms: the lecture's factor times the upstream where the
    operands are numbers, the row's rule where they are arrays."""
    staged = adjoint_ir.staged
    if not staged.shaped:
        accumulate = printer.spec.accumulate
        return tuple(tuple([lecture_term(c, local, accumulate)
                            for c, local in zip(block.contributions, locals_)])
                     for block, locals_ in zip(adjoint_ir.blocks, printed.locals))
    shaped = ShapedTerms(printer, staged.shapes(), staged.dimension_names(),
                         names[printer.spec.alias])
    return tuple(tuple(map(shaped.term, block.contributions, locals_))
                 for block, locals_ in zip(adjoint_ir.blocks, printed.locals))


def _blocks(adjoint_ir: AdjointIR, printed: Printed, lines) -> tuple[BackwardBlock, ...]:
    """Each block's lines under its stage's forward line; a block may be
    left with no line (a compact block: its adjoints were summed later)."""
    line_of = dict(zip((stage.name for stage in adjoint_ir.staged.stages), printed.lines))
    return tuple(BackwardBlock(line_of[block.stage.name], block_lines)
                 for block, block_lines in zip(adjoint_ir.blocks, lines) if block_lines)


class _Kept(NamedTuple):
    """What a compile keeps of its printed stages, decided once from the
    file's size and what its module serves."""

    blocked_trees: bool  # a blocked grad computes each value once from the lines' trees
    trees: bool          # the printer keeps each line's tree
    terms: bool          # every block's terms, which jvp, hvp and a shaped file read
    streamed: bool       # a big lecture file of numbers: lines made block by block


def _kept(staged: StagedIR, spec, style: str, with_terms: bool) -> _Kept:
    big = len(staged.stages) > FUSED_GRAD_LIMIT
    blocked_trees = spec.blocked and not staged.shaped and not big
    terms = with_terms or staged.shaped
    # Without jvp and hvp, in a file of numbers, the terms make the lecture
    # style's lines alone, and past FUSED_GRAD_LIMIT no grad lines: a
    # block's lines are then made as soon as it is printed.
    streamed = (not terms and style == "lecture" and big
                and not _needs_compact(staged, style, spec))
    return _Kept(blocked_trees, terms or blocked_trees, terms, streamed)


def context(adjoint_ir: AdjointIR, style: str = "lecture",
            target: str = "math", with_terms: bool = False) -> TemplateContext:
    """The one context of every module: a file of numbers and a file that
    declares shapes go through the same printers, terms and template.
    `with_terms`: keep every block's terms, which jvp and hvp read."""
    staged, spec = adjoint_ir.staged, TARGETS[target]
    # The module's own names come last, around every name of the formula's.
    names = own_names(staged, spec)
    printer = _printer(staged, spec, style, names)
    kept = _kept(staged, spec, style, with_terms)
    printer.keep_trees = kept.trees
    streamed = _LectureLines(spec.accumulate, adjoint_ir.blocks[0] if adjoint_ir.blocks
                             else None, adjoint_ir.staged.output) if kept.streamed else None
    printed = _print(adjoint_ir, printer, streamed)
    terms = _terms(adjoint_ir, printed, printer, names) \
        if kept.terms or (style == "lecture" and streamed is None) else ()
    compact = _compact(adjoint_ir, printed, style, spec, kept.blocked_trees)
    result = _filled(adjoint_ir, printed, printer, names, terms, compact, style, spec,
                     streamed, with_terms)
    return _homed(result, spec, staged.output)


def _filled(adjoint_ir: AdjointIR, printed: Printed, printer: StagePrinter, names, terms,
            compact, style: str, spec, streamed, with_terms: bool) -> TemplateContext:
    """The template's fields, from finished lines."""
    staged = adjoint_ir.staged
    cached_names = _cached(adjoint_ir, printer, terms)
    result = TemplateContext(
        **module_fields(staged, spec, printer, names),
        forward_lines=_forward_lines(staged, printed),
        **_backward_fields(adjoint_ir, printed, terms, style, spec, compact, streamed),
        **interface_fields(adjoint_ir, cached_names, names, names[spec.alias]),
        **_returns(adjoint_ir, printed, compact if style == "compact" else None, cached_names),
        **_block_fields(adjoint_ir, spec, printer, printed, compact, names["np"]),
        **loop_fields(adjoint_ir),
        **shaped_fields(staged, names, cached_names),
        # Kept where a tool runs them (an array module's trace); a big file
        # of numbers frees them once its lines are written.
        terms=tuple(block for block in terms if block) if staged.shaped else (),
        backward_terms=terms if with_terms else (),
    )
    if staged.shaped and not result.layer and spec.blocked:
        result = dataclasses.replace(result, owned_grad_lines=_owned_grad_lines(
            adjoint_ir, printer, printed, terms, result))
    return result


def _printer(staged: StagedIR, spec, style: str, names: dict[str, str]) -> StagePrinter:
    """Gate code calls its module as the module names it (`np_` where the
    formula has a value `np`, naming.py); the compact style of a target
    that asks for it calls functions by their bare names where they are free."""
    bare = spec.bare_calls and style == "compact"
    return StagePrinter(spec.name, style == "compact",
                        taken(staged) | frozenset(names.values()) if bare else None,
                        module=names[spec.alias], names=names)


def _cached(adjoint_ir: AdjointIR, printer: StagePrinter, terms) -> tuple[str, ...]:
    """What forward caches: what the printed terms read, an array input
    without a gradient, whose zeros take its shape, and the sizes backward
    checks a layer's upstream gradient against."""
    if not adjoint_ir.staged.shaped:
        return cached(adjoint_ir.staged, printer.reads)
    reads = printer.reads.union(*(term.reads for block in terms for term in block
                                  if term.local is None), zero_arrays(adjoint_ir),
                                upstream_sizes(adjoint_ir.staged))
    return cached(adjoint_ir.staged, reads)


def _compact(adjoint_ir: AdjointIR, printed: Printed, style: str, spec,
             trees: bool = False) -> Compact | None:
    """The compact style's lines, where they are written: the compact
    style, and a blocked target's grad.  They cost a tenth of the compile
    time of a big formula.  `trees`: each line keeps its tree too."""
    staged = adjoint_ir.staged
    if not _needs_compact(staged, style, spec):
        return None
    return compact_lines(adjoint_ir.blocks, printed.locals, adjoint_name(staged.output),
                         staged.inputs, spec.gradients_as_code, trees)


def _needs_compact(staged: StagedIR, style: str, spec) -> bool:
    return not staged.shaped and (style == "compact" or spec.blocked)


def _homed(result: TemplateContext, spec, output: str) -> TemplateContext:
    """A disk-caching target's module names its compiled code after the
    rest of the context, so the same in every process."""
    if not spec.disk_cache:
        return result
    digest = hashlib.sha256(repr(result).encode("utf-8")).hexdigest()[:16]
    return dataclasses.replace(result, home=f"_gradc_{output}_{digest}")


def _forward_lines(staged: StagedIR, printed: Printed) -> tuple[str, ...]:
    """forward's lines; in a file that declares shapes, each with its
    stage's shape in the file's dimension names (`# [N, C]`)."""
    if not staged.shaped:
        return printed.lines
    return tuple(f"{line}  # {shown(stage.shape)}"
                 for stage, line in zip(staged.stages, printed.lines))


def _backward_fields(adjoint_ir: AdjointIR, printed: Printed, terms, style: str, spec,
                     compact: Compact | None, streamed: _LectureLines | None = None) -> dict:
    """backward's blocks of lines, and grad's, which run for a seed of 1."""
    staged = adjoint_ir.staged
    seed = adjoint_name(staged.output)
    if streamed is not None:
        blocks = printed.locals  # made as each stage was printed
    elif style == "compact":
        blocks = _blocks(adjoint_ir, printed, tuple(
            tuple(f"{name} = {code.text}" for name, code in block) for block in compact.lines))
    else:
        blocks = _blocks(adjoint_ir, printed, _derived(adjoint_ir, tuple(
            tuple([term.line for term in block]) for block in terms)))
    fused = len(staged.stages) <= FUSED_GRAD_LIMIT
    # Past the limit grad calls forward and backward, and writes no lines.
    lecture_grad = style != "compact" and fused and not staged.shaped
    return {
        "seed": seed,
        "blocks": blocks,
        "grad_blocks": _blocks(adjoint_ir, printed, _derived(adjoint_ir, tuple(
            tuple(seeded_line(term, seed, spec.accumulate) for term in block)
            for block in terms))) if lecture_grad else blocks,
        "fused_grad": fused,
        "seed_line": "" if style == "compact" else _seed_line(terms, seed) if streamed is None
        else f"{seed} = 1.0" if streamed.seed_read else "",
    }


def _derived(adjoint_ir: AdjointIR, lines: tuple[tuple[str, ...], ...]) -> tuple:
    """Each backward line whose row derives its rule as the lecture does,
    with that derivation in its comment, after the shapes (`dz = ... # [H];
    dl/dŷ · dŷ/dz = ...`)."""
    if not any(block.stage.gate.derivations for block in adjoint_ir.blocks):
        return lines
    loss = adjoint_ir.staged.output
    return tuple(tuple(_with_derivation(line, contribution, loss)
                       for line, contribution in zip(block_lines, block.contributions))
                 for block_lines, block in zip(lines, adjoint_ir.blocks))


def _with_derivation(line: str, contribution, loss: str) -> str:
    stage = contribution.stage
    if not stage.gate.derivations:
        return line
    values = placeholders(stage.gate, stage.operands, stage.constant, out=stage.name)
    text = stage.gate.derivations[contribution.index].format_map({**values, "loss": loss})
    return f"{line}; {text}" if "  # " in line else f"{line}  # {text}"


def _seed_line(terms, seed: str) -> str:
    """A number times the seed keeps the seed, so grad sets it.  Only the
    output's own block, the first, reads the seed."""
    return f"{seed} = 1.0" if any(
        term.upstream == seed and term.local is not None and term.local.number is not None
        for term in (terms[0] if terms else ())) else ""


def _block_fields(adjoint_ir: AdjointIR, spec, printer: StagePrinter, printed: Printed,
                  compact: Compact | None, numpy: str) -> dict:
    """A blocked target's grad: the lines of one block and its size; each
    line that assigns a result computes it into its array (blocks.py)."""
    staged = adjoint_ir.staged
    if not spec.blocked or compact is None:
        return {"block_lines": (), "block_power": block_power(len(staged.inputs)),
                "broadcast_size": "", "block_scratch": "", "scratch_arrays": 0}
    results = frozenset({staged.output, *map(adjoint_name, staged.gradient_inputs)})
    trees = _block_trees(adjoint_ir, printer, compact)
    scratch, slots = "", 0
    if trees is not None:
        block = into_scratch(shared_lines(trees, results), staged.inputs, results,
                             printer.code.ufunc_call)
        scratch, slots = block.name, block.count
        lines = [_block_line(line, line.name in results, printer, numpy, scratch)
                 for line in block.lines]
    else:
        lines = [written_into(stage.name, printer.call(stage), code, numpy)
                 if stage.name in results else line
                 for stage, code, line in zip(staged.stages, printed.forward, printed.lines)]
        lines += [written_into(name, code.call, code.text, numpy) if name in results
                  else f"{name} = {code.text}" for block in compact.lines for name, code in block]
        lines += [written_into(adjoint_name(name), None, "0.0") for name in adjoint_ir.zero]
    return {"block_lines": tuple(lines),
            "block_power": block_power(len(staged.inputs) + len(results) + slots),
            "broadcast_size": broadcast_size(read_inputs(staged), numpy),
            "block_scratch": scratch, "scratch_arrays": slots}


def _block_trees(adjoint_ir: AdjointIR, printer: StagePrinter, compact: Compact) -> list | None:
    """Every line of a block as `(name, tree)`: forward's, backward's in
    the compact style, and the zero gradients; None where the printer kept
    no trees (a formula past FUSED_GRAD_LIMIT)."""
    if not printer.keep_trees:
        return None
    trees = [(stage.name, _forward_tree(printer, stage)) for stage in adjoint_ir.staged.stages]
    trees += [(name, tree_of(code)) for block in compact.lines for name, code in block]
    trees += [(adjoint_name(name), Number("0.0")) for name in adjoint_ir.zero]
    return trees if all(tree is not None for _, tree in trees) else None


def _block_line(line: BlockLine, result: bool, printer: StagePrinter, numpy: str,
                scratch: str) -> str:
    """`name = code`, a ufunc computed into its scratch array, or for a
    result the code computed into its array."""
    name, tree = line.name, line.tree
    code = printer.code.print(tree)
    if not result and line.scratch is None:
        return f"{name} = {code}"
    call = printer.code.ufunc_call(tree)
    if call is not None:
        call = call[0], tuple(map(printer.code.print, call[1]))
    if result:
        return written_into(name, call, code, numpy)
    return f"{name} = {written_into(f'{scratch}[{line.scratch}]', call, code, numpy)}"


def _owned_grad_lines(adjoint_ir: AdjointIR, printer: StagePrinter, printed: Printed, terms,
                      module: TemplateContext) -> tuple[str, ...]:
    """grad's body for a file that declares shapes and has a number for
    output: the inputs' checks, forward's lines, the seed, backward's
    lines and its zeros, each line writing into an array the call made and
    frees where it can (in_place.py)."""
    staged = adjoint_ir.staged
    seed = adjoint_name(staged.output)
    lines = [Line("", None, text) for text in module.bind_lines]
    lines += [Line(stage.name, _forward_tree(printer, stage), text, shown(stage.shape))
              for stage, text in zip(staged.stages, _forward_lines(staged, printed))]
    lines.append(Line(seed, None, f"{seed} = 1.0"))
    lines += [Line(adjoint_name(term.target), term.tree if term.first else _added(
        Name(adjoint_name(term.target)), term.tree), term.line, term.note)
        for block in terms for term in block]
    lines += [Line("", None, text) for text in module.zero_lines]
    gradients = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    return in_place(lines, _named_shapes(adjoint_ir), (staged.output, *gradients), printer.code)


def _added(adjoint: Name, term):
    """`adjoint + term` as backward's line `dx = dx + <term>` computes it:
    Python adds a term that is itself a sum or a difference from the left
    (`dx + a - b` is `(dx + a) - b`), and grad's numbers are backward's."""
    if isinstance(term, BinOp) and term.op in ("+", "-"):
        return BinOp(term.op, _added(adjoint, term.left), term.right)
    return BinOp("+", adjoint, term)


def _forward_tree(printer: StagePrinter, stage):
    """A stage's forward code as a tree, its placeholders filled."""
    tree = stage.gate.forward_tree(len(stage.operands), printer.target, printer.compact)
    return filled(printer.code.lower(tree), printer.values(stage), printer.own)


def _named_shapes(adjoint_ir: AdjointIR) -> dict[str, tuple]:
    """The shape of every value and of every adjoint, by name."""
    shapes = adjoint_ir.staged.shapes()
    return {**shapes, **{adjoint_name(name): shape for name, shape in shapes.items()}}


def _returns(adjoint_ir: AdjointIR, printed: Printed, compact: Compact | None,
             cached_names: tuple[str, ...]) -> dict:
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
              and staged.output not in cached_names)
    return {"scaled_gradients": tuple_code(scaled),
            "grad_lines": printed.lines[:-1] if direct else printed.lines,
            "grad_value": printed.forward[-1] if direct else staged.output,
            "gradient_code": tuple_code(value.text for value in code.values())}
