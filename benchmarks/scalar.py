"""The scalar table's rows, measured several times, with the shape floor.

    python benchmarks/scalar.py                      # every example, 3 repeats
    python benchmarks/scalar.py staged --repeats 5   # some examples only

Each repeat is one `interleaved_minimum` run (benchmarks/run.py) over the
same columns, so the table gives each ratio's range over the repeats, which
is what a shared machine allows one to claim.  Ratios are to SymPy's
lambdify(cse=True) (lower is faster), except `lecture / hand`.

`SymPy shape` is SymPy's own generated function with its last line
rewritten to return gradc's shape, `(f, (dx, dy))`, instead of its flat
list `[f, dx, dy]`: the interface's nested tuple costs that much on its
own, whatever the lines before it, so no code with that interface can go
below it by returning differently.
"""

from __future__ import annotations

import argparse
import ast
import inspect

from run import EXAMPLES, _bound, gradc_module, interleaved_minimum, point
import hand_staged
from peers import sympy_grad


def in_gradc_shape(function):
    """`function` (SymPy's lambdify output) returning `(f, (dx, ...))`."""
    tree = ast.parse(inspect.getsource(function))
    body = tree.body[0].body
    values = body[-1].value.elts
    body[-1].value = ast.Tuple([values[0], ast.Tuple(values[1:], ast.Load())], ast.Load())
    namespace = dict(function.__globals__)
    exec(compile(ast.fix_missing_locations(tree), "<sympy shape>", "exec"), namespace)
    return namespace[tree.body[0].name]


def timings(text: str, stem: str, rounds: int, number: int) -> dict[str, float]:
    lecture = gradc_module(text, "lecture")
    args = point(len(lecture.INPUTS))
    sympy = sympy_grad(text)
    calls = {"sympy": _bound(sympy, args), "sympy shape": _bound(in_gradc_shape(sympy), args),
             "lecture": _bound(lecture.grad, args),
             "compact": _bound(gradc_module(text, "compact").grad, args)}
    if stem == "staged":
        calls["hand"] = _bound(hand_staged.grad, args)
    best = interleaved_minimum(calls, rounds, number)
    ratios = {name: best[name] / best["sympy"] for name in best if name != "sympy"}
    if "hand" in best:
        ratios["lecture / hand"] = best["lecture"] / best["hand"]
    return ratios | {"SymPy ns": best["sympy"] * 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="*", help="example stems (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    columns = ["SymPy ns", "sympy shape", "compact", "lecture", "hand", "lecture / hand"]
    print("| example | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for example in EXAMPLES:
        if args.examples and example.stem not in args.examples:
            continue
        text = example.read_text(encoding="utf-8")
        runs = [timings(text, example.stem, args.rounds, args.number)
                for _ in range(args.repeats)]
        cells = [_range([run[c] for run in runs]) if c in runs[0] else "" for c in columns]
        print(f"| {example.stem} | " + " | ".join(cells) + " |", flush=True)


def _range(values: list[float]) -> str:
    digits = 0 if min(values) > 10 else 2
    low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return low if low == high else f"{low}–{high}"


if __name__ == "__main__":
    main()
