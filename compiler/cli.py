"""argv -> exit status: the `gradc` command.

Exit status 0 on success, 1 when `gradc check` finds a disagreement or
`gradc explain` a value or gradient that is not finite, 2 on bad input.
Only `GradcError` is caught: any other exception is a bug in gradc and
should be seen as one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler import __version__
from compiler.checker import check_view
from compiler.tools import draw
from compiler.tools import explain
from compiler import pass_options
from compiler.driver import compile_source
from compiler.emit.context import STYLES
from compiler.errors import GradcError, format_error
from compiler.files import decoded_for_display, read_source, write_atomically
from compiler.emit.render import TARGET_NAMES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradc",
        description="Compile a formula to a Python module that computes its value "
                    "and its gradient, staged like hand-written backpropagation.")
    parser.add_argument("--version", action="version", version=f"gradc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    compile_ = commands.add_parser("compile", help="compile a formula file to a module",
                                   description="Compile a formula file to a Python module.")
    compile_.add_argument("file", help="the formula file (UTF-8)")
    compile_.add_argument("-o", "--output", metavar="OUT",
                          help="where to write the module (default: FILE with .py; "
                               "'-' for standard output)")
    compile_.add_argument("--target", choices=TARGET_NAMES, default=None,
                          help="what the module computes with (default: math, or "
                               "numpy for a file that declares shapes)")
    compile_.add_argument("--style", choices=STYLES, default="lecture",
                          help="lecture keeps unit factors such as (1) * dden; "
                               "compact drops them (default: lecture)")
    pass_options.add_options(compile_)
    compile_.set_defaults(run=_compile)
    check_view.add_command(commands)
    draw.add_command(commands)
    explain.add_command(commands)
    return parser


def _compile(args) -> int:
    text = read_source(args.file)
    module = compile_source(text, target=args.target, style=args.style, **pass_options.passes(args))
    if args.output == "-":
        sys.stdout.write(module)
        return 0
    output = Path(args.output) if args.output else Path(args.file).with_suffix(".py")
    if output.resolve() == Path(args.file).resolve():
        raise GradcError("the output would overwrite the formula file: name another "
                         "with -o")
    write_atomically(output, module)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except GradcError as error:
        path = getattr(args, "file", "gradc")
        source = decoded_for_display(path) if error.span else None
        print(format_error(error, path, source), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
