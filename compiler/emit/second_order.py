"""TangentIR + a module's printed lines -> the lines of `jvp`, `hvp` and
`hessian` (LANGUAGE.md §10).

`jvp` runs forward's lines, each stage followed by its tangent, printed from
the row's forward rule (`Gate.jvp_snippet`), so stable forms stay stable:
the tangent of softplus is σ(x)·v.  `hvp` runs the same, then the lines of
grad's backward pass for a seed of 1, each followed by its own tangent:
the line's term, a tree, differentiated (differentiate.py), named
after the adjoint it differentiates (`t_dnum` for `dnum`).  So `hvp` is one
forward and one backward sweep, forward over reverse, and computes no
stage twice.  `hessian` calls `hvp` once along each input's unit direction
and averages each entry with its mirror: the products of forward over
reverse agree to rounding, and the Hessian of a smooth function is exactly
symmetric.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple

from compiler.emit.blocks import hoisted
from compiler.emit.differentiate import tangent_tree
from compiler.emit.interface import broadcast_size, read_inputs, tuple_code
from compiler.emit.printers import printer
from compiler.emit.terms import term_tree
from compiler.gates import expr
from compiler.gates.snippets import placeholders
from compiler.gates.targets import NUMBA_MATH, TARGETS
from compiler.passes.adjoint import adjoint_name
from compiler.passes.naming import internal_names
from compiler.passes.tangent import TangentIR

KINDS = ("jvp", "hvp")
"""What `--jvp` and `--hvp` ask for."""


@dataclass(frozen=True)
class SecondOrder:
    """The fields of the template macro `second_order` (parts.jinja)."""

    params: str
    """`x, y, *, v_x=0.0, v_y=0.0`."""
    call: str
    """`x, y`: the point, as hessian passes it on."""
    output: str
    jvp_lines: tuple[str, ...]
    jvp_result: str
    hvp_lines: tuple[str, ...]
    """Empty when the module has no hvp (`--jvp`, or a layer)."""
    hvp_result: str
    gradients: str
    products: str
    """`(t_dx, t_dy)`: H times the direction."""
    hessian_calls: tuple[str, ...]
    """One hvp call per unit direction; empty when the module has no
    hessian (an array input, `--jvp`, a layer)."""
    names: dict[str, str]
    """The module's own helpers: `_hessian`, `_direction`."""
    array_directions: bool
    """The directions are checked against their inputs' shapes (§9)."""
    kernels: bool = False
    """The numba target: jvp and hvp run their lines in compiled loops over
    the points (`_jvp_at`, `_hvp_at`), which read the inputs and then the
    directions from rows of one array (`loop_names`) and write
    `jvp_outputs` and `hvp_outputs` into rows of another."""
    loop_names: tuple[str, ...] = ()
    loop_literal: str = ""
    jvp_outputs: tuple[str, ...] = ()
    hvp_outputs: tuple[str, ...] = ()
    wrt_params: str = ""


