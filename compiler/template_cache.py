"""The templates' compiled code, kept between runs of gradc.

Jinja turns each template into Python code and compiles it the first time
a process renders it: about two-thirds of a small compile's own time, and
more than a bare Python start.  This cache keeps that code in the user's
cache folder (`$XDG_CACHE_HOME/gradc`, else `~/.cache/gradc`), in a folder
per gradc and Jinja version, so that a later run loads it instead.

A cache can only cost time, never change what gradc writes:

* each file holds a SHA-256 digest of the rest, and a file whose digest
  does not match (cut short, overwritten, corrupted) is ignored;
* code compiled from another version of the template's text, under other
  settings of the environment (`trim_blocks`, ...) or by another Python is
  stale, and rejected (a hash of the text and the settings is checked);
* a file is written to a temporary name and renamed into place, so no
  reader sees half of one;
* a folder that cannot be made or written (a read-only home, no home at
  all) leaves the cache unused: the template is compiled as before.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import jinja2

from compiler import __version__
from compiler.errors import GradcError
from compiler.files import write_bytes_atomically

_DIGEST = hashlib.sha256().digest_size

# The environment's settings that shape a template's compiled code, beside
# its text (those of jinja2.lexer.get_lexer, and escaping and optimizing).
_COMPILED_WITH = (
    "block_start_string", "block_end_string", "variable_start_string",
    "variable_end_string", "comment_start_string", "comment_end_string",
    "line_statement_prefix", "line_comment_prefix", "trim_blocks", "lstrip_blocks",
    "newline_sequence", "keep_trailing_newline", "autoescape", "optimized",
)


def folder() -> Path | None:
    """Where this gradc and Jinja keep their compiled templates (None: no
    home folder to keep them in)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        # The standard's rule: a relative path is ignored.
        root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    except RuntimeError:
        return None
    return root / "gradc" / f"{__version__}-jinja{jinja2.__version__}"


class TemplateCache(jinja2.BytecodeCache):
    def __init__(self, where: Path) -> None:
        self.where = where

    def get_bucket(self, environment, name, filename, source) -> jinja2.bccache.Bucket:
        # Jinja checks the text's hash alone: the settings join it, so that
        # code compiled under other settings is stale too.
        settings = [getattr(environment, option) for option in _COMPILED_WITH]
        return super().get_bucket(environment, name, filename,
                                  f"{settings!r} {sorted(environment.extensions)!r}\n{source}")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            data = (self.where / bucket.key).read_bytes()
        except OSError:
            return
        digest, payload = data[:_DIGEST], data[_DIGEST:]
        if hashlib.sha256(payload).digest() != digest:
            return
        try:
            bucket.bytecode_from_string(payload)
        except Exception:  # anything unreadable is compiled afresh
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        payload = bucket.bytecode_to_string()
        try:
            self.where.mkdir(parents=True, exist_ok=True)
            write_bytes_atomically(self.where / bucket.key,
                                   hashlib.sha256(payload).digest() + payload)
        except (OSError, GradcError):
            pass


def cache() -> TemplateCache | None:
    where = folder()
    return None if where is None else TemplateCache(where)
