"""A compiled formula (at a point) -> DOT text -> an SVG, PNG or DOT file:
`gradc draw`.

The lecture's circuit, left to right: the inputs, one node per gate
labelled with its row's `symbol`, and one edge per use of a value, so a
value that fans out leaves its node on several edges.  Each edge is
labelled with the name of the value it carries; at a point, the forward
value is written in green above the name and the gradient that flows back
along that edge (this use's contribution) in red below it.  An input node
also shows its total gradient, the sum over its edges.

For a file that declares shapes, each wire also carries its shape, and
the norm of its value and of its gradient (a number is shown as itself,
since its sign says more than its size); a dimension that the formula
reads as a number (`1/N`) is a node of its own with its size.  A layer (an
array output) has no gradient of its own: its backward pass starts from an
upstream gradient, drawn as an input at the right, feeding the output's
wire, and the caption says it is random and with which seed.

The DOT text depends only on the formula and the point, so a golden file
can hold it; Graphviz's `dot` program turns it into SVG or PNG.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from compiler.build import Build
from compiler.passes.adjoint import AdjointIR, adjoint_name
from compiler.errors import GradcError
from compiler.files import output_path, write_atomically, write_bytes_atomically
from compiler.gates.snippets import fill, spell
from compiler.passes.stage import Const, Stage
from compiler.passes.shapes import shown
from compiler.tools.trace import Trace, given_point, takes_arrays, trace, trace_drawn

# Output suffix -> Graphviz output format; None means the DOT text itself.
FORMATS = {".svg": "svg", ".png": "png", ".dot": None}
GREEN = "#2e7d32"
RED = "#c62828"
# Three significant digits keep a label short, as the lecture's figures do,
# and still show the scale of 1e-05 or 1e+200.
DIGITS = "#.3g"

NO_DOT = ("drawing {suffix} needs Graphviz's `dot` program, which is not on PATH: "
          "install Graphviz (`apt-get install graphviz`, `brew install graphviz`, or "
          "https://graphviz.org/download/), or write the DOT text with -o FILE.dot")
NO_PACKAGE = "drawing needs the graphviz package: install it with pip install 'gradc[draw]'"


def run(formula: Build, args) -> int:
    target = _output_path(args.file, args.output)
    if takes_arrays(formula, args):
        at = _drawable(trace_drawn(formula, args.dims, args.seed, args.at, args.at_file))
    elif args.at or args.at_file:
        at = _drawable(trace(formula.adjoint, given_point(formula, args)))
    else:
        at = None
    source = dot_source(formula.adjoint, at)
    if FORMATS[target.suffix] is None:
        write_atomically(target, source)
    else:
        write_bytes_atomically(target, render(source, target.suffix))
    return 0


def _output_path(formula: str, output: str | None) -> Path:
    target = Path(output) if output else Path(formula).with_suffix(".svg")
    if target.suffix not in FORMATS:
        *others, last = FORMATS
        raise GradcError(f"expected the output to end in {', '.join(others)} or {last}, "
                         f"got '{target.name}'")
    return output_path(target, formula)


def _drawable(result):
    """The trace, when every value and gradient is finite: a drawing with
    holes would mislead."""
    if result.failure is not None:
        raise GradcError(f"cannot draw at this point: {result.failure.describe()} "
                         f"(gradc explain shows the stages up to it)", result.failure.stage.span)
    return result


def render(source: str, suffix: str) -> bytes:
    """DOT text -> the bytes of an image, by Graphviz's `dot` program."""
    graphviz = _graphviz()
    if shutil.which("dot") is None:
        raise GradcError(NO_DOT.format(suffix=suffix))
    try:
        return graphviz.Source(source).pipe(format=FORMATS[suffix])
    except graphviz.ExecutableNotFound:
        raise GradcError(NO_DOT.format(suffix=suffix)) from None


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise GradcError(NO_PACKAGE) from None
    return graphviz