@dataclass(frozen=True)
class Lines:
    """What a module's context has printed, as `second_order` reads it."""

    forward: tuple[str, ...]
    """One line per stage, in order; an array module's with its shape comment."""
    blocks: tuple
    """grad's (or backward's) BackwardBlocks."""
    seed_line: str
    zero_lines: tuple[str, ...]
    module: str
    """How the lines call the target's module: `np`, `math`, `np_`."""
    own_names: dict[str, str] = field(default_factory=dict)
    """How the module spells the names the target's code reads (`dtype`)."""
    prologue: tuple[str, ...] = ()
    """Lines before the first stage: an array module's input checks."""
    gradient_prologue: tuple[str, ...] = ()
    """Lines before hvp's first stage: what `returned` reads."""
    zeros: Callable[[str], str] = lambda name: "0.0"
    """Code for the zero tangent of a value."""
    returned: Callable[[str], str] = lambda names: names
    """What the module returns for a tuple of gradients (`_unbroadcast`)."""
    shape_of: Callable[[str], str] | None = None
    """An array module's shape comment for a value."""
    number: str = ""
    """An array module's check of a number input (`_number`), which that
    input's direction passes too."""
    namespace: Callable[[tuple[str, ...]], str] | None = None
    """The array-api target's first line, which finds the arrays' namespace
    and makes every argument, directions included, an array of it."""
    value: Callable[[str], str] = lambda code: code
    """What the module returns for a value: the array-api target gives a
    float when every input was a number."""
    spread: Callable[[str, str], str] | None = None
    """What jvp returns for the output's tangent, in the output's shape
    (`value` where None): on a batch, a tangent that only numbers'
    directions move is one number, where every point has that derivative."""
    kernels: bool = False
    """The lines run point by point in compiled loops (numba)."""
    terms: tuple = ()
    """Each block's terms (emit/terms.py), one per line of `blocks`."""
    seed: str | None = None
    """The seed, when a factor times it is written alone (grad's lines)."""
    own_values: dict[str, str] = field(default_factory=dict)
    """How the module spells the names the rows' trees read (`dtype`)."""
    target: str = "math"
    in_blocks: str = ""
    """The module's name for BLOCK where hvp runs in blocks past that many
    points (`_hvp_in_blocks`, the numpy target's number module)."""


class Written(NamedTuple):
    """One line of jvp or hvp, and what it does to the tangents."""

    line: str
    target: str | None = None
    """The tangent the line assigns or adds to."""
    reads: frozenset[str] = frozenset()
    """The tangents the line reads."""
    assigns: bool = False
    """`t = ...`, not `t += ...`: the tangent's earlier value is dead."""


def second_order(tangents: TangentIR, lines: Lines, kinds: Iterable[str], target: str,
                 taken: Iterable[str]) -> SecondOrder:
    """`kinds`: "jvp", or "jvp" and "hvp"; `taken`: every name the module
    already uses, which its helpers' names avoid."""
    staged = tangents.staged
    names = internal_names(set(taken) | set(tangents.names.values()),
                           ("_hessian", "_direction", "_jvp_at", "_hvp_at", "_jvp_kernel",
                            "_hvp_kernel", "_hvp_in_blocks", "blocked"))
    namespace = () if lines.namespace is None else \
        (lines.namespace((*staged.inputs, *tangents.directions.values())),)
    head = namespace + lines.prologue + tuple(_direction_lines(staged, tangents.directions,
                                                               names, lines))
    stages = _forward(tangents, lines, target)
    with_hvp = "hvp" in kinds and not staged.shapes().get(staged.output)
    hvp_lines, products = _hvp(tangents, lines, tuple(
        map(Written, head + _in_blocks(tangents, lines, names) + lines.gradient_prologue))
        + stages, set(taken) | set(tangents.names.values()) | set(names.values())) \
        if with_hvp else ((), "")
    return _record(tangents, lines, names, head + tuple(w.line for w in stages),
                   hvp_lines if with_hvp else None, products)


def _in_blocks(tangents: TangentIR, lines: Lines, names: dict[str, str]) -> tuple[str, ...]:
    """hvp's first line where it runs in blocks: past BLOCK points it hands
    the inputs and directions to `_hvp_in_blocks`, which slices those it
    names (the inputs the output reads, and their directions) and returns
    None where the points must be computed whole."""
    if not lines.in_blocks:
        return ()
    staged, directions = tangents.staged, tangents.directions
    read = read_inputs(staged)
    sliced = (*read, *(directions[name] for name in read if name in directions))
    np, blocked = lines.module, names["blocked"]
    keywords = "{" + ", ".join(f"{direction!r}: {direction}"
                               for direction in directions.values()) + "}"
    return (f"if {broadcast_size((*staged.inputs, *directions.values()), np)} > "
            f"{lines.in_blocks}:\n"
            f"        {blocked} = {names['_hvp_in_blocks']}([{', '.join(staged.inputs)}], "
            f"{keywords},\n            {_tuple(repr(name) for name in sliced)}, "
            f"{_tuple(repr(name) for name in staged.gradient_inputs)})\n"
            f"        if {blocked} is not None:\n"
            f"            return {blocked}",)


