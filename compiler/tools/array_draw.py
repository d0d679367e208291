"""ArrayTrace -> DOT text: `gradc draw` for a formula that declares shapes.

The circuit is the scalar one (draw.py): the inputs, one circle per gate,
one edge per use of a value.  Each wire carries its name and shape, the
norm of its value in green above them and the norm of the gradient that
flows back along it in red below; a number is shown as itself, since its
sign says more than its size.  An input node shows its shape and its
total gradient's norm, the sum over its edges; a dimension that a formula
reads as a number (`1/N`) is a node of its own with its size.

A layer (an array output) has no gradient of its own: its backward pass
starts from an upstream gradient, so the drawing shows that upstream as
an input at the right, feeding the output's wire, and the caption says
it is random and with which seed.
"""

from __future__ import annotations

import numpy as np

from compiler.passes.adjoint import adjoint_name
from compiler.tools.array_trace import ArrayTrace, array_trace
from compiler.errors import GradcError
from compiler.passes.shapes import shown
from compiler.gates.snippets import fill, spell
from compiler.passes.stage import Const, Stage

GREEN = "#2e7d32"
RED = "#c62828"
DIGITS = "#.3g"


def drawn(formula, args) -> str:
    """The DOT text for `gradc draw`'s arguments; a drawing with holes would
    mislead, so a value or gradient that is not finite stops it."""
    result = array_trace(formula, args.dims, args.seed, args.at, args.at_file)
    if result.failure is not None:
        raise GradcError(f"cannot draw at this point: {result.failure.describe()} "
                         f"(gradc explain shows the stages up to it)",
                         result.failure.stage.span)
    return dot_source(result)


def dot_source(result: ArrayTrace) -> str:
    # Imported here, as draw.py does, so that explain needs no graphviz.
    from compiler.tools.draw import _graphviz

    staged = result.ir.staged
    graph = _graphviz().Digraph(
        staged.output, graph_attr={"rankdir": "LR", "nodesep": "0.4", "ranksep": "0.6",
                                   "labelloc": "b", "label": _caption(result),
                                   "fontname": "Helvetica", "fontsize": "11"},
        node_attr={"fontname": "Helvetica", "fontsize": "12"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.6"})
    for name in staged.inputs:
        graph.node(name, _input_label(name, result), shape="plaintext")
    read = {operand.name for stage in staged.stages for operand in stage.operands
            if not isinstance(operand, Const)}
    for name in staged.dims:
        if name in read:
            graph.node(name, f"{name} = {result.sizes[name]}", shape="plaintext")
    gradients = _edge_gradients(result)
    for stage in staged.stages:
        graph.node(stage.name, fill(stage.gate.symbol, stage.gate, (), stage.constant),
                   shape="circle", width="0.45", margin="0.02")
        for index, operand in enumerate(stage.operands):
            _edge_in(graph, stage, index, operand, result, gradients)
    _output_wire(graph, result)
    return graph.source


def _output_wire(graph, result: ArrayTrace) -> None:
    """The output's wire ends at a point, carrying the seed 1; a layer's is
    fed by its upstream gradient, drawn as an input on the right."""
    output = result.ir.staged.output
    end = f"{output}.out"
    graph.node(end, "", shape="point", width="0.06")
    seed = adjoint_name(output)
    graph.edge(output, end, _wire_label(output, result, result.adjoints[seed]))
    if result.upstream is not None:
        upstream = f"{output}.upstream"  # no value of the file has a dot in its name
        graph.node(upstream, f"<{_named(seed, result, output)}<br/>"
                         f"{_coloured(result.upstream, RED)}<br/>random upstream>",
                   shape="plaintext")
        graph.edge(end, upstream, dir="back", style="dashed", color=RED)


def _edge_in(graph, stage: Stage, index: int, operand, result: ArrayTrace,
             gradients: dict[tuple[str, str], list]) -> None:
    if isinstance(operand, Const):
        source = f"{stage.name}.c{index}"
        graph.node(source, spell(operand), shape="plaintext")
        graph.edge(source, stage.name)
        return
    if operand.name in result.ir.staged.dims:
        graph.edge(operand.name, stage.name)  # a size carries no gradient
        return
    flowing = gradients.get((stage.name, operand.name))
    graph.edge(operand.name, stage.name,
               _wire_label(operand.name, result, flowing.pop(0) if flowing else None))


def _edge_gradients(result: ArrayTrace) -> dict[tuple[str, str], list]:
    """(gate, operand name) -> what flows back to that operand, in operand
    order: the gate of `W1 * W1` sends two terms back to W1."""
    edges: dict[tuple[str, str], list] = {}
    for line in result.lines:
        key = (line.block.stage.name, line.contribution.target)
        edges.setdefault(key, []).append(line.term)
    return edges


def _wire_label(name: str, result: ArrayTrace, gradient) -> str:
    rows = [_coloured(result.values[name], GREEN), _named(name, result)]
    if gradient is not None:
        rows.append(_coloured(gradient, RED))
    return "<" + "<br/>".join(rows) + ">"


def _input_label(name: str, result: ArrayTrace) -> str:
    head = _named(name, result)
    # With --wrt, an input outside it has no gradient to show.
    if adjoint_name(name) not in result.adjoints:
        return f"<{head}>"
    return f"<{head}<br/>{_coloured(result.adjoints[adjoint_name(name)], RED)}>"


def _named(name: str, result: ArrayTrace, shaped_as: str | None = None) -> str:
    """`W1 [D, H]`; a number's wire has its name alone."""
    shape = result.shape(shaped_as or name)
    return f"{name} {shown(shape)}" if shape else name


def _coloured(value, colour: str) -> str:
    return f'<font color="{colour}">{_magnitude(value)}</font>'


def _magnitude(value) -> str:
    """‖v‖ for an array (Frobenius for a matrix), a number as itself."""
    if np.ndim(value) == 0:
        return format(float(value) + 0.0, DIGITS)
    return f"‖·‖ {format(float(np.linalg.norm(value)), DIGITS)}"


def _caption(result: ArrayTrace) -> str:
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
