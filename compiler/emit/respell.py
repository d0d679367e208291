"""A gate snippet -> the same snippet calling its module by the name the
generated module gives it.

The gate table writes `np.exp({a})` and `math.exp({a})`.  When a formula
has a value of that name (`np = n * p`), the module imports numpy under
another (`np_`, naming.internal_names), and the printers spell each of the
table's snippets with it before they fill it.  This reads only the table's
text: a snippet's `np.` preceded by no letter, digit, `_` or `.` is always
the module.
"""

from __future__ import annotations

import re


def respeller(prefix: str, new: str, values: dict[str, str] | None = None):
    """A function that writes each call `prefix + name` in a snippet as
    `new + name`, and each of the target's own names that gate code reads
    as a value (`dtype`, not the keyword of `dtype=dtype`) as `values`
    spells it."""
    moved = {old: name for old, name in (values or {}).items() if old != name}
    if new == prefix and not moved:
        return lambda snippet: snippet
    call = re.compile(rf"(?<![\w.]){re.escape(prefix)}")
    word = re.compile(rf"(?<![\w.])({'|'.join(moved)})(?![\w=])") if moved else None

    def spelled(snippet: str) -> str:
        snippet = call.sub(new, snippet)
        return word.sub(lambda found: moved[found.group(1)], snippet) if word else snippet
    return spelled
