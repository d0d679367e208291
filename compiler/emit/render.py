"""TemplateContext -> module text, with Jinja.

One template per target, shipped in the wheel, its compiled code kept
between runs (compiler/template_cache.py).  The environment is strict
(an undefined variable is an error, not an empty string) and does no
autoescaping: the context holds only code gradc wrote itself.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator

import jinja2

from compiler import resources, template_cache
from compiler.gates import targets

TARGET_NAMES = tuple(targets.TARGETS)
"""What `--target` accepts; `templates/<name>.py.jinja` renders each."""


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.directory("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        # Compiling the templates is most of a small compile's own time.
        bytecode_cache=template_cache.cache(),
    )


def render(context, target: str = "math") -> str:
    return "".join(rendered(context, target))


def rendered(context, target: str = "math") -> Iterator[str]:
    """The module's text in the pieces the template makes, as it makes
    them, so that a big module is written out as it is rendered and is
    never whole in memory."""
    template = _environment().get_template(f"{target}.py.jinja")
    # One level only: Jinja reads nested dataclasses by attribute, and
    # `dataclasses.asdict` would deep-copy every line (a third of the
    # rendering time of a big module).
    fields = {field.name: getattr(context, field.name)
              for field in dataclasses.fields(context)}
    # The module's own names are variables of their own: `{{ np }}.exp`.
    assert fields.keys().isdisjoint(context.names)
    return template.generate(fields | context.names)
