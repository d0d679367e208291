"""argv options -> the optimization switches of `driver.staged_ir`.

`gradc compile`, `gradc draw` and `gradc explain` take the same options, so
that a drawing or an explanation shows the stages the module computes.
"""

from __future__ import annotations

import argparse


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


def passes(args: argparse.Namespace) -> dict:
    """The keyword options of `driver.staged_ir` that `args` asks for."""
    return {"wrt": args.wrt, "fold": args.fold and args.optimize,
            "cse": args.cse and args.optimize, "dce": args.dce and args.optimize}


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())