def _record(tangents: TangentIR, lines: Lines, names, forward: tuple[str, ...],
            hvp_lines: tuple[str, ...] | None, products: str) -> SecondOrder:
    """The template's fields, from the jvp's lines and (None without hvp)
    the hvp's lines and the name of the tuple of its products."""
    staged, directions = tangents.staged, tangents.directions.values()
    output_tangent = tangents.names[staged.output] if _moves(tangents, staged.output) \
        else lines.zeros(staged.output)
    params = ", ".join(staged.inputs)
    return SecondOrder(
        params=_signature(params, directions),
        call=params,
        output=staged.output,
        jvp_lines=forward,
        jvp_result=f"{lines.value(staged.output)}, " + (
            lines.value(output_tangent) if lines.spread is None
            else lines.spread(output_tangent, staged.output)),
        gradients=_tuple(adjoint_name(name) for name in staged.gradient_inputs),
        products=products,
        names=names,
        array_directions=lines.shape_of is not None,
        kernels=lines.kernels,
        loop_names=(*staged.inputs, *directions),
        loop_literal=_tuple((*staged.inputs, *directions)),
        jvp_outputs=(staged.output, output_tangent),
        wrt_params=_tuple(staged.gradient_inputs),
        **_hvp_fields(tangents, lines, hvp_lines, products),
    )


def _hvp_fields(tangents: TangentIR, lines: Lines, hvp_lines: tuple[str, ...] | None,
                products: str) -> dict:
    """hvp's lines and results, and hessian's calls of it where the
    differentiated inputs are numbers; all empty without hvp (None)."""
    if hvp_lines is None:
        return {"hvp_lines": (), "hvp_result": "", "hessian_calls": (), "hvp_outputs": ()}
    staged = tangents.staged
    gradient_names = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    shapes = staged.shapes()
    params = ", ".join(staged.inputs)
    numbers_only = all(not shapes.get(name) for name in staged.gradient_inputs)
    return {
        "hvp_lines": hvp_lines,
        "hvp_result": (f"{lines.value(staged.output)}, " if not lines.kernels else "")
        + f"{lines.returned(_tuple(gradient_names))}, {lines.returned(products)}",
        "hessian_calls": tuple(f"hvp({params}, {direction}=1.0)"
                               for direction in tangents.directions.values())
        if numbers_only and params else (),
        "hvp_outputs": (staged.output, *gradient_names,
                        *(name.rstrip(",") for name in _names_of(products))),
    }


def _signature(params: str, directions) -> str:
    """`x, y, *, v_x=0.0, v_y=0.0`; the directions on a line of their own
    when one line would be long (`def hvp(` is eight characters)."""
    keywords = ", ".join(f"{direction}=0.0" for direction in directions)
    if not keywords:
        return params
    if not params:
        return f"*, {keywords}"
    if len(params) + len(keywords) + 16 <= 90:
        return f"{params}, *, {keywords}"
    return f"{params}, *,\n        {keywords}"


def _tuple(names) -> str:
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _names_of(code: str) -> tuple[str, ...]:
    """The names of a tuple display that `_tuple` wrote."""
    return tuple(name for name in code[1:-1].split(", ") if name.rstrip(","))


def _moves(tangents: TangentIR, name: str) -> bool:
    return name in tangents.directions or any(
        t is not None and t.stage.name == name for t in tangents.tangents)


def _direction_lines(staged, directions, names, lines: Lines):
    """Each input's direction, checked as the input is (§9): an array
    input's against the input, a number input's as a number."""
    if lines.shape_of is None:
        return
    for name, direction in directions.items():
        if name in staged.declared:
            yield (f"{direction} = {names['_direction']}({direction!r}, {direction}, {name}, "
                   f"{lines.module})")
        else:
            yield f"{direction} = {lines.number}({direction!r}, {direction})"


