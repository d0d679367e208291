"""What several test files build the same way: a module of one gate, and
central differences."""

from __future__ import annotations

from compiler.emit.context import context
from compiler.emit.render import render
from compiler.loader import module_from_source
from compiler.passes.adjoint import adjoint
from compiler.passes.stage import Const, Ref, Stage, StagedIR

OPERAND_NAMES = ("a", "b", "u")


def operand_count(gate) -> int:
    """A variadic gate is tested with three operands."""
    return 3 if gate.variadic else gate.arity


def single_gate_module(gate, constant=None, target: str = "math", style: str = "lecture"):
    """The module of `f = gate(a, b, ...)`, with `constant` as the gate's
    constant when it takes one; its inputs are OPERAND_NAMES in order."""
    names = OPERAND_NAMES[:operand_count(gate)]
    const = Const(float(constant)) if gate.takes_constant else None
    stage = Stage("f", gate, tuple(map(Ref, names)), const, None)
    staged = StagedIR(names, (stage,), "f", {n: n for n in names})
    source = render(context(adjoint(staged), style, target), target)
    return module_from_source(source, f"gate_{gate.name}_{target}_{style}", f"<gate {gate.name}>")


def central_difference(function, args, index: int) -> float:
    """d function / d args[index], by a central difference whose step
    follows the argument's size."""
    step = 1e-6 * max(1.0, abs(args[index]))
    up, down = list(args), list(args)
    up[index] += step
    down[index] -= step
    return (function(*up) - function(*down)) / (2 * step)
