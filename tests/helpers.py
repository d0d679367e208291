"""What several test files build the same way: a module of one gate,
central differences, and the two-layer network's hand-written pass."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from compiler.emit.context import context
from compiler.emit.render import render
from compiler.loader import module_from_source
from compiler.passes.adjoint import adjoint
from compiler.gates import GATES
from compiler.passes.stage import Const, Ref, Stage, StagedIR

OPERAND_NAMES = ("a", "b", "u")


def operand_count(gate) -> int:
    """A variadic gate is tested with three operands."""
    return 3 if gate.variadic else gate.arity


def gate_stages(gate, operands: tuple, constant=None, name: str = "f") -> tuple:
    """The stages of `name = gate(operands)`: first the values its row reads
    beside its operands (Gate.helpers), each a stage of its own, as the
    staging pass makes them."""
    stages = []

    def planned(plan):
        if isinstance(plan, int):
            return operands[plan]
        row, *parts = plan
        refs = tuple(planned(part) for part in parts)
        stages.append(Stage(f"{name}_{row}{len(stages)}", GATES[row], refs, None, None))
        return Ref(stages[-1].name)
    helpers = tuple(planned(plan) for _, plan in gate.helpers)
    stages.append(Stage(name, gate, tuple(operands) + helpers, constant, None))
    return tuple(stages)


def single_gate_module(gate, constant=None, target: str = "math", style: str = "lecture"):
    """The module of `f = gate(a, b, ...)`, with `constant` as the gate's
    constant when it takes one; its inputs are OPERAND_NAMES in order."""
    names = OPERAND_NAMES[:operand_count(gate)]
    const = Const(float(constant)) if gate.takes_constant else None
    staged = StagedIR(names, gate_stages(gate, tuple(map(Ref, names)), const), "f",
                      {n: n for n in names})
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


def softmax_rows(scores):
    """Each row's softmax, shifted by its maximum, as the lecture writes it."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


def two_layer_by_hand(X, Y, W1, b1, W2, b2, reg):
    """The two-layer network's loss and gradient (dW1, db1, dW2, db2), forward
    and backward as a person writes them for the lecture's assignment, and
    the hidden layer's activations."""
    hidden = np.maximum(0, X @ W1 + b1)
    probs = softmax_rows(hidden @ W2 + b2)
    loss = (-np.sum(Y * np.log(probs)) / len(X)
            + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2)))
    dscores = (probs - Y) / len(X)
    dW2 = hidden.T @ dscores + reg * W2
    db2 = dscores.sum(axis=0)
    dhidden = dscores @ W2.T
    dhidden[hidden <= 0] = 0
    dW1 = X.T @ dhidden + reg * W1
    db1 = dhidden.sum(axis=0)
    return loss, (dW1, db1, dW2, db2), hidden


_PAGE_FAULTS = """
import resource
import numpy as np
{load}
columns = np.random.default_rng(1).random((len(module.INPUTS), {points}))
module.grad(*columns)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range({calls}):
    module.grad(*columns)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // {calls})
"""


def page_faults_per_call(load: str, points: int = 10**6, calls: int = 3, cwd=None) -> int:
    """The minor page faults of one grad call at `points` points, in a fresh
    process that has freed no large array of its own (so only what the
    module does sets glibc's threshold); `load` imports it as `module`."""
    code = _PAGE_FAULTS.format(load=load, points=points, calls=calls)
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=cwd).stdout)
