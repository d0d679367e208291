"""Where a generated module's time goes: each line of its forward and
backward, timed as it runs.

    python benchmarks/train_step.py --lines            # the training step's lines

`line_costs(module, args)` runs forward's body, then backward's, one
statement at a time in one namespace, as the functions would (forward's
cache handed to backward), `rounds` times, and keeps each statement's
minimum.  Checks of the inputs (`_bind`) are statements too; the return of
forward is the cache, and its time (building a tuple) is negligible.
"""

from __future__ import annotations

import ast
import inspect
import time


def _statements(function) -> tuple[list[str], list]:
    """The function's parameters, and its body as (text, compiled) pairs,
    a `return x` becoming `_returned = x`."""
    tree = ast.parse(inspect.getsource(function))
    definition = tree.body[0]
    body = [node for node in definition.body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    pairs = []
    for node in body:
        if isinstance(node, ast.Return):
            node = ast.Assign([ast.Name("_returned", ast.Store())], node.value, lineno=0)
            ast.fix_missing_locations(node)
        text = ast.unparse(node)
        pairs.append((text, compile(ast.Module([node], []), "<line>", "exec")))
    return [arg.arg for arg in definition.args.args], pairs


def line_costs(module, args, rounds: int = 5) -> list[tuple[str, str, float]]:
    """(function, line, seconds) for every statement of forward then backward."""
    plans = [("forward", *_statements(module.forward)), ("backward", *_statements(module.backward))]
    best: dict[tuple[str, int], float] = {}
    for _ in range(rounds):
        scope = dict(vars(module))
        scope.update(zip(plans[0][1], args))
        for name, parameters, pairs in plans:
            if name == "backward":
                scope[parameters[0]] = scope["_returned"][1]
                scope[parameters[1]] = 1.0
            for index, (_, code) in enumerate(pairs):
                begin = time.perf_counter()
                exec(code, scope)
                spent = time.perf_counter() - begin
                best[name, index] = min(best.get((name, index), float("inf")), spent)
    return [(name, text, best[name, index]) for name, _, pairs in plans
            for index, (text, _) in enumerate(pairs)]


def print_costs(costs, top: int = 15) -> None:
    total = sum(seconds for _, _, seconds in costs)
    print(f"| function | line | ms | share of {total * 1e3:.1f} ms |")
    print("|---|---|---:|---:|")
    for name, text, seconds in sorted(costs, key=lambda row: -row[2])[:top]:
        line = text if len(text) < 90 else text[:87] + "..."
        print(f"| {name} | `{line}` | {seconds * 1e3:.2f} | {seconds / total:.1%} |")
