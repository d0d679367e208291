"""TemplateContext: what emit gives the templates, field by field.

Every field is finished code or a plain value; the templates
(templates/<target>.py.jinja) only lay them out.  Data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class BackwardBlock(NamedTuple):
    """One stage's backward lines, under a `# backprop` header that repeats
    the stage's forward line."""

    header: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class TemplateContext:
    title: str
    imports: tuple[str, ...]
    names: dict[str, str]
    """The module's own names (naming.INTERNAL), each as this module spells
    it: `{"np": "np", "cache": "cache_", ...}`; the templates read them as
    variables of their own (`{{ np }}`)."""
    sys_import: str
    """What follows `import` for the standard library's sys: `sys`, or
    `sys as sys_`."""
    unicodedata_import: str
    """The same for unicodedata, which the script reads its names with."""
    inputs: tuple[str, ...]
    inputs_literal: str
    params: str
    output: str
    seed: str
    forward_lines: tuple[str, ...]
    seed_line: str
    """What grad sets before backward's lines: `df = 1.0`, or nothing when
    the lines do not read the seed (compact)."""
    grad_blocks: tuple[BackwardBlock, ...]
    """backward's blocks as grad runs them: without the factor of a seed of 1
    (`dnum = invden`, not `dnum = invden * df`) in the lecture style."""
    fused_grad: bool
    """Whether `grad` repeats the lines in one body (see FUSED_GRAD_LIMIT)."""
    cache_tuple: str
    unpack_line: str
    blocks: tuple[BackwardBlock, ...]
    zero_lines: tuple[str, ...]
    gradients: str
    scaled_gradients: str
    """What backward returns: `gradients`, each times the seed when the
    lines do not read it (compact)."""
    grad_lines: tuple[str, ...]
    """The forward lines `grad` runs: `forward_lines`, but for the output's
    when grad returns its code (`grad_value`)."""
    grad_value: str
    """What grad returns as the value: the output's name, or in the compact
    style its code, when the output is the last line and no line reads it."""
    gradient_code: str
    """What grad returns as the gradient: `gradients`, or in the compact style
    each gradient's code (`return f, (y, x)`) where the target takes code."""
    gradient_names: tuple[str, ...]
    gradient_inputs: str
    """What names the gradient's entries: `INPUTS`, or the `--wrt` inputs."""
    block_lines: tuple[str, ...]
    """forward's lines, then backward's as the compact style writes them (no
    unit factor, no seed, no copy) and the zero gradients: the value and the
    gradient of one block of points, each written into its array (blocks.py),
    for a `blocked` target's grad (empty for the others)."""
    # How a blocked target's grad holds its blocks: left out of the repr that
    # names a numba module's compiled code (`home`), which has no blocks.
    block_power: int = field(repr=False)
    """A blocked target's grad works on 2**block_power points at a time."""
    broadcast_size: str
    """A blocked target's code for the number of points the inputs broadcast
    to (empty for the others)."""
    block_scratch: str = field(repr=False)
    """The block's parameter holding its scratch arrays (scratch.py), or
    empty where its lines take none."""
    scratch_arrays: int = field(repr=False)
    """How many scratch arrays a block's lines take."""
    script_example: str
    wrt_params: str
    """The inputs whose gradients backward returns, as a tuple: `(x, y)`."""
    loop_inputs: tuple[str, ...]
    """The inputs some stage reads, in input order: what a loop over the
    points broadcasts (an input no stage reads cannot change its shape)."""
    loop_inputs_literal: str
    unread_inputs: str
    """The inputs no stage reads, as a tuple of their names in code
    (`('y',)`), or empty where the output reads every input."""
    loop_outputs: tuple[str, ...]
    """What a loop computes at each point: the output, then each gradient
    that is not zero."""
    loop_targets: str
    """`loop_outputs` as the targets of an assignment: `f, dx` or `f,`."""
    home: str = ""
    """A disk-caching target's module name for its compiled code (numba
    finds that code's module again by name): made from the rest of the
    context, so the same in every process and for every importer."""
    second_order: object = field(default=None, repr=False)
    """jvp, hvp and hessian (second_order.SecondOrder), or None: the module
    has none unless asked (§10).  Left out of the repr that names a numba
    module's compiled code, which is grad's alone."""
    bare_import: str = ""
    """`from math import exp`: the functions the lines call by their bare
    names (the compact style, printers.py), or nothing."""
    own_functions: tuple[str, ...] = ()
    """The functions the module writes itself that its lines call (the
    numba target's `_exp`, printers.NumbaPrinter), by their canonical names."""
    # What a file that declares shapes adds.  Left out of the repr, which
    # names a numba module's compiled code (`home`): numba takes numbers.
    shaped: bool = field(default=False, repr=False)
    """The file declares shapes: forward checks its inputs against them."""
    shapes_literal: str = field(default="", repr=False)
    """SHAPES: each array input's declared shape, dimensions as written."""
    output_shape: str = field(default="", repr=False)
    layer: bool = field(default=False, repr=False)
    """The output is an array: backward takes its upstream gradient."""
    bind_lines: tuple[str, ...] = field(default=(), repr=False)
    """forward's run-time checks of the inputs, and the sizes it reads."""
    labels: bool = field(default=False, repr=False)
    """Some input holds class labels, which forward checks (`_labels`)."""
    classes_literal: str = field(default="", repr=False)
    """Each labels input's class count as the file writes it, for the script
    that draws a point; empty without labels."""
    upstream_line: str = field(default="", repr=False)
    """A layer's backward check of its upstream gradient's shape."""
    written_inputs: str = field(default="", repr=False)
    """The inputs as the file writes them, where the module renamed one
    (a tuple's code), for the array-api checks' messages; else empty."""
    owned_grad_lines: tuple[str, ...] = field(default=(), repr=False)
    """grad's body for a number output: forward's lines and backward's,
    writing into arrays the call made and frees (in_place.py)."""
    terms: tuple = field(default=(), repr=False)
    """Each block's terms (emit/terms.py), for the tools that run them."""
    backward_terms: tuple = field(default=(), repr=False, compare=False)
    """Each block's terms, every block's, which forward over reverse
    differentiates (second_order.py)."""
