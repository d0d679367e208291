"""The templates' compiled code, kept between runs of gradc.

Jinja turns each template into Python code and compiles it the first time
a process renders it: about two-thirds of a small compile's own time, and
more than a bare Python start.  This cache keeps that code in the user's
cache folder (`$XDG_CACHE_HOME/gradc`, else `~/.cache/gradc`), in a folder
per gradc and Jinja version, so that a later run loads it instead.

A cache can only cost time, never change what gradc writes:

* each file holds a SHA-256 digest of the rest, and a file whose digest
  does not match (cut short, overwritten, corrupted) is ignored;
* Jinja rejects code compiled from another version of the template's text
  (it checks a hash of the source) or by another Python;
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


def folder() -> Path | None:
    """Where this gradc and Jinja keep their compiled templates (None: no
    home folder to keep them in)."""
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        root = Path(base) if base else Path.home() / ".cache"
    except RuntimeError:
        return None
    return root / "gradc" / f"{__version__}-jinja{jinja2.__version__}"


class TemplateCache(jinja2.BytecodeCache):
    def __init__(self, where: Path) -> None:
        self.where = where

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
