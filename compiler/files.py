"""Reading formula files and writing modules, safely.

A formula file must be UTF-8; a byte that is not gets a located error, not
a traceback.  Modules are written to a temporary file beside the target and
renamed into place, so a failed or interrupted run never leaves a
half-written module, and an existing one stays untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from compiler.errors import GradcError, Span


def read_source(path: str | os.PathLike) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as failure:
        raise GradcError(f"cannot read the formula file: {failure.strerror or failure}") \
            from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as failure:
        raise _invalid_utf8(data, failure) from None
    return text.removeprefix("\ufeff")


def _invalid_utf8(data: bytes, failure: UnicodeDecodeError) -> GradcError:
    line_start = data.rfind(b"\n", 0, failure.start) + 1
    line = data.count(b"\n", 0, failure.start) + 1
    column = len(data[line_start:failure.start].decode("utf-8", errors="replace")) + 1
    byte = data[failure.start]
    return GradcError(f"invalid UTF-8 byte 0x{byte:02x}: save the file as UTF-8",
                      Span(line, column, line, column + 1))


def decoded_for_display(path: str | os.PathLike) -> str | None:
    """The file's text with bad bytes replaced, for showing an error's line."""
    try:
        return Path(path).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def output_path(path: str | os.PathLike, formula: str | os.PathLike) -> Path:
    """`path` when a file can be written there in place of the formula's
    output; otherwise a GradcError that says why, before anything is made."""
    target = Path(path)
    if target.resolve() == Path(formula).resolve():
        raise GradcError("the output would overwrite the formula file: name another "
                         "with -o")
    if target.is_dir():
        raise GradcError(f"cannot write '{target}': it is a folder; name a file in it "
                         f"with -o")
    folder = target.parent
    if not folder.is_dir():
        raise GradcError(f"cannot write '{target}': the folder '{folder}' does not exist")
    return target


def write_atomically(path: str | os.PathLike, pieces: Iterable[str]) -> None:
    """Text in UTF-8, written piece by piece as `pieces` makes it, each
    newline as it is."""
    _write_atomically(path, lambda stream: stream.writelines(pieces),
                      mode="w", encoding="utf-8", newline="")


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """The same safety for binary output, such as a PNG drawing."""
    _write_atomically(path, lambda stream: stream.write(data), mode="wb")


def _write_atomically(path: str | os.PathLike, write: Callable[[IO], object],
                      **opening) -> None:
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent or Path("."),
                                             prefix=f".{target.name}.", suffix=".tmp")
    except OSError as failure:
        raise GradcError(f"cannot write '{target}': {failure.strerror or failure}") \
            from None
    try:
        with os.fdopen(handle, **opening) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