def _forward(tangents: TangentIR, lines: Lines, target: str) -> tuple[Written, ...]:
    """forward's lines, each stage's followed by its tangent."""
    code_of = printer(target, lines.module, names=lines.own_names)
    out = []
    for line, stage_tangent in zip(lines.forward, tangents.tangents):
        out.append(Written(line))
        if stage_tangent is None:
            continue
        stage = stage_tangent.stage
        code, _, comment = line.partition("  # ")
        values = placeholders(stage.gate, stage.operands, stage.constant, out=stage.name)
        terms = []
        for share in stage_tangent.shares:
            tree = stage.gate.jvp_tree(share.index, len(stage.operands), stage_tangent.ranks,
                                       target)
            terms.append(code_of(tree).format_map(values | {"t": share.tangent}))
        total = terms[0] + "".join(f" - {term[1:]}" if term.startswith("-") else f" + {term}"
                                   for term in terms[1:])
        out.append(Written(f"# tangent of {code}"))
        out.append(Written(f"{stage_tangent.name} = {total}" + (f"  # {comment}" if comment else ""),
                           stage_tangent.name,
                           frozenset(share.tangent for share in stage_tangent.shares), True))
    return tuple(out)


def _hvp(tangents: TangentIR, lines: Lines, forward: tuple[Written, ...], taken: set[str]
         ) -> tuple[tuple, str]:
    """forward's lines with their tangents, then grad's backward lines each
    followed by its tangent; and the tuple of H times the direction.
    `taken`: the module's names, which the lines' own values avoid."""
    staged = tangents.staged
    names = tangents.names
    # The values whose tangent is not 0 at this point of the sweep.
    live = {name: names[name] for name in tangents.directions}
    live.update((t.stage.name, t.name) for t in tangents.tangents if t is not None)
    out, before = list(forward), set(taken)
    if lines.seed_line:
        out.append(Written(lines.seed_line))
    code_of = printer(lines.target, lines.module, names=lines.own_names)
    by_module = _by_module(lines)
    for block, terms in zip(lines.blocks, (block for block in lines.terms if block)):
        out += [Written(""), Written(f"# backprop {block.header}")]
        for line, term in zip(block.lines, terms):
            out.append(Written(line))
            tree = term_tree(term, lines.own_values, lines.seed)
            out += _line_tangent(term, tree, live, names, lines, code_of, by_module, taken)
    if lines.zero_lines:
        out += map(Written, ("", "# inputs the output does not depend on", *lines.zero_lines))
    products = []
    for name in staged.gradient_inputs:
        adjoint = adjoint_name(name)
        if adjoint not in live:
            out.append(Written(f"{names[adjoint]} = {lines.zeros(name)}", names[adjoint],
                               assigns=True))
        products.append(names[adjoint])
    tangent_names = (set(names.values()) - set(tangents.directions.values())) | (
        taken - before)
    return _without_unread(out, tangent_names, set(products)), _tuple(products)


def _without_unread(lines: list[Written], tangent_names: set[str], returned: set[str]
                    ) -> tuple[str, ...]:
    """The lines without the tangents nothing reads: hvp returns H·v, not
    the output's tangent, so the tangents that lead only there (the data
    loss's, in a network) are not computed.  A dropped tangent takes its
    comment with it."""
    needed, kept = set(returned), []
    for written in reversed(lines):
        if written.target in tangent_names:
            if written.target not in needed:
                if kept and kept[-1].startswith("# tangent of"):
                    kept.pop()
                continue
            if written.assigns:
                needed.discard(written.target)
        needed.update(written.reads)
        kept.append(written.line)
    return tuple(reversed(kept))


def _by_module(lines: Lines) -> Callable[[str], expr.Expr | None] | None:
    """The numba module's own functions (`_log`) stand for a row's call
    alone: a call the derivative adds goes to NumPy."""
    if not lines.kernels:
        return None
    module = lines.module
    return lambda name: expr.Attr(expr.Name(module), name) if name in NUMBA_MATH else None


