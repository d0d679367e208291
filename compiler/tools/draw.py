"""AdjointIR (+ a Trace) -> DOT text -> an SVG, PNG or DOT file: `gradc draw`.

The lecture's circuit, left to right: the inputs, one node per gate
labelled with its row's `symbol`, and one edge per use of a value, so a
value that fans out leaves its node on several edges.  Each edge is
labelled with the name of the value it carries; at a point, the forward
value is written in green above the name and the gradient that flows back
along that edge (this use's contribution) in red below it.  An input node
also shows its total gradient, the sum over its edges.

The DOT text depends only on the formula and the point, so a golden file
can hold it; Graphviz's `dot` program turns it into SVG or PNG.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from compiler.tools import array_draw
from compiler.tools import array_trace
from compiler.build import Build
from compiler.passes.adjoint import AdjointIR, adjoint_name
from compiler.errors import GradcError
from compiler.files import output_path, write_atomically, write_bytes_atomically
from compiler.gates.snippets import fill, spell
from compiler.passes.stage import Const, Stage
from compiler.tools.trace import Trace, given_point, trace

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
    if array_trace.is_array_run(formula, args):
        source = array_draw.drawn(formula, args)
    else:
        ir = formula.adjoint
        at = args.at or args.at_file
        source = dot_source(ir, _trace_at(ir, given_point(formula, args)) if at else None)
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


def _trace_at(ir: AdjointIR, point: tuple[float, ...]) -> Trace:
    """The trace at the point; a drawing with holes would mislead, so a
    value or gradient that is not finite stops the drawing."""
    result = trace(ir, point)
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
    graph = _graphviz().Digraph(
        staged.output, graph_attr={"rankdir": "LR", "nodesep": "0.4", "ranksep": "0.6"},
        node_attr={"fontname": "Helvetica", "fontsize": "12"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.6"})
    for name in staged.inputs:
        graph.node(name, _input_label(name, at), shape="plaintext")
    gradients = _edge_gradients(at)
    for stage in staged.stages:
        graph.node(stage.name, fill(stage.gate.symbol, stage.gate, (), stage.constant),
                   shape="circle", width="0.45", margin="0.02")
        for index, operand in enumerate(stage.operands):
            _edge_in(graph, stage, index, operand, at, gradients)
    # The output wire ends at a point, carrying the value and the seed 1.
    end = f"{staged.output}.out"
    graph.node(end, "", shape="point", width="0.06")
    seed = at.adjoints[adjoint_name(staged.output)] if at else None
    graph.edge(staged.output, end, _wire_label(staged.output, at, seed))
    return graph.source


def _edge_in(graph, stage: Stage, index: int, operand, at: Trace | None,
             gradients: dict[tuple[str, str], list[float]]) -> None:
    if isinstance(operand, Const):
        # A constant operand gets its own small node, one per use.
        source = f"{stage.name}.c{index}"
        graph.node(source, spell(operand), shape="plaintext")
        graph.edge(source, stage.name)
        return
    flowing = gradients.get((stage.name, operand.name))
    graph.edge(operand.name, stage.name,
               _wire_label(operand.name, at, flowing.pop(0) if flowing else None))


def _edge_gradients(at: Trace | None) -> dict[tuple[str, str], list[float]]:
    """(gate, operand name) -> the gradients flowing back to that operand,
    in operand order: the gate of `x * x` sends two back to x."""
    edges: dict[tuple[str, str], list[float]] = {}
    for step in at.steps if at else ():
        key = (step.block.stage.name, step.contribution.target)
        edges.setdefault(key, []).append(step.product)
    return edges


def _wire_label(name: str, at: Trace | None, gradient: float | None) -> str:
    if at is None:
        return name
    rows = [_coloured(at.values[name], GREEN), name]
    if gradient is not None:
        rows.append(_coloured(gradient, RED))
    return "<" + "<br/>".join(rows) + ">"


def _input_label(name: str, at: Trace | None) -> str:
    # With --wrt, an input outside it has no gradient to show.
    if at is None or adjoint_name(name) not in at.adjoints:
        return name
    return f"<{name}<br/>{_coloured(at.adjoints[adjoint_name(name)], RED)}>"


def _coloured(number: float, colour: str) -> str:
    return f'<font color="{colour}">{format(number, DIGITS)}</font>'
