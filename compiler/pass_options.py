"""argv options -> `Passes`, the one set of optimization switches.

Every command that compiles a formula (`compile`, `check`, `draw`,
`explain`) takes the same options, so that a check, a drawing or an
explanation sees the stages the module computes.
"""

from __future__ import annotations

import argparse

from compiler.passes.optimize import Passes


def add_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--wrt", metavar="X,Y", type=_names,
                         help="backward returns only these inputs' gradients, in this "
                              "order, and computes only what they need")
    command.add_argument("-O0", dest="optimize", action="store_false",
                         help="run no optimization pass (the same as all --no-* below)")
    for name, what in (("fold", "fold chains of constant gates (2*(3*x) is 6*x)"),
                       ("cse", "merge repeated stages (x + y written twice)"),
                       ("dce", "drop stages the output does not depend on")):
        command.add_argument(f"--no-{name}", dest=name, action="store_false",
                             help=f"do not {what}")


def passes(args: argparse.Namespace) -> Passes:
    """The switches `args` asks for."""
    return Passes(fold=args.fold and args.optimize, cse=args.cse and args.optimize,
                  dce=args.dce and args.optimize, wrt=args.wrt)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())
