"""TemplateContext -> TemplateContext: gate code calls its module by the
name the module gives it.

The gate table writes `np.exp(x)` and `math.exp(x)`.  When a formula has a
value of that name (`np = n * p`), the module imports numpy under another
(`np_`, naming.internal_names), and every piece of code is respelled.  A
user's name is never followed by `.` in generated code (formulas have no
attributes, and a number's `.` follows a digit), so `np.` preceded by no
letter, digit, `_` or `.` is always the module.
"""

from __future__ import annotations

import re
from dataclasses import replace

from compiler.emit.fields import TemplateContext


def respeller(prefix: str, new: str):
    """A function that writes each call `prefix + name` in a text as
    `new + name`."""
    call = re.compile(rf"(?<![\w.]){re.escape(prefix)}")
    return lambda text: call.sub(new, text)


def respelled(ctx: TemplateContext, prefix: str, new: str) -> TemplateContext:
    """`ctx` with each call `prefix + name` written `new + name`."""
    if new == prefix:
        return ctx
    fix = respeller(prefix, new)

    def lines(texts):
        return tuple(map(fix, texts))

    def blocks(each):
        return tuple(b._replace(header=fix(b.header), lines=lines(b.lines)) for b in each)

    return replace(
        ctx, forward_lines=lines(ctx.forward_lines), grad_lines=lines(ctx.grad_lines),
        blocks=blocks(ctx.blocks), grad_blocks=blocks(ctx.grad_blocks),
        block_lines=lines(ctx.block_lines), grad_value=fix(ctx.grad_value),
        gradient_code=fix(ctx.gradient_code), scaled_gradients=fix(ctx.scaled_gradients),
        broadcast_size=fix(ctx.broadcast_size))