def dot_source(ir: AdjointIR, at: Trace | None = None) -> str:
    staged = ir.staged
    caption = {"labelloc": "b", "label": _caption(at), "fontname": "Helvetica",
               "fontsize": "11"} if _shaped(at) else {}
    graph = _graphviz().Digraph(
        staged.output, graph_attr={"rankdir": "LR", "nodesep": "0.4", "ranksep": "0.6",
                                   **caption},
        node_attr={"fontname": "Helvetica", "fontsize": "12"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.6"})
    for name in staged.inputs:
        graph.node(name, _input_label(name, at), shape="plaintext")
    read = {operand.name for stage in staged.stages for operand in stage.operands
            if not isinstance(operand, Const)}
    for name in staged.dims:
        if name in read:
            graph.node(name, f"{name} = {at.sizes[name]}" if at else name, shape="plaintext")
    gradients = _edge_gradients(at)
    for stage in staged.stages:
        graph.node(stage.name, fill(stage.gate.symbol, stage.gate, (), stage.constant),
                   shape="circle", width="0.45", margin="0.02")
        for index, operand in enumerate(stage.operands):
            _edge_in(graph, staged, stage, index, operand, at, gradients)
    _output_wire(graph, staged.output, at)
    return graph.source


def _output_wire(graph, output: str, at) -> None:
    """The output's wire ends at a point, carrying the value and the seed;
    a layer's is fed by its upstream gradient, drawn as an input on the right."""
    end = f"{output}.out"
    graph.node(end, "", shape="point", width="0.06")
    seed = adjoint_name(output)
    graph.edge(output, end, _wire_label(output, at, at.adjoints[seed] if at else None))
    upstream = getattr(at, "upstream", None)
    if upstream is not None:
        node = f"{output}.upstream"  # no value of the file has a dot in its name
        graph.node(node, f"<{_named(seed, at, output)}<br/>"
                         f"{_coloured(upstream, RED)}<br/>random upstream>",
                   shape="plaintext")
        graph.edge(end, node, dir="back", style="dashed", color=RED)


def _edge_in(graph, staged, stage: Stage, index: int, operand, at,
             gradients: dict[tuple[str, str], list]) -> None:
    if isinstance(operand, Const):
        # A constant operand gets its own small node, one per use.
        source = f"{stage.name}.c{index}"
        graph.node(source, spell(operand), shape="plaintext")
        graph.edge(source, stage.name)
        return
    if operand.name in staged.dims:
        graph.edge(operand.name, stage.name)  # a size carries no gradient
        return
    flowing = gradients.get((stage.name, operand.name))
    graph.edge(operand.name, stage.name,
               _wire_label(operand.name, at, flowing.pop(0) if flowing else None))


def _edge_gradients(at) -> dict[tuple[str, str], list]:
    """(gate, operand name) -> the gradients flowing back to that operand,
    in operand order: the gate of `x * x` sends two back to x."""
    flows = [] if at is None else [(step.block, step.contribution, step.term)
                                   for step in at.steps]
    edges: dict[tuple[str, str], list] = {}
    for block, contribution, gradient in flows:
        edges.setdefault((block.stage.name, contribution.target), []).append(gradient)
    return edges


def _wire_label(name: str, at, gradient) -> str:
    if at is None:
        return name
    rows = [_coloured(at.values[name], GREEN), _named(name, at)]
    if gradient is not None:
        rows.append(_coloured(gradient, RED))
    return "<" + "<br/>".join(rows) + ">"


def _input_label(name: str, at) -> str:
    head = _named(name, at)
    # With --wrt, an input outside it has no gradient to show.
    if at is None or adjoint_name(name) not in at.adjoints:
        return f"<{head}>" if _shaped(at) else head
    return f"<{head}<br/>{_coloured(at.adjoints[adjoint_name(name)], RED)}>"


def _named(name: str, at, shaped_as: str | None = None) -> str:
    """`W1 [D, H]`; a number's wire has its name alone."""
    shape = at.shape(shaped_as or name) if _shaped(at) else ()
    return f"{name} {shown(shape)}" if shape else name


def _shaped(at: Trace | None) -> bool:
    """Whether the drawing is of a file that declares shapes, whose wires
    name their shapes and whose caption says how the arrays were drawn."""
    return at is not None and at.ir.staged.shaped


def _coloured(value, colour: str) -> str:
    return f'<font color="{colour}">{_magnitude(value)}</font>'


def _magnitude(value) -> str:
    """A number as itself, ‖v‖ for an array (Frobenius for a matrix)."""
    if isinstance(value, float):
        return format(value, DIGITS)
    import numpy as np

    if np.ndim(value) == 0:
        return format(float(value) + 0.0, DIGITS)
    return f"‖·‖ {format(float(np.linalg.norm(value)), DIGITS)}"


def _caption(result: Trace) -> str:
    staged = result.ir.staged
    sizes = ", ".join(f"{name} = {size}" for name, size in result.sizes.items())
    lines = [f"{staged.output}({', '.join(staged.inputs)})"
             + (f" at {sizes}" if sizes else "")
             + (", entries random" if result.origin == "random"
                else ", inputs as given, any others random")
             + f" in [-3, 3] (seed {result.seed})",
             "on each wire: its value (green), name and shape (none for a number), and "
             "the gradient flowing back (red); ‖·‖ is the Euclidean norm, Frobenius "
             "for a matrix"]
    if result.upstream is not None:
        seed = adjoint_name(staged.output)
        lines.append(f"{seed} is a random upstream gradient (seed {result.seed}): "
                     f"the gradients are those of sum({seed} * {staged.output})")
    return "<" + "<br/>".join(lines) + ">"