def _line_tangent(term, tree: expr.Expr, live: dict[str, str], names: dict[str, str],
                  lines: Lines, code_of, by_module, taken: set[str] | None = None
                  ) -> list[Written]:
    """The tangent of one backward line (`dx += term`, `dx = term` or
    `dx = dx + term`), updating which adjoints move; on the numpy target,
    preceded by a line for each value the tangent reads twice, named after
    none of `taken`, which gains its name."""
    target = adjoint_name(term.target)
    accumulate = TARGETS[lines.target].accumulate
    augmented = not term.first and accumulate == "{0} += {1}"
    if not term.first and not augmented:
        tree = expr.BinOp("+", expr.Name(target), tree)
    tangent = tangent_tree(tree, live, by_module)
    name = names[target]
    comment = f"  # {lines.shape_of(target[1:])}" if lines.shape_of else ""
    if tangent is None:
        if not augmented:
            live.pop(target, None)
        return []
    shared = []
    if lines.in_blocks:
        # Each value the tangent reads twice (an exp of σ's rule) is computed once.
        computed, tangent = hoisted(tangent, set() if taken is None else taken)
        shared = [_written_value(value, tree, code_of) for value, tree in computed]
    code = code_of.print(tangent)
    reads = frozenset(node.id for node in expr.walk(tangent) if isinstance(node, expr.Name))
    if augmented:
        if target in live:
            return shared + [Written(f"{name} += {code}{comment}", name, reads | {name})]
        live[target] = name
        return shared + [Written(f"{name} = {code}{comment}", name, reads, True)]
    if code == name:  # `dx = dx + term` where the term does not move
        return []
    live[target] = name
    return shared + [Written(f"{name} = {code}{comment}", name, reads, True)]


def _written_value(name: str, tree: expr.Expr, code_of) -> Written:
    return Written(f"{name} = {code_of.print(tree)}", name,
                   frozenset(node.id for node in expr.walk(tree) if isinstance(node, expr.Name)),
                   True)


def scalar_lines(module, target: str) -> Lines:
    """A number module's printed lines (emit/context.py's TemplateContext):
    the math target's grad's, which run for a seed of 1; the numpy
    target's backward's, for a seed of 1 spread as backward spreads it."""
    spec = TARGETS[target]
    names = module.names
    if not spec.blocked:
        return Lines(forward=module.forward_lines,
                     blocks=module.grad_blocks if module.fused_grad else module.blocks,
                     seed_line=module.seed_line if module.fused_grad else f"{module.seed} = 1.0",
                     zero_lines=module.zero_lines, module=names[spec.alias],
                     **_terms_of(module, target, seeded=module.fused_grad))
    # Each gradient in its input's shape, as backward gives it.
    shape, value, np = names["shape"], names["value"], names["np"]
    return Lines(forward=module.forward_lines, blocks=module.blocks,
                 seed_line=_spread_seed(module, "1.0"), zero_lines=module.zero_lines,
                 module=names[spec.alias],
                 gradient_prologue=(f"{shape} = tuple({names['np']}.shape({value}) "
                                    f"for {value} in {module.wrt_params})",),
                 in_blocks=names["BLOCK"],
                 returned=lambda gradients: (f"tuple(map({names['_unbroadcast']}, {gradients}, "
                                             f"{shape}))"),
                 spread=lambda tangent, output: (
                     f"({tangent} if {np}.shape({tangent}) == {np}.shape({output}) "
                     f"else {names['_unbroadcast']}({tangent}, {np}.shape({output})))"),
                 **_terms_of(module, target))


def _spread_seed(module, seed: str, *namespace: str) -> str:
    """hvp's seed spread over the output's shape, as backward spreads its
    own: every backward line then computes over the whole batch, and a
    number input's gradient and product are summed over it."""
    arguments = ", ".join((seed, module.output, *namespace))
    return f"{module.seed} = {module.names['_spread']}({arguments})"


