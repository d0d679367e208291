"""argv -> exit status: the `gradc` command.

Every command reads and compiles its file once (`build.read`), with one
set of pass switches, then hands the compiled formula to its runner.  A
runner's module is imported only when its command runs, so that `gradc
compile` of a formula of numbers imports neither NumPy nor SymPy nor the
tools.

Exit status 0 on success, 1 when `gradc check` finds a disagreement or
`gradc explain` a value or gradient that is not finite, 2 on bad input.
Only `GradcError` is caught: any other exception is a bug in gradc and
should be seen as one.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys

from pathlib import Path

from compiler import __version__, pass_options
from compiler.build import read
from compiler.checker import ATOL, RTOL, SYMPY_TIMEOUT
from compiler.emit.context import STYLES
from compiler.emit.render import TARGET_NAMES
from compiler.errors import GradcError, format_error
from compiler.driver import compiled_given
from compiler.files import decoded_for_display, output_path, read_source, write_atomically

TOOLS = {"check": "compiler.checker.report", "explain": "compiler.tools.explain",
         "draw": "compiler.tools.draw"}
"""The module whose `run(formula, args)` carries out each command but
`compile`, imported when its command runs."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradc",
        description="Compile a formula to a Python module that computes its value "
                    "and its gradient, staged like hand-written backpropagation.")
    parser.add_argument("--version", action="version", version=f"gradc {__version__}")
    parser.add_argument("--self-check", action=_SelfCheck,
                        help="check every row of the gate table and exit (status 1 "
                             "naming the first malformed row)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_compile, _check, _draw, _explain):
        command = add(commands)
        command.add_argument("file", help="the formula file (UTF-8)")
        pass_options.add_options(command)
    return parser


class _SelfCheck(argparse.Action):
    """`gradc --self-check`: the gate table's checks, which a compile does not
    run (compiler/gates/table.py), for an install whose table was edited."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from compiler import gates

        try:
            count = gates.check()
        except AssertionError as problem:
            parser.exit(1, f"gradc: the gate table is malformed: {problem}\n")
        print(f"gradc {__version__}: the gate table's {count} rows check out")
        parser.exit(0)


def _compile(commands) -> argparse.ArgumentParser:
    command = commands.add_parser("compile", help="compile a formula file to a module",
                                  description="Compile a formula file to a Python module.")
    command.add_argument("-o", "--output", metavar="OUT",
                         help="where to write the module (default: FILE with .py; "
                              "'-' for standard output)")
    command.add_argument("--target", choices=TARGET_NAMES, default=None,
                         help="what the module computes with (default: math, or "
                              "numpy for a file that declares shapes)")
    command.add_argument("--style", choices=STYLES, default="lecture",
                         help="lecture keeps unit factors such as (1) * dden; "
                              "compact drops them (default: lecture)")
    _second_order_options(command)
    return command


def _check(commands) -> argparse.ArgumentParser:
    command = commands.add_parser(
        "check", help="check a formula's generated gradient against SymPy and "
                      "central differences",
        description="Compile a formula in memory and compare its generated value and "
                    "gradient with SymPy and central differences. Exit status 0 when "
                    "everything agrees, 1 when anything disagrees, 2 on bad input.")
    command.add_argument("--at", action="append", nargs="+", metavar="NAME=VALUE",
                         help="a point to check, such as --at x=3 y=-4 (repeatable); in a "
                              "file that declares shapes, its number inputs")
    _input_options(command)
    command.add_argument("--points", type=_count, metavar="N",
                         help="random points to add (default: 3, or 0 with --at)")
    command.add_argument("--rtol", type=_tolerance, default=RTOL, metavar="R",
                         help=f"relative tolerance (default: {RTOL:g})")
    command.add_argument("--atol", type=_tolerance, default=ATOL, metavar="A",
                         help=f"absolute tolerance (default: {ATOL:g})")
    command.add_argument("--sympy-timeout", type=float, default=SYMPY_TIMEOUT,
                         metavar="SECONDS",
                         help=f"time budget for SymPy; past it, only central differences "
                              f"are compared (default: {SYMPY_TIMEOUT:g})")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    _second_order_options(command)
    return command


def _explain(commands) -> argparse.ArgumentParser:
    command = commands.add_parser(
        "explain", help="show every stage's value and gradient at a point",
        description="Run a formula at a point and show each stage's value, then each "
                    "backward contribution: local gradient times upstream gradient. "
                    "Exit status 0 when all are finite, 1 when one is not (the first "
                    "such stage is named), 2 on bad input.")
    _point_options(command)
    return command


def _draw(commands) -> argparse.ArgumentParser:
    command = commands.add_parser(
        "draw", help="draw a formula's circuit as SVG, PNG or DOT",
        description="Draw a formula's circuit, one node per gate and one edge per use "
                    "of a value. With --at, each edge shows its value (green) and its "
                    "gradient (red) at that point.")
    _point_options(command)
    command.add_argument("-o", "--output", metavar="OUT",
                         help="where to write; .svg, .png or .dot (default: FILE with .svg)")
    return command


def _point_options(command) -> None:
    command.add_argument("--at", nargs="+", metavar="NAME=VALUE",
                         help="the point, such as --at x=3 y=-4; in a file that declares "
                              "shapes, its number inputs")
    _input_options(command)


def _input_options(command) -> None:
    """How a file that declares shapes gets its arrays and their sizes."""
    command.add_argument("--dims", nargs="+", metavar="NAME=SIZE",
                         help="sizes of the dimensions, such as --dims N=4 D=3 (default: "
                              "distinct small sizes from 2 up)")
    command.add_argument("--seed", type=int, default=None, metavar="S",
                         help="seed for the random inputs (default: 0)")
    command.add_argument("--at-file", metavar="FILE.npz",
                         help="the arrays (and numbers) of a point, from a NumPy .npz "
                              "file whose names are the inputs")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("expected a count of 0 or more")
    return value


def _tolerance(text: str) -> float:
    value = float(text)
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError("expected a finite tolerance of 0 or more")
    return value


def _second_order_options(command) -> None:
    command.add_argument("--jvp", action="store_true",
                         help="add jvp: the derivative along a direction, in one forward sweep")
    command.add_argument("--hvp", action="store_true",
                         help="add jvp, hvp (the Hessian times a direction, forward over "
                              "reverse) and, for number inputs, hessian")


def _second_order(args) -> tuple[str, ...]:
    """The functions of LANGUAGE.md §10 that --jvp and --hvp ask for."""
    if getattr(args, "hvp", False):
        return ("jvp", "hvp")
    return ("jvp",) if getattr(args, "jvp", False) else ()


def _run_compile(args) -> int:
    output = None if args.output == "-" else \
        output_path(args.output or Path(args.file).with_suffix(".py"), args.file)
    # `compiled_given` builds the formula once and lets the text and each IR
    # go as soon as the next step has read it, with the cyclic GC off
    # throughout; the module is written as it is rendered, never whole in
    # memory.
    pieces = compiled_given([read_source(args.file)], args.target, args.style,
                            _second_order(args), **vars(pass_options.passes(args)))
    if output is None:
        sys.stdout.writelines(pieces)
    else:
        write_atomically(output, pieces)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "compile":
            return _run_compile(args)
        formula = read(args.file, pass_options.passes(args), _second_order(args))
        return importlib.import_module(TOOLS[args.command]).run(formula, args)
    except GradcError as error:
        source = decoded_for_display(args.file) if error.span is not None else None
        print(format_error(error, args.file, source), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