def numba_lines(module) -> Lines:
    """A numba module's lines, which run at one point inside a compiled
    loop; the gradients and products come back summed over broadcasting."""
    names = module.names
    each, size, shape = names["each"], names["size"], names["shape"]
    return Lines(forward=module.forward_lines, blocks=module.blocks,
                 seed_line=f"{module.seed} = 1.0", zero_lines=module.zero_lines,
                 module=names["np"], kernels=True, **_terms_of(module, "numba"),
                 returned=lambda gradients: (
                     f"tuple({names['_unbroadcast']}({each}, {size}) for {each}, {size} "
                     f"in zip({gradients}, {shape}))"))


def array_lines(module, staged, target: str = "numpy") -> Lines:
    """An array module's printed lines (emit/context.py's TemplateContext)."""
    from compiler.passes.shapes import shown

    shapes = staged.shapes()
    names = module.names
    xp = names[TARGETS[target].alias]
    return Lines(forward=module.forward_lines, blocks=module.blocks,
                 seed_line=f"{module.seed} = 1.0", zero_lines=module.zero_lines,
                 module=xp, prologue=module.bind_lines, number=names["_number"],
                 zeros=lambda name: f"{xp}.zeros_like({name})" if shapes.get(name) else "0.0",
                 shape_of=lambda name: shown(shapes.get(name, ())),
                 namespace=_namespace_line(names, False, staged.user_names)
                 if target == "array-api" else None,
                 **_terms_of(module, target))


def array_api_lines(module) -> Lines:
    """A number module of the array-api target: its namespace found from the
    arguments, gradients summed back over broadcasting, numbers returned as
    floats."""
    names = module.names
    xp, numbers, shape, value = names["xp"], names["numbers"], names["shape"], names["value"]
    gradient = names["gradient"]
    setting = f"({xp}, {names['dtype']}, {names['device']}, {numbers})"
    one = f"{xp}.asarray(1.0, dtype={names['dtype']}, device={names['device']})"
    return Lines(forward=module.forward_lines, blocks=module.blocks,
                 seed_line=_spread_seed(module, one, xp),
                 zero_lines=module.zero_lines, module=xp,
                 gradient_prologue=(f"{shape} = tuple({value}.shape for {value} in "
                                    f"{module.wrt_params})",),
                 returned=lambda gradients: (
                     f"tuple({names['_unbroadcast']}({gradient}, {value}, {setting}) "
                     f"for {gradient}, {value} in zip({gradients}, {shape}))"),
                 namespace=_namespace_line(names, True),
                 value=lambda code: f"(float({code}) if {numbers} else {code})",
                 # A formula that reads no input gives a Python number.
                 spread=lambda tangent, output: (f"{names['_unbroadcast']}({tangent}, "
                                                 f"{xp}.asarray({output}).shape, {setting})"),
                 **_terms_of(module, "array-api"))


def _terms_of(module, target: str, seeded: bool = False) -> dict:
    """The Lines fields of the backward terms: `seeded` when the lines are
    grad's, which write a factor times the seed alone."""
    if module.blocks and not module.backward_terms:
        raise ValueError("jvp and hvp read the blocks' terms: make the context with_terms")
    own = {name: module.names.get(name, name) for name in TARGETS[target].own_values}
    return {"terms": module.backward_terms, "seed": module.seed if seeded else None,
            "own_values": own, "target": target}


def _namespace_line(names: dict[str, str], numbers: bool,
                    user_names: dict[str, str] | None = None) -> Callable[[tuple[str, ...]], str]:
    """The array-api target's first line, over the given arguments, which a
    type error names as the file writes them (`user_names`: the file's name
    -> the module's)."""
    written = {python: name for name, python in (user_names or {}).items()}

    def line(arguments: tuple[str, ...]) -> str:
        listed = ", ".join(arguments) + ("," if len(arguments) == 1 else "")
        setting = [names["xp"], names["dtype"], names["device"]] + \
            ([names["numbers"]] if numbers else [])
        # Beyond the inputs, the arguments are directions, which a type
        # error names too.
        named = "" if numbers else \
            f", names={tuple_code(repr(written.get(each, each)) for each in arguments)}"
        return (f"{', '.join(setting)}, ({listed}) = "
                f"{names['_namespace']}({', '.join(arguments)}{named})")
    return line
